import type { LeadPersonColumns } from './leads.ts';
import type { Sql } from '../pool.ts';

/**
 * SQL for hot-lead alerts, claims, snoozes, "not a fit" and the SLA sweep. Lock order everywhere:
 * the lead row first, then its alert, then deals and ledgers — the order event processing uses —
 * so a claim, a sweep and a processing batch never wait on each other in a cycle.
 */

const LIVE = `('open', 'snoozed')`;

export type AlertState = 'open' | 'snoozed' | 'claimed' | 'disqualified' | 'closed';
export type AlertPriority = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW';

export interface AlertRow {
  id: number;
  lead_id: number;
  reason: 'hot' | 'critical_signal';
  priority: AlertPriority;
  state: AlertState;
  owner_member_id: string | null;
  channel: string;
  outbox_key: string;
  sla_due_at: Date;
  sla_step: number;
  sla_next_at: Date | null;
  snoozed_until: Date | null;
  claimed_by_slack_user: string | null;
  claimed_at: Date | null;
  created_at: Date;
}

const ALERT_COLUMNS = `a.id, a.lead_id, a.reason, a.priority, a.state, a.owner_member_id, a.channel, a.outbox_key,
  a.sla_due_at, a.sla_step, a.sla_next_at, a.snoozed_until, a.claimed_by_slack_user, a.claimed_at, a.created_at`;

export interface AlertCandidateRow {
  id: number;
  owner_member_id: string | null;
  disqualified: boolean;
  claimed: boolean;
  live_alert: boolean;
  /** The highest tier among the lead's signals that still carry weight. */
  top_tier: AlertPriority | null;
}

/** What deciding on a new alert needs per lead. */
export function selectAlertCandidates(leadIds: readonly number[], now: Date): Sql<AlertCandidateRow> {
  return {
    text: `SELECT l.id, l.owner_member_id, l.disqualified_at IS NOT NULL AS disqualified,
        l.claimed_by_slack_user IS NOT NULL AS claimed,
        EXISTS (SELECT 1 FROM lead_alerts a WHERE a.lead_id = l.id AND a.state IN ${LIVE}) AS live_alert,
        (SELECT s.tier FROM signals s
          WHERE s.lead_id = l.id AND s.occurred_at + s.decay_hours * interval '1 hour' > $2
          ORDER BY array_position(ARRAY['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'], s.tier) LIMIT 1) AS top_tier
      FROM leads l WHERE l.id = ANY($1::bigint[]) ORDER BY l.id`,
    values: [leadIds, now],
  };
}

export interface AlertInsert {
  lead_id: number;
  reason: 'hot' | 'critical_signal';
  priority: AlertPriority;
  owner_member_id: string | null;
  channel: string;
  sla_due_at: string;
  sla_next_at: string;
  ruleset_version: string;
}

/**
 * Inserts alerts; the id is drawn first so `outbox_key` (`alert:<id>`) is set in the same statement.
 * A lead that already has a live alert is skipped by the partial unique index.
 */
export function insertAlerts(rows: readonly AlertInsert[], now: Date): Sql<{ id: number; lead_id: number }> {
  return {
    text: `WITH r AS (
        SELECT u.*, nextval(pg_get_serial_sequence('lead_alerts', 'id')) AS id
        FROM jsonb_to_recordset($1::jsonb) AS u(lead_id bigint, reason text, priority text, owner_member_id text,
          channel text, sla_due_at timestamptz, sla_next_at timestamptz, ruleset_version text)
      )
      INSERT INTO lead_alerts (id, lead_id, reason, priority, owner_member_id, channel, outbox_key, sla_due_at,
        sla_next_at, ruleset_version, created_at, updated_at)
      OVERRIDING SYSTEM VALUE
      SELECT id, lead_id, reason, priority, owner_member_id, channel, 'alert:' || id, sla_due_at, sla_next_at,
        ruleset_version, $2, $2
      FROM r ORDER BY lead_id
      ON CONFLICT (lead_id) WHERE state IN ${LIVE} DO NOTHING
      RETURNING id, lead_id`,
    values: [JSON.stringify(rows), now],
  };
}

export interface AlertViewRow extends AlertRow, LeadPersonColumns {
  score: number;
  grade: string;
  primary_intent: string | null;
  intent_confidence: number;
  disqualified_at: Date | null;
  disqualified_by: string | null;
  disqualified_reason: string | null;
}

