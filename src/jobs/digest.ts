import { z } from 'zod';
import { DIGEST_QUEUE } from '../app/queues.ts';
import { digestWindow, runDigest } from '../app/scheduled/digest.ts';
import { defineJob } from './job.ts';

const DAY_MS = 86_400_000;

/**
 * The `daily-digest` job: one digest per scheduled slot (`enqueueSlot(pool, queue, DIGEST_QUEUE, slot)`);
 * a job without a slot covers the last 24 hours.
 */
export const digestJob = defineJob({
  name: DIGEST_QUEUE,
  payload: z.object({
    slot: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/)
      .optional(),
  }),
  queue: { retryLimit: 3, retryDelay: 60, retryBackoff: true, expireInSeconds: 600 },
  work: { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 30 },
  handler: async (jobs, ctx) => {
    for (const job of jobs) {
      const window =
        job.data.slot === undefined
          ? { from: new Date(ctx.now().getTime() - DAY_MS), to: ctx.now() }
          : await digestWindow(ctx.pool, job.data.slot);
      await runDigest(ctx, window);
    }
  },
});
