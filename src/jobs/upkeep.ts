import { UPKEEP_QUEUE } from '../app/queues.ts';
import { runUpkeep } from '../app/scheduled/upkeep.ts';
import { defineScheduledJob } from './job.ts';

/** The hourly `upkeep` job: stalled deals, stale leads, ghost risk, integrity, time in stage. */
export const upkeepJob = defineScheduledJob({
  name: UPKEEP_QUEUE,
  queue: { retryLimit: 3, retryDelay: 60, expireInSeconds: 3_600 },
  run: (ctx) => runUpkeep(ctx),
  logAs: 'upkeep run',
});