/** Alerts with the lead fields their message shows. */
export function selectAlertViews(alertIds: readonly number[]): Sql<AlertViewRow> {
  return {
    text: `SELECT ${ALERT_COLUMNS}, l.email, l.first_name, l.last_name, l.full_name, l.company, l.title,
        l.score, l.grade, l.primary_intent, l.intent_confidence,
        l.disqualified_at, l.disqualified_by, l.disqualified_reason
      FROM lead_alerts a JOIN leads l ON l.id = a.lead_id
      WHERE a.id = ANY($1::bigint[]) ORDER BY a.id`,
    values: [alertIds],
  };
}

export interface AlertAuditRow {
  alert_id: number;
  action: string;
  detail: Record<string, unknown>;
}

/** The latest audit row per alert and action, for the SLA progress an alert message shows. */
export function selectAlertAudit(leadIds: readonly number[], alertIds: readonly number[]): Sql<AlertAuditRow> {
  return {
    text: `SELECT DISTINCT ON (detail->>'alertId', action) (detail->>'alertId')::bigint AS alert_id, action, detail
      FROM audit_log
      WHERE lead_id = ANY($1::bigint[]) AND detail->>'alertId' = ANY($2::text[])
        AND action IN ('sla.reminded', 'sla.escalated', 'alert.reassigned')
      ORDER BY detail->>'alertId', action, id DESC`,
    values: [leadIds, alertIds.map(String)],
  };
}

/**
 * The claim itself: only the first of any number of concurrent claimers matches
 * `claimed_by_slack_user IS NULL`; the others wait on the row lock, re-check and match nothing.
 */
export function claimLeadRow(leadId: number, slackUserId: string, memberId: string | null, now: Date): Sql {
  return {
    text: `UPDATE leads SET claimed_by_slack_user = $2, claimed_by_member_id = $3, claimed_at = $4, updated_at = $4
      WHERE id = $1 AND claimed_by_slack_user IS NULL AND disqualified_at IS NULL
      RETURNING id`,
    values: [leadId, slackUserId, memberId, now],
  };
}

export interface LeadClaimRow {
  claimed_by_slack_user: string | null;
  claimed_at: Date | null;
  disqualified_at: Date | null;
  disqualified_by: string | null;
}

export function selectLeadClaim(leadId: number): Sql<LeadClaimRow> {
  return {
    text: 'SELECT claimed_by_slack_user, claimed_at, disqualified_at, disqualified_by FROM leads WHERE id = $1',
    values: [leadId],
  };
}

/** The lead's newest alert (live ones first), locked; the caller holds the lead lock already. */
export function lockLatestAlert(leadId: number, liveOnly: boolean): Sql<AlertRow> {
  return {
    text: `SELECT ${ALERT_COLUMNS} FROM lead_alerts a
      WHERE a.lead_id = $1 ${liveOnly ? `AND a.state IN ${LIVE}` : ''}
      ORDER BY (a.state IN ${LIVE}) DESC, a.id DESC LIMIT 1 FOR UPDATE`,
    values: [leadId],
  };
}

/** Writes an alert's mutable fields as the caller computed them from the locked row. */
export function updateAlert(
  alertId: number,
  next: {
    state: AlertState;
    slaStep: number;
    slaNextAt: Date | null;
    snoozedUntil: Date | null;
    ownerMemberId: string | null;
    claimedBy: string | null;
    claimedAt: Date | null;
  },
  now: Date,
): Sql {
  return {
    text: `UPDATE lead_alerts SET state = $2, sla_step = $3, sla_next_at = $4, snoozed_until = $5,
        owner_member_id = $6, claimed_by_slack_user = $7, claimed_at = $8, updated_at = $9
      WHERE id = $1`,
    values: [
      alertId,
      next.state,
      next.slaStep,
      next.slaNextAt,
      next.snoozedUntil,
      next.ownerMemberId,
      next.claimedBy,
      next.claimedAt,
      now,
    ],
  };
}

/** Marks a lead "not a fit" once; a second decision keeps the first reason. */
export function disqualifyLeadRow(leadId: number, slackUserId: string, reason: string, now: Date): Sql {
  return {
    text: `UPDATE leads SET disqualified_at = $4, disqualified_by = $2, disqualified_reason = $3, updated_at = $4
      WHERE id = $1 AND disqualified_at IS NULL RETURNING id`,
    values: [leadId, slackUserId, reason, now],
  };
}

