import type { Sql } from '../pool.ts';
import { DEAL_ACTIVITY, type NotificationLeadRow } from './automation.ts';

export type { NotificationLeadRow } from './automation.ts';

/** One upkeep run at a time: two overlapping runs would both see a finding as new. */
export function lockUpkeepRun(): Sql {
  return { text: `SELECT pg_advisory_xact_lock(hashtext('leadline:upkeep'))`, values: [] };
}

export interface UpkeepDealRow {
  id: number;
  lead_id: number;
  pipeline_id: string;
  stage_id: string;
  owner_member_id: string | null;
  status: 'open';
  value: number | null;
  priority: string | null;
  created_at: Date;
  stage_entered_at: Date;
  last_activity_at: Date | null;
}

/** Every open deal, with its last activity (see DEAL_ACTIVITY). */
export function selectOpenDeals(): Sql<UpkeepDealRow> {
  return {
    text: `SELECT d.id, d.lead_id, d.pipeline_id, d.stage_id, d.owner_member_id, d.status, d.value, d.priority,
        d.created_at, d.stage_entered_at, ${DEAL_ACTIVITY} AS last_activity_at
      FROM deals d JOIN leads l ON l.id = d.lead_id
      WHERE d.status = 'open'
      ORDER BY d.id`,
    values: [],
  };
}

export interface UpkeepLeadRow {
  id: number;
  status: 'pool' | 'routed';
  created_at: Date;
  last_activity_at: Date | null;
}

/**
 * Leads without an open deal that upkeep must look at: every routed one (an integrity problem)
 * and those silent since before `staleBefore`, most recently silent first, at most `limit`.
 * Leads with an open deal are watched through their deal; archived ones and those waiting on a
 * manager (status conflict, checked as conflicts) are not.
 */
export function selectUpkeepLeads(staleBefore: Date, limit: number): Sql<UpkeepLeadRow> {
  return {
    text: `SELECT l.id, l.status, l.created_at, l.last_activity_at
      FROM leads l
      WHERE l.status IN ('pool', 'routed')
        AND (l.status = 'routed' OR COALESCE(l.last_activity_at, l.created_at) < $1)
        AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.lead_id = l.id AND d.status = 'open')
      ORDER BY (l.status = 'routed') DESC, COALESCE(l.last_activity_at, l.created_at) DESC, l.id
      LIMIT $2`,
    values: [staleBefore, limit],
  };
}

/** Unresolved routing conflicts opened before `openedBefore` (younger ones cannot be overdue). */
export function selectOverdueConflicts(openedBefore: Date): Sql<{ id: number; lead_id: number; created_at: Date }> {
  return {
    text: `SELECT id, lead_id, created_at FROM routing_conflicts
      WHERE resolved_at IS NULL AND created_at < $1 ORDER BY id`,
    values: [openedBefore],
  };
}

export interface PresenceRow {
  member_id: string;
  status_emoji: string | null;
  status_text: string | null;
  status_expires_at: Date | null;
  away_until: Date | null;
  deactivated: boolean;
}

export function selectTeamPresence(): Sql<PresenceRow> {
  return {
    text: `SELECT member_id, status_emoji, status_text, status_expires_at, away_until, deactivated
      FROM team_presence ORDER BY member_id`,
    values: [],
  };
}

export interface FindingUpsert {
  key: string;
  kind: string;
  severity: string;
  leadId: number;
  dealId: number | null;
  detail: unknown;
}

/**
 * Records this run's findings: new keys are inserted (`first_seen_at = now`), known ones get
 * `last_seen_at` and their current detail, and a resolved one that is back is reopened. Returns
 * the keys that are new or reopened: the ones to announce.
 */
export function upsertFindings(rows: readonly FindingUpsert[], now: Date): Sql<{ key: string; announce: boolean }> {
  return {
    text: `WITH existing AS (
        SELECT key, resolved_at FROM upkeep_findings WHERE key = ANY($1::text[])
      )
      INSERT INTO upkeep_findings AS f (key, kind, severity, lead_id, deal_id, detail, first_seen_at, last_seen_at)
      SELECT u.key, u.kind, u.severity, u.lead_id, u.deal_id, u.detail::jsonb, $7, $7
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])
        AS u(key, kind, severity, lead_id, deal_id, detail)
      ON CONFLICT (key) DO UPDATE SET
        severity = EXCLUDED.severity, detail = EXCLUDED.detail, last_seen_at = EXCLUDED.last_seen_at, resolved_at = NULL
      RETURNING f.key, NOT EXISTS (SELECT 1 FROM existing e WHERE e.key = f.key AND e.resolved_at IS NULL) AS announce`,
    values: [
      rows.map((r) => r.key),
      rows.map((r) => r.kind),
      rows.map((r) => r.severity),
      rows.map((r) => r.leadId),
      rows.map((r) => r.dealId),
      rows.map((r) => JSON.stringify(r.detail)),
      now,
    ],
  };
}

/**
 * Resolves open findings this run did not see, except kinds whose input was cut off this run
 * (`keepKinds`): their absence proves nothing.
 */
export function resolveUnseenFindings(
  seenKeys: readonly string[],
  keepKinds: readonly string[],
  now: Date,
): Sql {
  return {
    text: `UPDATE upkeep_findings SET resolved_at = $3
      WHERE resolved_at IS NULL AND NOT (key = ANY($1::text[])) AND NOT (kind = ANY($2::text[]))
      RETURNING key`,
    values: [seenKeys, keepKinds, now],
  };
}

/** What a message shows about each lead. */
export function selectNotificationLeads(ids: readonly number[]): Sql<NotificationLeadRow> {
  return {
    text: `SELECT id, email, first_name, last_name, full_name, company, title, country, score, grade,
        primary_intent, intent_confidence
      FROM leads WHERE id = ANY($1::bigint[])`,
    values: [ids],
  };
}
