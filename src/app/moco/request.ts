import { inTransaction } from '../../db/job-queue.ts';
import { type Queryable, run, withTransaction } from '../../db/pool.ts';
import { retryMocoSyncRow } from '../../db/sql/moco-sync.ts';
import { selectDealLead } from '../../db/sql/deals.ts';
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
  request: { sourceKey: string; entity: 'deal' | 'contact' | 'invoice'; leadId: number; dealId: number | null; now: Date },
): Promise<{ id: number; state: string } | null> {
  const [row] = await run(tx, insertMocoSyncRequest(request));
  if (row === undefined) return null;
  await sendSyncJob(tx, ctx, row.id);
  return row;
}

/**
 * An admin's Retry on a failed sync: pending again and queued, once however often it is clicked
 * (only a failed request matches). Returns false when the request is not failed (any more).
 *
 * @example
 * await retryMocoSync(ctx, 12) // true
 */
export async function retryMocoSync(ctx: AppContext, requestId: number): Promise<boolean> {
  return withTransaction(ctx.pool, async (tx) => {
    const [row] = await run(tx, retryMocoSyncRow(requestId, ctx.now()));
    if (row === undefined) return false;
    await sendSyncJob(tx, ctx, row.id);
    return true;
  });
}

async function sendSyncJob(tx: Queryable, ctx: AppContext, requestId: number): Promise<void> {
  // Retries and their backoff come from the queue's definition (jobs/moco-sync.ts).
  await ctx.queue.send(MOCO_SYNC_QUEUE, { requestId }, { db: inTransaction(tx) });
}

/**
 * "Create invoice" on a synced won deal: one invoice request per deal, however often it is clicked
 * (the sync refuses a deal that is not won). Returns false when there is no such deal.
 *
 * @example
 * await requestInvoice(ctx, 7) // true
 */
export async function requestInvoice(ctx: AppContext, dealId: number): Promise<boolean> {
  return withTransaction(ctx.pool, async (tx) => {
    const [deal] = await run(tx, selectDealLead(dealId));
    if (deal === undefined) return false;
    await requestMocoSync(tx, ctx, { sourceKey: `invoice:${dealId}`, entity: 'invoice', leadId: deal.lead_id, dealId, now: ctx.now() });
    return true;
  });
}
