import { z } from 'zod';
import { DECAY_QUEUE } from '../app/queues.ts';
import { DECAY_CHUNK_SIZE, runDecay } from '../app/scheduled/decay.ts';
import { defineJob } from './job.ts';

export const decayJob = defineJob({
  name: DECAY_QUEUE,
  payload: z.object({ slot: z.string().min(1).optional() }),
  queue: { retryLimit: 3, retryDelay: 60, expireInSeconds: 3_600 },
  work: { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 5 },
  handler: async (jobs, ctx) => {
    const started = performance.now();
    const summary = await runDecay(ctx, DECAY_CHUNK_SIZE, jobs[0]?.data.slot);
    ctx.log.info(
      { ...summary, slot: jobs[0]?.data.slot, ms: Math.round(performance.now() - started) },
      'decay run',
    );
  },
});
