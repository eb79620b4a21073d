import type { Sql } from '../pool.ts';

/** Columns a lead row carries into the engine's state, in one place for every loader. */
const LEAD_COLUMNS = `id, email, first_name, last_name, full_name, company, title, phone, country, region, website,
  score, grade, thresholds, primary_intent, intent_confidence,
  first_touch_source, first_touch_campaign, first_touch_at, last_touch_source, last_touch_campaign, last_touch_at,
  last_activity_at`;

/** The person columns of a lead row, as every query that shows or erases a person reads them. */
export interface LeadPersonColumns {
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  full_name: string | null;
  company: string | null;
  title: string | null;
}

export interface LeadRow extends LeadPersonColumns {
  id: number;
  phone: string | null;
  country: string | null;
  region: string | null;
  website: string | null;
  score: number;
  grade: string;
  thresholds: string[];
  primary_intent: string | null;
  intent_confidence: number;
  first_touch_source: string | null;
  first_touch_campaign: string | null;
  first_touch_at: Date | null;
  last_touch_source: string | null;
  last_touch_campaign: string | null;
  last_touch_at: Date | null;
  last_activity_at: Date | null;
}

/**
 * Locks the leads in id order (the same order in every worker, so no deadlocks) and reads them.
 * With `skipLocked`, leads another transaction holds are left out instead of waited for.
 */
export function lockLeads(ids: readonly number[], skipLocked = false): Sql<LeadRow> {
  return {
    text: `SELECT ${LEAD_COLUMNS} FROM leads WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`,
    values: [ids],
  };
}

/**
 * Locks one lead: the first lock of every write to a lead outside processing (alert actions, owner
 * changes, conflict decisions), taken in the same order as processing takes it. No row: no such lead.
 *
 * Leads (and deals) are locked FOR NO KEY UPDATE, never FOR UPDATE: writers exclude each other the
 * same, but a row that only references the lead (an outbox row updated twice in one transaction,
 * an assignment inserted) takes FOR KEY SHARE on it, which FOR UPDATE would block, a deadlock with
 * the Slack delivery run. Only erasure, which removes what references the lead, locks FOR UPDATE.
 */
export function lockLead(leadId: number): Sql<{ id: number; status: string }> {
  return { text: 'SELECT id, status FROM leads WHERE id = $1 FOR NO KEY UPDATE', values: [leadId] };
}

/** Leads among `ids` that were erased (GDPR): events must not write a person back onto them. */
export function selectErasedLeads(ids: readonly number[]): Sql<{ id: number }> {
  return { text: 'SELECT id FROM leads WHERE id = ANY($1::bigint[]) AND erased_at IS NOT NULL', values: [ids] };
}

/** Same columns without locks, for explanations and lookups. */
export function selectLeads(ids: readonly number[]): Sql<LeadRow> {
  return {
    text: `SELECT ${LEAD_COLUMNS} FROM leads WHERE id = ANY($1::bigint[]) ORDER BY id`,
    values: [ids],
  };
}

/** Absolute points awarded per lead, rule and day, expired rows included (caps count them). */
export function selectAwards(ids: readonly number[]): Sql<{ lead_id: number; rule_id: string; day_key: string; points: number }> {
  return {
    text: `SELECT lead_id, rule_id, to_char(day_key, 'YYYY-MM-DD') AS day_key, sum(abs(points))::int AS points
      FROM score_rows WHERE lead_id = ANY($1::bigint[])
      GROUP BY lead_id, rule_id, day_key`,
    values: [ids],
  };
}

export interface ActiveScoreRow {
  lead_id: number;
  event_id: string;
  rule_id: string;
  category: string;
  points: number;
  occurred_at: Date;
  expires_at: Date | null;
  day_key: string;
}

export function selectActiveScoreRows(ids: readonly number[], now: Date): Sql<ActiveScoreRow> {
  return {
    text: `SELECT lead_id, event_id, rule_id, category, points, occurred_at, expires_at, to_char(day_key, 'YYYY-MM-DD') AS day_key
      FROM score_rows
      WHERE lead_id = ANY($1::bigint[]) AND (expires_at IS NULL OR expires_at > $2)
      ORDER BY lead_id, occurred_at, id`,
    values: [ids, now],
  };
}

/** A signal row as `selectActiveSignals` returns it. */
export interface ActiveSignalRow {
  lead_id: number;
  event_id: string;
  rule_id: string;
  intent: string;
  signal: string;
  weight: number;
  tier: string;
  occurred_at: Date;
  decay_hours: number;
}

export function selectActiveSignals(ids: readonly number[], now: Date): Sql<ActiveSignalRow> {
  return {
    text: `SELECT lead_id, event_id, rule_id, intent, signal, weight, tier, occurred_at, decay_hours
      FROM signals
      WHERE lead_id = ANY($1::bigint[]) AND occurred_at + decay_hours * interval '1 hour' > $2
      ORDER BY lead_id, occurred_at, id`,
    values: [ids, now],
  };
}

