import {
  type AlertView,
  type ReassignOutcome,
  renderAlert,
  type SlackMessage,
  type SnoozeOption,
} from '../bot/blocks/alert.ts';
import { type LeadDetails, leadDisplayName, type SlackPerson } from '../bot/blocks/lead-details.ts';
import { type Pool, type PoolClient, type Queryable, run, withTransaction } from '../db/pool.ts';
import {
  type AlertAuditRow,
  type AlertCandidateRow,
  type AlertInsert,
  type AlertRow,
  type AlertViewRow,
  claimLeadRow,
  type DetailsDealRow,
  type DetailsEventRow,
  type DetailsLeadRow,
  disqualifyLeadRow,
  insertAlerts,
  insertAudit,
  type LeadClaimRow,
  lockLatestAlert,
  lockLead,
  type OpenDealRow,
  selectAlertAudit,
  selectAlertCandidates,
  selectAlertViews,
  selectDetailsDeals,
  selectDetailsLead,
  selectLeadClaim,
  selectOpenDeals,
  selectRecentEvents,
  updateAlert,
} from '../db/sql/alerts.ts';
import { explainLead, type LeadChange } from '../engine/lead-processor.ts';
import type { Ruleset } from '../engine/ruleset.ts';
import { memberById, memberBySlackUser } from '../engine/team.ts';
import { LeadlineError } from '../errors.ts';
import type { JobContext } from './job.ts';
import { loadLeadStates } from './lead-store.ts';
import { assignDeal } from './routing-step.ts';
import { kickSlackDelivery } from './slack-delivery.ts';
import { enqueueSlack } from './slack-outbox.ts';

/**
 * Hot-lead alerts and what people do with them. Every write locks the lead row first (then its
 * alert, then deals), like event processing does, and re-renders the alert message under its
 * outbox key in the same transaction, so the message never disagrees with the database.
 */

export interface AlertInput {
  leadId: number;
  changes: readonly LeadChange[];
  eventId: string | null;
}

const SNOOZE_MS: Record<SnoozeOption, number> = { '1h': 3_600_000, '4h': 4 * 3_600_000, '1d': 86_400_000 };
const MINUTE_MS = 60_000;

/**
 * Opens an alert for each lead whose changes crossed `slack.hot_threshold` upward or brought a
 * CRITICAL signal, unless the lead already has a live (open or snoozed) alert, is claimed, or is
 * "not a fit". Runs inside the processing transaction, after scoring and routing wrote their rows
 * (the owner and the live signals are read back). Returns the new alert ids.
 *
 * @example
 * const alertIds = await createAlerts(tx, ctx, [{ leadId: 42, changes: outcome.changes, eventId }], now);
 */
export async function createAlerts(
  tx: PoolClient,
  ctx: JobContext,
  inputs: readonly AlertInput[],
  now: Date,
): Promise<number[]> {
  const hot = ctx.ruleset.slack.hot_threshold;
  const reasons = new Map<number, 'hot' | 'critical_signal'>();
  for (const { leadId, changes } of inputs) {
    if (changes.some((c) => c.kind === 'critical_signal')) reasons.set(leadId, 'critical_signal');
    else if (
      !reasons.has(leadId) &&
      changes.some((c) => c.kind === 'threshold_crossed' && c.threshold === hot && c.direction === 'up')
    )
      reasons.set(leadId, 'hot');
  }
  if (reasons.size === 0) return [];
  const candidates = await run<AlertCandidateRow>(tx, selectAlertCandidates([...reasons.keys()], now));
  const { sla } = ctx.ruleset;
  const rows: AlertInsert[] = candidates
    .filter((lead) => !lead.disqualified && !lead.claimed && !lead.live_alert)
    .map((lead) => {
      const reason = reasons.get(lead.id) ?? 'hot';
      const priority = reason === 'critical_signal' ? 'CRITICAL' : (lead.top_tier ?? 'HIGH');
      const claimMs = sla.claim_minutes[priority] * MINUTE_MS;
      return {
        lead_id: lead.id,
        reason,
        priority,
        owner_member_id: lead.owner_member_id,
        channel: ctx.ruleset.slack.hot_leads_channel,
        sla_due_at: new Date(now.getTime() + claimMs).toISOString(),
        sla_next_at: new Date(now.getTime() + claimMs * sla.remind_at).toISOString(),
        ruleset_version: ctx.ruleset.version,
      };
    });
  if (rows.length === 0) return [];
  const inserted = await run<{ id: number; lead_id: number }>(tx, insertAlerts(rows, now));
  if (inserted.length === 0) return [];
  const ids = inserted.map((row) => row.id);
  await refreshAlertMessages(tx, ctx, ids, now);
  await kickSlackDelivery(ctx.boss, { db: tx });
  ctx.log.info({ alerts: inserted, events: inputs.map((i) => i.eventId) }, 'hot-lead alerts created');
  return ids;
}

