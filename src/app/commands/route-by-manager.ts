import { renderAlertNotice } from '../../slack/render/alert.ts';
import { type Pool, run, withTransaction } from '../../db/pool.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import { lockLead } from '../../db/sql/leads.ts';
import type { RoutingDecision } from '../../engine/routing.ts';
import { fireDealRules } from '../changes/deal.ts';
import { changeOwner } from '../changes/owner.ts';
import type { AppContext } from '../context.ts';
import { enqueueNotice, loadAlertViews, personOf } from '../processing/alerts.ts';
import { routeLeadTo } from '../processing/routing.ts';
import { lockLatestAlert } from '../../db/sql/alerts.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';

export type ManagerRouteResult =
  | { routed: true; dealId: number; ownerMemberId: string | null; pipelineName: string }
  | { routed: false; why: RoutingDecision['kind'] | 'not_found' };

/**
 * A manager's "Route to…": opens a deal in the pipeline (the pipeline's rotation picks the owner),
 * makes the new owner the owner of the lead's live alert (changeOwner), and DMs the new owner. The
 * lead is locked first, so routing takes locks in the same order as processing.
 *
 * @example
 * await routeLeadByManager(pool, ctx, { leadId: 42, pipelineId: 'b2b', slackUserId: 'U0LENA004', now })
 */
export async function routeLeadByManager(
  db: Pool,
  ctx: AppContext,
  input: { leadId: number; pipelineId: string; slackUserId: string; now: Date },
): Promise<ManagerRouteResult> {
  const { leadId, now } = input;
  const actor = `slack:${input.slackUserId}`;
  return withTransaction(db, async (tx): Promise<ManagerRouteResult> => {
    if ((await run(tx, lockLead(leadId))).length === 0) return { routed: false, why: 'not_found' };
    const result = await routeLeadTo(tx, ctx, leadId, input.pipelineId, `manager:${input.slackUserId}`, now);
    const detail = { pipelineId: input.pipelineId, dealId: result.dealId, decision: result.decision.kind };
    await run(tx, insertAudit({ actor, action: 'lead.routed', leadId, detail, now }));
    if (result.dealId === null) return { routed: false, why: result.decision.kind };
    const changed = await changeOwner(tx, ctx, {
      leadId,
      to: { kind: 'routed', dealId: result.dealId, assignment: result.assignment },
      deals: 'all',
      actor,
      cause: 'route',
      now,
    });
    await fireDealRules(tx, ctx, leadId, result.triggers, now);
    const pipelineName =
      ctx.ruleset.pipelines.find((p) => p.id === input.pipelineId)?.name ?? input.pipelineId;
    // The new owner hears of it even when the alert was claimed or closed already.
    const [alert] = await run(tx, lockLatestAlert(leadId, false));
    const owner = personOf(ctx.ruleset, changed.ownerMemberId);
    const view =
      alert === undefined ? undefined : (await loadAlertViews(tx, ctx.ruleset, [alert.id], now)).get(alert.id)?.view;
    if (owner?.slackUserId && view !== undefined) {
      const message = renderAlertNotice(view, 'routed', { pipelineName, bySlackUser: input.slackUserId });
      await enqueueNotice(tx, { key: `route:${result.dealId}`, leadId, channel: owner.slackUserId, message }, now);
    }
    await kickSlackDelivery(ctx.queue, { db: tx });
    return { routed: true, dealId: result.dealId, ownerMemberId: changed.ownerMemberId, pipelineName };
  });
}
