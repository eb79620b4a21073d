import { z } from 'zod';
import { UPKEEP_QUEUE } from '../app/queues.ts';
import { runUpkeep } from '../app/scheduled/upkeep.ts';
import { defineJob } from './job.ts';

export const upkeepJob = defineJob({
  name: UPKEEP_QUEUE,
  payload: z.object({ slot: z.string().min(1).optional() }),
  queue: { retryLimit: 3, retryDelay: 60, expireInSeconds: 3_600 },
  work: { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 5 },
  handler: async (jobs, ctx) => {
    const started = performance.now();
    const summary = await runUpkeep(ctx);
    ctx.log.info(
      { ...summary, slot: jobs[0]?.data.slot, ms: Math.round(performance.now() - started) },
      'upkeep run',
    );
  },
});
