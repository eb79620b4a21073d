import { type AlertView, type ReassignOutcome, renderAlert } from '../../slack/render/alert.ts';
import { type PoolClient, type Queryable, run } from '../../db/pool.ts';
import {
  type AlertInsert,
  type AlertRow,
  type AlertViewRow,
  insertAlerts,
  selectAlertAudit,
  selectAlertCandidates,
  selectAlertViews,
} from '../../db/sql/alerts.ts';
import { explainLead, type LeadChange, type LeadState } from '../../engine/lead-processor.ts';
import type { Ruleset } from '../../engine/ruleset.ts';
import { memberById } from '../../engine/team.ts';
import type { AppContext } from '../context.ts';
import { loadLeadStates } from './lead-store.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { enqueueSlack, enqueueSlackMany } from '../../slack/outbox/enqueue.ts';
import { type SlackMessage, type SlackPerson, leadDisplayName } from '../../slack/render/views.ts';
import { personView } from '../queries/lead-card.ts';

/**
 * Hot-lead alerts: opening them and rendering their messages, plus the helpers the alert actions
 * (alert-actions.ts) and the SLA chain (sla.ts) share. Every write locks the lead row first (then
 * its alert, then deals), like event processing does, and re-renders the alert message under its
 * outbox key in the same transaction, so the message never disagrees with the database.
 */

export interface AlertInput {
  leadId: number;
  changes: readonly LeadChange[];
  eventId: string | null;
  /** The lead's engine state as just written, which the message explains (read back when absent). */
  state?: LeadState;
}

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
  ctx: AppContext,
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
  const candidates = await run(tx, selectAlertCandidates([...reasons.keys()], now));
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
  const inserted = await run(tx, insertAlerts(rows, now));
  if (inserted.length === 0) return [];
  const ids = inserted.map((row) => row.id);
  const states = new Map<number, LeadState>();
  for (const input of inputs) if (input.state !== undefined) states.set(input.leadId, input.state);
  // New alerts have no SLA history yet: nothing to read from the audit log.
  await refreshAlertMessages(tx, ctx, ids, now, { states, fresh: true });
  await kickSlackDelivery(ctx.queue, { db: tx });
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
 * await kickSlackDelivery(ctx.queue, { db: tx });
 */
export async function refreshAlertMessage(tx: Queryable, ctx: AppContext, alertId: number, now: Date) {
  await refreshAlertMessages(tx, ctx, [alertId], now);
}

async function refreshAlertMessages(
  tx: Queryable,
  ctx: AppContext,
  alertIds: readonly number[],
  now: Date,
  known: KnownFacts = {},
) {
  const views = await loadAlertViews(tx, ctx.ruleset, alertIds, now, known);
  await enqueueSlackMany(
    tx,
    [...views.values()].map(({ row, view }) => ({
      key: row.outbox_key,
      kind: 'alert',
      leadId: row.lead_id,
      method: 'chat.postMessage' as const,
      channel: row.channel,
      payload: { ...renderAlert(view) },
    })),
    now,
  );
}

/** What the caller already knows, so rendering need not read it again. */
interface KnownFacts {
  /** Engine states of the alerts' leads, as written in this transaction. */
  states?: ReadonlyMap<number, LeadState>;
  /** The alerts were created just now: they have no SLA history. */
  fresh?: boolean;
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
  known: KnownFacts = {},
): Promise<Map<number, { row: AlertViewRow; view: AlertView }>> {
  const out = new Map<number, { row: AlertViewRow; view: AlertView }>();
  if (alertIds.length === 0) return out;
  const rows = await run(db, selectAlertViews(alertIds));
  const leadIds = [...new Set(rows.map((row) => row.lead_id))];
  const states = new Map(known.states);
  const unknown = leadIds.filter((id) => !states.has(id));
  for (const [id, state] of await loadLeadStates(db, unknown, now, { lock: false, dayKeys: [] })) {
    states.set(id, state);
  }
  const audit = known.fresh === true ? [] : await run(db, selectAlertAudit(leadIds, alertIds));
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
        lead: { name: leadDisplayName(personView(row.lead_id, row)), company: row.company, title: row.title },
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
