import { inTransaction } from '../../db/job-queue.ts';
import { type Queryable, run } from '../../db/pool.ts';
import { insertMocoSyncRequest } from '../../db/sql/automation.ts';
import type { AppContext } from '../context.ts';
import { MOCO_SYNC_QUEUE } from '../queues.ts';

/**
 * Asks for a MOCO sync in the caller's transaction: a `moco_sync_requests` row under `sourceKey`
 * (the same key again asks nothing new) and its job, committed with the change that caused it.
 *
 * @example
 * await requestMocoSync(tx, ctx, { sourceKey: 'won:7:1763640000000', entity: 'deal', leadId: 42, dealId: 7, now })
 * // { id: 12, state: 'pending' }
 */
export async function requestMocoSync(
  tx: Queryable,
  ctx: AppContext,
  request: { sourceKey: string; entity: 'deal' | 'contact'; leadId: number; dealId: number | null; now: Date },
): Promise<{ id: number; state: string } | null> {
  const [row] = await run(tx, insertMocoSyncRequest(request));
  if (row === undefined) return null;
  // MOCO answers within seconds or is down; retries back off up to ten minutes.
  await ctx.queue.send(
    MOCO_SYNC_QUEUE,
    { requestId: row.id },
    { db: inTransaction(tx), retryLimit: 8, retryDelay: 30, retryBackoff: true },
  );
  return row;
}
