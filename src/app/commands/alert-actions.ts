import { snoozeEnds, type SnoozeOption } from '../../engine/snooze.ts';
import { type Pool, type Queryable, run, withTransaction } from '../../db/pool.ts';
import {
  claimLeadRow,
  disqualifyLeadRow,
  lockLatestAlert,
  selectLeadClaim,
  updateAlert,
} from '../../db/sql/alerts.ts';
import { memberBySlackUser } from '../../engine/team.ts';
import { LeadlineError } from '../../errors.ts';
import { current, refreshAlertMessage } from '../processing/alerts.ts';
import type { AppContext } from '../context.ts';
import { changeOwner } from '../changes/owner.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import { lockLead } from '../../db/sql/leads.ts';

/**
 * What people do with a hot-lead alert: claim the lead, snooze the alert, or mark the lead "not a
 * fit". Like every alert write (alerts.ts), each action locks the lead row first (then its alert,
 * then deals), like event processing does, and re-renders the alert message under its outbox key
 * in the same transaction, so the message never disagrees with the database.
 */


export type ClaimResult =
  | { won: true; alertId: number | null }
  | { won: false; claimedBy: string; claimedAt: Date }
  | { won: false; claimedBy: null; disqualifiedBy: string | null; disqualifiedAt: Date };

/**
 * Claims a lead exactly once, however many people click at the same moment. The winner's claim
 * closes the live alert (`claimed`), makes the claimer the owner of the lead's open deals when they
 * are an active team member (a manual assignment, recorded with its reason; the rotation ledger is
 * left alone), writes the audit log and updates the alert message. A loser learns who won.
 *
 * @example
 * const result = await claimLead(pool, ctx, { leadId: 42, slackUserId: 'U0ANNA001', now });
 * if (!result.won && result.claimedBy !== null) say(`Already claimed by <@${result.claimedBy}>`);
 */
export async function claimLead(
  db: Pool,
  ctx: AppContext,
  input: { leadId: number; slackUserId: string; now: Date },
): Promise<ClaimResult> {
  const { leadId, slackUserId, now } = input;
  const member = memberBySlackUser(ctx.ruleset, slackUserId);
  const memberId = member?.active ? member.id : null;
  return withTransaction(db, async (tx): Promise<ClaimResult> => {
    const won = await run(tx, claimLeadRow(leadId, slackUserId, memberId, now));
    if (won.length === 0) {
      const [lead] = await run(tx, selectLeadClaim(leadId));
      if (lead === undefined)
        throw new LeadlineError('not_found', `lead ${leadId} not found`, { status: 404 });
      if (lead.claimed_by_slack_user !== null && lead.claimed_at !== null) {
        return { won: false, claimedBy: lead.claimed_by_slack_user, claimedAt: lead.claimed_at };
      }
      return {
        won: false,
        claimedBy: null,
        disqualifiedBy: lead.disqualified_by,
        disqualifiedAt: lead.disqualified_at ?? now,
      };
    }
    // The claimer owns the lead from now on: its open deals, and the alert the claim closes.
    const changed =
      memberId === null
        ? null
        : await changeOwner(tx, ctx, {
            leadId,
            to: { kind: 'member', memberId },
            deals: 'all',
            actor: `slack:${slackUserId}`,
            cause: 'claim',
            now,
          });
    const moved = changed?.deals.map((deal) => deal.dealId) ?? [];
    const [alert] = await run(tx, lockLatestAlert(leadId, true));
    if (alert !== undefined) {
      const closed = {
        ...current(alert),
        state: 'claimed' as const,
        slaNextAt: null,
        snoozedUntil: null,
        claimedBy: slackUserId,
        claimedAt: now,
      };
      await run(tx, updateAlert(alert.id, closed, now));
    }
    await audit(
      tx,
      slackUserId,
      'lead.claimed',
      leadId,
      { alertId: alert?.id ?? null, memberId, deals: moved },
      now,
    );
    if (alert !== undefined) {
      await refreshAlertMessage(tx, ctx, alert.id, now);
      await kickSlackDelivery(ctx.queue, { db: tx });
    }
    return { won: true, alertId: alert?.id ?? null };
  });
}

/**
 * Snoozes the lead's live alert: no SLA step until it ends, then the sweep reopens it and tells the
 * owner. Returns null when the lead has no live alert (claimed, not a fit, or none).
 *
 * @example
 * await snoozeAlert(pool, ctx, { leadId: 42, slackUserId: 'U0ANNA001', option: '4h', now }) // { alertId: 7, until }
 */
export async function snoozeAlert(
  db: Pool,
  ctx: AppContext,
  input: { leadId: number; slackUserId: string; option: SnoozeOption; now: Date },
): Promise<{ alertId: number; until: Date } | null> {
  const { leadId, now } = input;
  const until = snoozeEnds(input.option, now);
  return withTransaction(db, async (tx) => {
    if ((await run(tx, lockLead(leadId))).length === 0) return null;
    const [alert] = await run(tx, lockLatestAlert(leadId, true));
    if (alert === undefined) return null;
    // The same snooze again (a retried request) changes nothing.
    if (alert.state === 'snoozed' && alert.snoozed_until?.getTime() === until.getTime()) {
      return { alertId: alert.id, until };
    }
    const next = { ...current(alert), state: 'snoozed' as const, snoozedUntil: until, slaNextAt: until };
    await run(tx, updateAlert(alert.id, next, now));
    await audit(
      tx,
      input.slackUserId,
      'alert.snoozed',
      leadId,
      { alertId: alert.id, option: input.option, until },
      now,
    );
    await refreshAlertMessage(tx, ctx, alert.id, now);
    await kickSlackDelivery(ctx.queue, { db: tx });
    return { alertId: alert.id, until };
  });
}

/**
 * Marks a lead "not a fit" with a reason (once: a second decision keeps the first), closes its
 * alert as `disqualified` and updates the alert message. Returns false when already decided.
 *
 * @example
 * await disqualifyLead(pool, ctx, { leadId: 42, slackUserId: 'U0ANNA001', reason: 'Student project', now })
 */
export async function disqualifyLead(
  db: Pool,
  ctx: AppContext,
  input: { leadId: number; slackUserId: string; reason: string; now: Date },
): Promise<boolean> {
  const { leadId, now } = input;
  return withTransaction(db, async (tx) => {
    if ((await run(tx, lockLead(leadId))).length === 0) {
      throw new LeadlineError('not_found', `lead ${leadId} not found`, { status: 404 });
    }
    if ((await run(tx, disqualifyLeadRow(leadId, input.slackUserId, input.reason, now))).length === 0)
      return false;
    const [alert] = await run(tx, lockLatestAlert(leadId, false));
    const closes = alert !== undefined && ['open', 'snoozed', 'claimed'].includes(alert.state);
    if (closes) {
      const next = { ...current(alert), state: 'disqualified' as const, slaNextAt: null, snoozedUntil: null };
      await run(tx, updateAlert(alert.id, next, now));
    }
    await audit(
      tx,
      input.slackUserId,
      'lead.disqualified',
      leadId,
      { alertId: alert?.id ?? null, reason: input.reason },
      now,
    );
    if (closes) {
      await refreshAlertMessage(tx, ctx, alert.id, now);
      await kickSlackDelivery(ctx.queue, { db: tx });
    }
    return true;
  });
}

async function audit(
  tx: Queryable,
  slackUserId: string,
  action: string,
  leadId: number,
  detail: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await run(tx, insertAudit({ actor: `slack:${slackUserId}`, action, leadId, detail, now }));
}