export interface OpenDealRow {
  id: number;
  pipeline_id: string;
  owner_member_id: string | null;
}

/** The lead's open deals, the one owned by `preferOwner` first, then the newest. */
export function selectOpenDeals(leadId: number, preferOwner: string | null): Sql {
  return {
    text: `SELECT id, pipeline_id, owner_member_id FROM deals WHERE lead_id = $1 AND status = 'open'
      ORDER BY (owner_member_id IS NOT DISTINCT FROM $2) DESC, created_at DESC, id DESC`,
    values: [leadId, preferOwner],
  };
}

/** Leads with an alert whose SLA step is due, after `afterLeadId` (the sweep pages by lead id). */
export function selectDueAlertLeads(now: Date, afterLeadId: number, limit: number): Sql<{ lead_id: number }> {
  return {
    text: `SELECT DISTINCT lead_id FROM lead_alerts
      WHERE state IN ${LIVE} AND sla_next_at <= $1 AND lead_id > $2
      ORDER BY lead_id LIMIT $3`,
    values: [now, afterLeadId, limit],
  };
}

/** Locks those leads, skipping any a claim or a processing batch holds: the next sweep gets them. */
export function lockLeadsSkipLocked(leadIds: readonly number[]): Sql<{ id: number }> {
  return {
    text: 'SELECT id FROM leads WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED',
    values: [leadIds],
  };
}

/** Due alerts of leads the caller has locked, re-checked under the lock. */
export function lockDueAlerts(leadIds: readonly number[], now: Date): Sql<AlertRow> {
  return {
    text: `SELECT ${ALERT_COLUMNS} FROM lead_alerts a
      WHERE a.lead_id = ANY($1::bigint[]) AND a.state IN ${LIVE} AND a.sla_next_at <= $2
      ORDER BY a.lead_id FOR UPDATE SKIP LOCKED`,
    values: [leadIds, now],
  };
}

export interface DetailsLeadRow extends LeadPersonColumns {
  id: number;
  phone: string | null;
  country: string | null;
  website: string | null;
  status: string;
  owner_member_id: string | null;
  first_touch_source: string | null;
  last_activity_at: Date | null;
  claimed_by_slack_user: string | null;
  claimed_at: Date | null;
  disqualified_at: Date | null;
  disqualified_by: string | null;
  disqualified_reason: string | null;
}

export function selectDetailsLead(leadId: number): Sql<DetailsLeadRow> {
  return {
    text: `SELECT id, email, first_name, last_name, full_name, company, title, phone, country, website, status,
        owner_member_id, first_touch_source, last_activity_at, claimed_by_slack_user, claimed_at,
        disqualified_at, disqualified_by, disqualified_reason
      FROM leads WHERE id = $1`,
    values: [leadId],
  };
}

export interface DetailsDealRow {
  id: number;
  pipeline_id: string;
  stage_id: string;
  owner_member_id: string | null;
  owner_queue: string | null;
  status: string;
  created_at: Date;
}

export function selectDetailsDeals(leadId: number, limit: number): Sql<DetailsDealRow> {
  return {
    text: `SELECT id, pipeline_id, stage_id, owner_member_id, owner_queue, status, created_at
      FROM deals WHERE lead_id = $1 ORDER BY (status = 'open') DESC, created_at DESC LIMIT $2`,
    values: [leadId, limit],
  };
}


/**
 * Where the lead's latest alert message is in Slack (once Slack has answered with its ts): the
 * thread a deal's outcomes are posted in.
 */
export function selectAlertThread(leadId: number): Sql<{ channel: string; ts: string }> {
  return {
    text: `SELECT COALESCE(o.posted_channel, o.channel) AS channel, o.ts
      FROM lead_alerts a JOIN slack_outbox o ON o.key = a.outbox_key
      WHERE a.lead_id = $1 AND o.ts IS NOT NULL AND COALESCE(o.posted_channel, o.channel) IS NOT NULL
      ORDER BY a.created_at DESC, a.id DESC LIMIT 1`,
    values: [leadId],
  };
}

/** Bounds how long the rest of this transaction waits for any lock (then it fails with 55P03). */
export function setLockTimeout(ms: number): Sql {
  return { text: `SELECT set_config('lock_timeout', $1, true)`, values: [`${Math.max(1, Math.round(ms))}ms`] };
}