/**
 * Re-renders an alert from the database and enqueues it under its outbox key: before delivery it
 * replaces the pending post, afterwards it becomes a `chat.update` of the posted message, and
 * identical content sends nothing. Call it after every change to an alert (the caller kicks).
 *
 * @example
 * await refreshAlertMessage(tx, ctx, alertId, now);
 * await kickSlackDelivery(ctx.boss, { db: tx });
 */
export async function refreshAlertMessage(tx: Queryable, ctx: JobContext, alertId: number, now: Date) {
  await refreshAlertMessages(tx, ctx, [alertId], now);
}

async function refreshAlertMessages(tx: Queryable, ctx: JobContext, alertIds: readonly number[], now: Date) {
  for (const { row, view } of (await loadAlertViews(tx, ctx.ruleset, alertIds, now)).values()) {
    await enqueueSlack(
      tx,
      {
        key: row.outbox_key,
        kind: 'alert',
        leadId: row.lead_id,
        method: 'chat.postMessage',
        channel: row.channel,
        payload: { ...renderAlert(view) },
      },
      now,
    );
  }
}

/**
 * Alerts as their messages show them, by alert id: lead, score reasons, live signals, owner, state
 * and SLA progress (from the audit log).
 *
 * @example
 * const views = await loadAlertViews(tx, ruleset, [7], now); views.get(7)?.view.state // { kind: 'open' }
 */
export async function loadAlertViews(
  db: Queryable,
  ruleset: Ruleset,
  alertIds: readonly number[],
  now: Date,
): Promise<Map<number, { row: AlertViewRow; view: AlertView }>> {
  const out = new Map<number, { row: AlertViewRow; view: AlertView }>();
  if (alertIds.length === 0) return out;
  const rows = await run<AlertViewRow>(db, selectAlertViews(alertIds));
  const leadIds = [...new Set(rows.map((row) => row.lead_id))];
  const states = await loadLeadStates(db, leadIds, now, { lock: false, dayKeys: [] });
  const audit = await run<AlertAuditRow>(db, selectAlertAudit(leadIds, alertIds));
  for (const row of rows) {
    const state = states.get(row.lead_id);
    const why = state === undefined ? null : explainLead(state, ruleset, now);
    const mine = audit.filter((a) => a.alert_id === row.id);
    const reassigned = mine.find((a) => a.action === 'alert.reassigned')?.detail;
    out.set(row.id, {
      row,
      view: {
        alertId: row.id,
        leadId: row.lead_id,
        reason: row.reason,
        priority: row.priority,
        lead: {
          name: leadDisplayName({
            id: row.lead_id,
            fullName: row.full_name,
            firstName: row.first_name,
            lastName: row.last_name,
            email: row.email,
          }),
          company: row.company,
          title: row.title,
        },
        score: row.score,
        grade: row.grade,
        intent: { primary: row.primary_intent, confidence: row.intent_confidence },
        breakdown: why?.breakdown ?? [],
        signals: why?.signals ?? [],
        owner: personOf(ruleset, row.owner_member_id),
        slaDueAt: row.sla_due_at,
        timezone: ruleset.timezone,
        state: stateOf(row),
        progress: {
          reminded: mine.some((a) => a.action === 'sla.reminded'),
          escalated: mine.some((a) => a.action === 'sla.escalated'),
          reassigned:
            reassigned === undefined
              ? null
              : {
                  outcome: reassigned['outcome'] as ReassignOutcome,
                  to: personOf(ruleset, (reassigned['toMemberId'] as string | null | undefined) ?? null),
                },
        },
      },
    });
  }
  return out;
}