/** Inserts new leads with ids reserved beforehand (see reserveLeadIds). */
export function insertLeads(rows: readonly { id: number; email: string | null }[]): Sql {
  return {
    text: `INSERT INTO leads (id, email) OVERRIDING SYSTEM VALUE
      SELECT * FROM unnest($1::bigint[], $2::text[])`,
    values: [rows.map((r) => r.id), rows.map((r) => r.email)],
  };
}

export interface LeadUpdate extends LeadPersonColumns {
  id: number;
  phone: string | null;
  country: string | null;
  region: string | null;
  website: string | null;
  score: number;
  grade: string;
  thresholds: string[];
  score_expires_at: string | null;
  primary_intent: string | null;
  intent_confidence: number;
  intent_weights: Record<string, number>;
  signals_active_until: string | null;
  first_touch_source: string | null;
  first_touch_campaign: string | null;
  first_touch_at: string | null;
  last_touch_source: string | null;
  last_touch_campaign: string | null;
  last_touch_at: string | null;
  last_activity_at: string | null;
  ruleset_version: string;
}

/** Writes the engine's new state for many leads in one statement. */
export function updateLeads(rows: readonly LeadUpdate[], at: Date): Sql {
  return {
    text: `UPDATE leads l SET
        email = COALESCE(l.email, u.email),
        first_name = u.first_name, last_name = u.last_name, full_name = u.full_name, company = u.company,
        title = u.title, phone = u.phone, country = u.country, region = u.region, website = u.website,
        score = u.score, grade = u.grade, thresholds = u.thresholds, score_expires_at = u.score_expires_at,
        primary_intent = u.primary_intent, intent_confidence = u.intent_confidence,
        intent_weights = u.intent_weights, signals_active_until = u.signals_active_until,
        first_touch_source = u.first_touch_source, first_touch_campaign = u.first_touch_campaign,
        first_touch_at = u.first_touch_at, last_touch_source = u.last_touch_source,
        last_touch_campaign = u.last_touch_campaign, last_touch_at = u.last_touch_at,
        last_activity_at = u.last_activity_at, ruleset_version = u.ruleset_version, updated_at = $2
      FROM jsonb_to_recordset($1::jsonb) AS u(
        id bigint, email text, first_name text, last_name text, full_name text, company text, title text,
        phone text, country text, region text, website text, score int, grade text, thresholds text[],
        score_expires_at timestamptz, primary_intent text, intent_confidence int, intent_weights jsonb,
        signals_active_until timestamptz, first_touch_source text, first_touch_campaign text,
        first_touch_at timestamptz, last_touch_source text, last_touch_campaign text, last_touch_at timestamptz,
        last_activity_at timestamptz, ruleset_version text)
      WHERE l.id = u.id`,
    values: [JSON.stringify(rows), at],
  };
}

export interface ScoreRowInsert {
  lead_id: number;
  event_id: string;
  rule_id: string;
  category: string;
  points: number;
  occurred_at: string;
  day_key: string;
  expires_at: string | null;
  ruleset_version: string;
}

export function insertScoreRows(rows: readonly ScoreRowInsert[]): Sql {
  return {
    text: `INSERT INTO score_rows (lead_id, event_id, rule_id, category, points, occurred_at, day_key, expires_at, ruleset_version)
      SELECT lead_id, event_id, rule_id, category, points, occurred_at, day_key, expires_at, ruleset_version
      FROM jsonb_to_recordset($1::jsonb) AS u(lead_id bigint, event_id uuid, rule_id text, category text, points int,
        occurred_at timestamptz, day_key date, expires_at timestamptz, ruleset_version text)
      ON CONFLICT (event_id, rule_id) DO NOTHING`,
    values: [JSON.stringify(rows)],
  };
}

/** A signal row to write: its time as ISO text (it travels as JSON), plus the ruleset that found it. */
export interface SignalInsert extends Omit<ActiveSignalRow, 'occurred_at'> {
  occurred_at: string;
  ruleset_version: string;
}

export function insertSignals(rows: readonly SignalInsert[]): Sql {
  return {
    text: `INSERT INTO signals (lead_id, event_id, rule_id, intent, signal, weight, tier, occurred_at, decay_hours, ruleset_version)
      SELECT lead_id, event_id, rule_id, intent, signal, weight, tier, occurred_at, decay_hours, ruleset_version
      FROM jsonb_to_recordset($1::jsonb) AS u(lead_id bigint, event_id uuid, rule_id text, intent text, signal text,
        weight float8, tier text, occurred_at timestamptz, decay_hours float8, ruleset_version text)
      ON CONFLICT (event_id, rule_id) DO NOTHING`,
    values: [JSON.stringify(rows)],
  };
}

export interface LeadChangeInsert {
  lead_id: number;
  kind: string;
  detail: unknown;
  event_id: string | null;
  ruleset_version: string;
}

export function insertLeadChanges(rows: readonly LeadChangeInsert[], at: Date): Sql {
  return {
    text: `INSERT INTO lead_changes (lead_id, kind, detail, event_id, ruleset_version, created_at)
      SELECT lead_id, kind, detail, event_id, ruleset_version, $2
      FROM jsonb_to_recordset($1::jsonb) AS u(lead_id bigint, kind text, detail jsonb, event_id uuid, ruleset_version text)`,
    values: [JSON.stringify(rows), at],
  };
}
