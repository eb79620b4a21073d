import { UPKEEP_QUEUE } from '../app/queues.ts';
import { runUpkeep, type UpkeepOptions } from '../app/scheduled/upkeep.ts';
import { defineScheduledJob } from './job.ts';

/**
 * The hourly `upkeep` job: stalled deals, stale leads, ghost risk, integrity, time in stage, and the
 * purge of decisions past `auditDays` (`LEADLINE_AUDIT_DAYS`, default 400).
 */
export function createUpkeepJob(options: Pick<UpkeepOptions, 'auditDays'> = {}) {
  return defineScheduledJob({
    name: UPKEEP_QUEUE,
    queue: { retryLimit: 3, retryDelay: 60, expireInSeconds: 3_600 },
    run: (ctx) => runUpkeep(ctx, options),
    logAs: 'upkeep run',
  });
}

/** The upkeep job with the default retention. */
export const upkeepJob = createUpkeepJob();