function stateOf(row: AlertViewRow): AlertView['state'] {
  if (row.disqualified_at !== null || row.state === 'disqualified') {
    return { kind: 'disqualified', reason: row.disqualified_reason ?? '', bySlackUser: row.disqualified_by };
  }
  if (row.state === 'claimed' && row.claimed_by_slack_user !== null && row.claimed_at !== null) {
    return { kind: 'claimed', bySlackUser: row.claimed_by_slack_user, at: row.claimed_at };
  }
  if (row.state === 'snoozed' && row.snoozed_until !== null)
    return { kind: 'snoozed', until: row.snoozed_until };
  return { kind: 'open' };
}

/**
 * A team member as messages name them; an id no longer in the ruleset is shown as text.
 *
 * @example
 * personOf(ruleset, 'anna') // { slackUserId: 'U0ANNA001', name: 'Anna' }
 */
export function personOf(ruleset: Pick<Ruleset, 'team'>, memberId: string | null): SlackPerson | null {
  if (memberId === null) return null;
  const member = memberById(ruleset, memberId);
  return member === null
    ? { slackUserId: null, name: memberId }
    : { slackUserId: member.slack_user_id, name: member.name };
}

/**
 * Enqueues a message about an alert (a DM when `channel` is a user id) under an idempotency key,
 * so a retried job or sweep posts it once.
 *
 * @example
 * await enqueueNotice(tx, { key: `sla:${alertId}:remind`, leadId, channel: 'U0ANNA001', message }, now);
 */
