import { DECAY_QUEUE } from '../app/queues.ts';
import { DECAY_CHUNK_SIZE, runDecay } from '../app/scheduled/decay.ts';
import { defineScheduledJob } from './job.ts';

/** The `decay-scores` job: expires points and recomputes grades, on `LEADLINE_DECAY_CRON`. */
export const decayJob = defineScheduledJob({
  name: DECAY_QUEUE,
  queue: { retryLimit: 3, retryDelay: 60, expireInSeconds: 3_600 },
  run: (ctx, slot) => runDecay(ctx, DECAY_CHUNK_SIZE, slot),
  logAs: 'decay run',
});
