import type { ReassignOutcome } from '../../slack/render/alert.ts';
import { type PoolClient, run } from '../../db/pool.ts';
import { type AlertRow, lockLatestAlert, selectOpenDeals, updateAlert } from '../../db/sql/alerts.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import { selectDealOwner } from '../../db/sql/conflicts.ts';
import { lockLead } from '../../db/sql/leads.ts';
import type { AssignmentResult } from '../../engine/assignment-model.ts';
import { LeadlineError } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import { current, refreshAlertMessage } from '../processing/alerts.ts';
import { assignDeal, ownerOf } from '../processing/assignment.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';

/**
 * Who picks the new owner:
 * - `member`: a person or a rule names them (claim, `/lead assign`, the Reassign modal, a rule's
 *   `assign_owner` with a member);
 * - `rotation`: the pipeline's strategy over its ledger (the SLA chain's reassignment, a rule's
 *   `assign_owner` without a member);
 * - `routed`: routing has just opened (or kept) a deal and its pipeline assigned it (a manager's
 *   "Route to…", a conflict decision, a rule's `route_to_pipeline`); only the alert follows.
 */
export type OwnerTarget =
  | { kind: 'member'; memberId: string }
  | { kind: 'rotation' }
  | { kind: 'routed'; dealId: number; assignment: AssignmentResult | null };

/**
 * Which of the lead's open deals change hands: all of them, the first (the live alert owner's
 * deal, else the newest), or the ones named. Ignored for a `routed` target.
 */
export type OwnerDeals = 'all' | 'first' | readonly number[];

/** Why the owner changed; a claim closes the alert itself, the others say "Reassigned to …" on it. */
export type OwnerChangeCause = 'claim' | 'assign' | 'automation' | 'sla' | 'route' | 'conflict';

export interface OwnerChange {
  leadId: number;
  to: OwnerTarget;
  deals: OwnerDeals;
  /** Who decided, as the audit log names them: `slack:U…`, `manager:U…`, `leadline:sla`, `rule:<id>`. */
  actor: string;
  cause: OwnerChangeCause;
  now: Date;
}

export interface OwnerChanged {
  /** Each deal that was given, with its owner before and the assignment that gave it (null: named). */
  deals: { dealId: number; from: string | null; owner: string | null; assignment: AssignmentResult | null }[];
  /** Who owns the lead now (null: a queue or nobody). */
  ownerMemberId: string | null;
  /** The live alert as it is now, with its new owner; null when the lead has none. */
  alert: AlertRow | null;
  /** What the change did to the live alert's owner: a new one, the same one, nobody, or no deal to give. */
  outcome: ReassignOutcome;
}

/**
 * The one way a lead's owner changes. In the caller's transaction: locks the lead (first, like
 * processing does), gives the chosen open deals their owner (assignDeal: named, or the rotation
 * over the locked ledger), makes the new owner the owner of the lead's live alert — so the SLA chain
 * reminds them, not the one before — records the reassignment the alert message shows, re-renders
 * that message under its outbox key and wakes the delivery worker. Notices to people (a DM to the
 * new owner) stay with the caller: each cause words them differently.
 *
 * @example
 * const changed = await changeOwner(tx, ctx, {
 *   leadId: 42, to: { kind: 'member', memberId: 'ben' }, deals: 'all',
 *   actor: 'slack:U0LENA004', cause: 'assign', now,
 * }); // { ownerMemberId: 'ben', outcome: 'moved', alert: { id: 7, owner_member_id: 'ben', … }, deals: [ … ] }
 */
export async function changeOwner(tx: PoolClient, ctx: AppContext, change: OwnerChange): Promise<OwnerChanged> {
  const { leadId, now } = change;
  if ((await run(tx, lockLead(leadId))).length === 0) {
    throw new LeadlineError('not_found', `lead ${leadId} not found`, { status: 404 });
  }
  const [alert] = await run(tx, lockLatestAlert(leadId, true));
  const deals = await giveDeals(tx, ctx, change, alert?.owner_member_id ?? null);
  const ownerMemberId =
    change.to.kind === 'member' ? change.to.memberId : (deals.find((d) => d.owner !== null)?.owner ?? null);
  if (alert === undefined) return { deals, ownerMemberId, alert: null, outcome: outcomeOf(deals, ownerMemberId, null) };

  const from = alert.owner_member_id;
  const outcome = outcomeOf(deals, ownerMemberId, from);
  // A rotation that found nobody, or had no deal to give, leaves the alert with its owner.
  const owner = outcome === 'moved' || outcome === 'kept' ? ownerMemberId : from;
  await run(tx, updateAlert(alert.id, { ...current(alert), ownerMemberId: owner }, now));
  if (change.cause !== 'claim') {
    const detail = {
      alertId: alert.id,
      fromMemberId: from,
      outcome,
      toMemberId: ownerMemberId,
      dealId: deals[0]?.dealId ?? null,
      cause: change.cause,
    };
    await run(tx, insertAudit({ actor: change.actor, action: 'alert.reassigned', leadId, detail, now }));
  }
  await refreshAlertMessage(tx, ctx, alert.id, now);
  await kickSlackDelivery(ctx.queue, { db: tx });
  return { deals, ownerMemberId, alert: { ...alert, owner_member_id: owner }, outcome };
}

/** Gives the chosen deals their owner; a named owner who already owns a deal keeps it untouched. */
async function giveDeals(
  tx: PoolClient,
  ctx: AppContext,
  change: OwnerChange,
  alertOwner: string | null,
): Promise<OwnerChanged['deals']> {
  const { to, now } = change;
  if (to.kind === 'routed') {
    const owner =
      to.assignment === null
        ? ((await run(tx, selectDealOwner(to.dealId)))[0]?.owner_member_id ?? null)
        : ownerOf(to.assignment);
    return [{ dealId: to.dealId, from: null, owner, assignment: to.assignment }];
  }
  const named = to.kind === 'member' ? to.memberId : null;
  const open = await run(tx, selectOpenDeals(change.leadId, named ?? alertOwner));
  const chosen =
    change.deals === 'all'
      ? open
      : change.deals === 'first'
        ? open.slice(0, 1)
        : open.filter((deal) => (change.deals as readonly number[]).includes(deal.id));
  const given: OwnerChanged['deals'] = [];
  for (const deal of chosen) {
    if (named !== null && deal.owner_member_id === named) continue;
    const assignment = await assignDeal(tx, ctx, deal.id, named, now);
    const owner = named ?? (assignment === null ? null : ownerOf(assignment));
    given.push({ dealId: deal.id, from: deal.owner_member_id, owner, assignment });
  }
  return given;
}

function outcomeOf(
  deals: OwnerChanged['deals'],
  ownerMemberId: string | null,
  from: string | null,
): ReassignOutcome {
  if (ownerMemberId === null) return deals.length === 0 ? 'no_deal' : 'nobody';
  return ownerMemberId === from ? 'kept' : 'moved';
}