export async function enqueueNotice(
  tx: Queryable,
  notice: { key: string; leadId: number; channel: string; message: SlackMessage },
  now: Date,
): Promise<void> {
  await enqueueSlack(
    tx,
    {
      key: notice.key,
      kind: 'alert.notice',
      leadId: notice.leadId,
      method: 'chat.postMessage',
      channel: notice.channel,
      payload: { ...notice.message },
    },
    now,
  );
}

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
  ctx: JobContext,
  input: { leadId: number; slackUserId: string; now: Date },
): Promise<ClaimResult> {
  const { leadId, slackUserId, now } = input;
  const member = memberBySlackUser(ctx.ruleset, slackUserId);
  const memberId = member?.active ? member.id : null;
  return withTransaction(db, async (tx): Promise<ClaimResult> => {
    const won = await run(tx, claimLeadRow(leadId, slackUserId, memberId, now));
    if (won.length === 0) {
      const [lead] = await run<LeadClaimRow>(tx, selectLeadClaim(leadId));
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
    const moved: number[] = [];
    if (memberId !== null) {
      for (const deal of await run<OpenDealRow>(tx, selectOpenDeals(leadId, memberId))) {
        if (deal.owner_member_id === memberId) continue;
        await assignDeal(tx, ctx, deal.id, memberId, now);
        moved.push(deal.id);
      }
    }
    const [alert] = await run<AlertRow>(tx, lockLatestAlert(leadId, true));
    if (alert !== undefined) {
      await run(
        tx,
        updateAlert(
          alert.id,
          {
            ...current(alert),
            state: 'claimed',
            slaNextAt: null,
            snoozedUntil: null,
            ownerMemberId: memberId ?? alert.owner_member_id,
            claimedBy: slackUserId,
            claimedAt: now,
          },
          now,
        ),
      );
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
      await kickSlackDelivery(ctx.boss, { db: tx });
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
  ctx: JobContext,
  input: { leadId: number; slackUserId: string; option: SnoozeOption; now: Date },
): Promise<{ alertId: number; until: Date } | null> {
  const { leadId, now } = input;
  const until = new Date(now.getTime() + SNOOZE_MS[input.option]);
  return withTransaction(db, async (tx) => {
    if ((await run(tx, lockLead(leadId))).length === 0) return null;
    const [alert] = await run<AlertRow>(tx, lockLatestAlert(leadId, true));
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
    await kickSlackDelivery(ctx.boss, { db: tx });
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
  ctx: JobContext,
  input: { leadId: number; slackUserId: string; reason: string; now: Date },
): Promise<boolean> {
  const { leadId, now } = input;
  return withTransaction(db, async (tx) => {
    if ((await run(tx, lockLead(leadId))).length === 0) {
      throw new LeadlineError('not_found', `lead ${leadId} not found`, { status: 404 });
    }
    if ((await run(tx, disqualifyLeadRow(leadId, input.slackUserId, input.reason, now))).length === 0)
      return false;
    const [alert] = await run<AlertRow>(tx, lockLatestAlert(leadId, false));
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
      await kickSlackDelivery(ctx.boss, { db: tx });
    }
    return true;
  });
}

/**
 * Everything the Details modal (and `/lead`) shows about a lead, or null when there is no such lead.
 *
 * @example
 * const details = await loadLeadDetails(pool, ruleset, 42, now);
 * if (details) await client.views.open({ trigger_id, view: renderLeadDetailsModal(details) });
 */
export async function loadLeadDetails(
  db: Queryable,
  ruleset: Ruleset,
  leadId: number,
  now: Date,
): Promise<LeadDetails | null> {
  const [lead] = await run<DetailsLeadRow>(db, selectDetailsLead(leadId));
  if (lead === undefined) return null;
  const [states, deals, events] = await Promise.all([
    loadLeadStates(db, [leadId], now, { lock: false, dayKeys: [] }),
    run<DetailsDealRow>(db, selectDetailsDeals(leadId, 100)),
    run<DetailsEventRow>(db, selectRecentEvents(leadId, 15)),
  ]);
  const state = states.get(leadId);
  const why = state === undefined ? null : explainLead(state, ruleset, now);
  return {
    leadId,
    name: leadDisplayName({
      id: leadId,
      fullName: lead.full_name,
      firstName: lead.first_name,
      lastName: lead.last_name,
      email: lead.email,
    }),
    email: lead.email,
    company: lead.company,
    title: lead.title,
    phone: lead.phone,
    country: lead.country,
    website: lead.website,
    source: lead.first_touch_source,
    status: lead.status,
    score: why?.score ?? 0,
    grade: why?.grade ?? 'F',
    owner: personOf(ruleset, lead.owner_member_id),
    claim:
      lead.claimed_by_slack_user === null || lead.claimed_at === null
        ? null
        : { bySlackUser: lead.claimed_by_slack_user, at: lead.claimed_at },
    disqualified:
      lead.disqualified_at === null
        ? null
        : {
            reason: lead.disqualified_reason ?? '',
            bySlackUser: lead.disqualified_by,
            at: lead.disqualified_at,
          },
    explanation: {
      breakdown: why?.breakdown ?? [],
      signals: why?.signals ?? [],
      intents: why?.intents ?? [],
    },
    deals: deals.map((deal) => {
      const pipeline = ruleset.pipelines.find((p) => p.id === deal.pipeline_id);
      return {
        id: deal.id,
        pipelineName: pipeline?.name ?? deal.pipeline_id,
        stageName: pipeline?.stages.find((s) => s.id === deal.stage_id)?.name ?? deal.stage_id,
        owner: personOf(ruleset, deal.owner_member_id),
        queue: deal.owner_queue,
        status: deal.status,
        createdAt: deal.created_at,
      };
    }),
    events: events.map((e) => ({ type: e.event_type, source: e.source, occurredAt: e.occurred_at })),
    timezone: ruleset.timezone,
  };
}

/**
 * The alert's mutable fields as they are, to spread a change over.
 *
 * @example
 * await run(tx, updateAlert(alert.id, { ...current(alert), state: 'open', snoozedUntil: null }, now));
 */
export function current(alert: AlertRow) {
  return {
    state: alert.state,
    slaStep: alert.sla_step,
    slaNextAt: alert.sla_next_at,
    snoozedUntil: alert.snoozed_until,
    ownerMemberId: alert.owner_member_id,
    claimedBy: alert.claimed_by_slack_user,
    claimedAt: alert.claimed_at,
  };
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
