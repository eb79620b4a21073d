import { z } from 'zod';
import { SLA_QUEUE } from '../app/queues.ts';
import { runSlaSweep } from '../app/scheduled/sla.ts';
import { defineJob } from './job.ts';

/** The `sla-sweep` job: one sweep per scheduled minute (node-cron + job_slots enqueue it). */
export const slaSweepJob = defineJob({
  name: SLA_QUEUE,
  payload: z.object({ slot: z.string().min(1).optional() }),
  queue: { retryLimit: 2, retryDelay: 30, expireInSeconds: 600 },
  work: { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 5 },
  handler: async (jobs, ctx) => {
    const started = performance.now();
    const summary = await runSlaSweep(ctx);
    if (summary.alerts > 0) {
      ctx.log.info(
        { ...summary, slot: jobs[0]?.data.slot, ms: Math.round(performance.now() - started) },
        'sla sweep',
      );
    }
  },
});
