import { z } from 'zod';
import { type MocoConnection, syncToMoco } from '../app/moco/sync.ts';
import { MOCO_SYNC_QUEUE } from '../app/queues.ts';
import { defineJob, type JobDefinition } from './job.ts';

/**
 * The moco-sync job: one request per job. Without a MOCO connection the job still runs, so each
 * request fails with what to configure instead of waiting unseen.
 *
 * @example
 * const job = createMocoSyncJob({ client: createMocoClient({ … }), webUrl: 'https://acme.mocoapp.com' });
 */
export function createMocoSyncJob(connection: MocoConnection | null): JobDefinition<{ requestId: number }> {
  return defineJob({
    name: MOCO_SYNC_QUEUE,
    payload: z.object({ requestId: z.number().int().positive() }),
    queue: { retryLimit: 8, retryDelay: 30, retryBackoff: true, retryDelayMax: 600, expireInSeconds: 900 },
    // The shared rate budget paces the calls; two at a time keeps a backlog of wins moving.
    work: { batchSize: 1, localConcurrency: 2, pollingIntervalSeconds: 5 },
    handler: async (jobs, ctx) => {
      for (const job of jobs) {
        const outcome = await syncToMoco(ctx, connection, job.data.requestId);
        ctx.log.info({ requestId: job.data.requestId, status: outcome.status }, 'MOCO sync finished');
      }
    },
  });
}
