import type { LeadPersonColumns } from './leads.ts';
import type { Sql } from '../pool.ts';
import { LeadlineError } from '../../errors.ts';

/**
 * SQL for erasing a lead's personal data (`/lead forget`) and exporting it (`/lead export`).
 * Personal values are matched as case-insensitive regular expressions bounded by non-word
 * characters (see personalPatterns in jobs/forget-lead.ts), so "Ada" does not match "metadata".
 */

/** The personal fields of a lead, locked for the erasure. */
export interface PersonalRow extends LeadPersonColumns {
  id: number;
  phone: string | null;
  website: string | null;
  organization_id: number | null;
  erased_at: Date | null;
}

export function lockPersonalFields(leadId: number): Sql<PersonalRow> {
  return {
    text: `SELECT id, email, first_name, last_name, full_name, company, title, phone, website, organization_id, erased_at
      FROM leads WHERE id = $1 FOR UPDATE`,
    values: [leadId],
  };
}

/**
 * Anonymizes the lead row in place: personal fields go, score, grade, status, owner and timestamps
 * stay, so counts and score totals are unchanged. A disqualification reason naming the person goes too.
 */
export function anonymizeLead(leadId: number, patterns: readonly string[], now: Date): Sql {
  return {
    text: `UPDATE leads SET email = NULL, first_name = NULL, last_name = NULL, full_name = NULL, company = NULL,
        title = NULL, phone = NULL, website = NULL, organization_id = NULL,
        disqualified_reason = CASE WHEN disqualified_reason ~* ANY($2::text[]) THEN 'erased' ELSE disqualified_reason END,
        erased_at = $3, updated_at = $3
      WHERE id = $1`,
    values: [leadId, patterns, now],
  };
}

/** The organization goes too when no other lead belongs to it (its domain is the person's). */
export function deleteOrphanOrganization(organizationId: number): Sql {
  return {
    text: `DELETE FROM organizations o WHERE o.id = $1
      AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.organization_id = $1)`,
    values: [organizationId],
  };
}

/**
 * The lead's events, and every other stored event whose body mentions the email (a referral, a form
 * filled in for a colleague). The second part reads every intake row: erasure is rare and runs after
 * Slack was answered.
 */
export function deleteEventsOf(leadId: number, emailLike: string | null): Sql {
  return {
    text: `DELETE FROM intake_events
      WHERE lead_id = $1 OR ($2::text IS NOT NULL AND (payload::text ILIKE $2 OR event::text ILIKE $2))`,
    values: [leadId, emailLike],
  };
}

export function deleteIdentifiersOf(leadId: number): Sql {
  return { text: 'DELETE FROM lead_identifiers WHERE lead_id = $1', values: [leadId] };
}

export function deleteNotesOf(leadId: number): Sql {
  return { text: 'DELETE FROM lead_notes WHERE lead_id = $1', values: [leadId] };
}

/**
 * Replaces stored Slack messages about the lead (its lead_id, or any message naming it, such as a
 * Home tab or a list) by a stub. Messages already posted to a channel become a `chat.update` to the
 * stub, so the copy in Slack loses the data too; ephemeral replies cannot be edited later and just
 * lose their stored copy.
 */
export function redactOutbox(
  leadId: number,
  patterns: readonly string[],
  messageStub: object,
  viewStub: object,
  now: Date,
): Sql {
  const posted = `ts IS NOT NULL AND method IN ('chat.postMessage', 'chat.update')`;
  return {
    text: `UPDATE slack_outbox SET
        payload = CASE WHEN method = 'views.publish' THEN $4::jsonb ELSE $3::jsonb END,
        method = CASE WHEN ${posted} THEN 'chat.update' ELSE method END,
        state = CASE WHEN ${posted} THEN 'pending' ELSE state END,
        attempts = CASE WHEN ${posted} THEN 0 ELSE attempts END,
        rate_limited = CASE WHEN ${posted} THEN 0 ELSE rate_limited END,
        next_attempt_at = CASE WHEN ${posted} THEN $5 ELSE next_attempt_at END,
        version = version + 1,
        updated_at = $5
      WHERE lead_id = $1 OR payload::text ~* ANY($2::text[])
      RETURNING id`,
    values: [leadId, patterns, JSON.stringify(messageStub), JSON.stringify(viewStub), now],
  };
}

/** A free-text column of a table with a `lead_id`, as the catalog describes it. */
export interface ScrubColumn {
  table_name: string;
  column_name: string;
  kind: 'text' | 'character varying' | 'jsonb' | 'text[]';
}

/**
 * Free-text columns (text, varchar, jsonb, text[]) of every table that has a `lead_id`, except the
 * tables handled one by one, columns under a key, unique index or CHECK constraint, and machine values
 * Leadline writes itself (ids, keys, channels, enumerations). Read
 * from the catalog so tables added later are covered without touching the erasure.
 */
export function selectScrubColumns(handled: readonly string[]): Sql<ScrubColumn> {
  return {
    text: `SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, NULL) AS kind
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      WHERE c.relkind IN ('r', 'p')
        AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'jsonb'::regtype, 'text[]'::regtype)
        AND EXISTS (SELECT 1 FROM pg_attribute k
          WHERE k.attrelid = c.oid AND k.attname = 'lead_id' AND k.attnum > 0 AND NOT k.attisdropped)
        AND c.relname <> ALL($1::text[])
        -- Keys and CHECKs (enumerations like status); NOT NULL, a constraint too since PostgreSQL 18, is no reason.
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k
          WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'f', 'c', 'x') AND a.attnum = ANY(k.conkey))
        -- Nor columns in a unique index, nor machine values Leadline writes itself (member ids, keys,
        -- pipeline and stage ids, channels, enumerations): a person's name can spell a member id
        -- ('becker' in 'anna.becker'), and erasing one person must never rewrite who owns what.
        AND NOT EXISTS (SELECT 1 FROM pg_index i
          WHERE i.indrelid = c.oid AND i.indisunique AND a.attnum = ANY(i.indkey::int2[]))
        AND a.attname !~ '(_id|_key|_queue|_version|_by|_user)$'
        AND a.attname <> ALL(ARRAY['channel', 'intent', 'signal', 'kind', 'cause', 'strategy', 'category',
          'outcome_kind', 'status', 'state', 'method', 'tier', 'resolution', 'rule_id', 'source', 'scheme',
          'event_type', 'priority', 'severity', 'entity', 'trigger_type', 'stage_id', 'pipeline_id'])
      ORDER BY 1, 2`,
    values: [handled],
  };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const STUB: Record<ScrubColumn['kind'], string> = {
  text: `'erased'`,
  'character varying': `'erased'`,
  jsonb: `'{"erased": true}'::jsonb`,
  'text[]': `ARRAY['erased']`,
};

/**
 * Overwrites one column of the lead's rows where it mentions the person. The identifiers come from
 * the catalog (selectScrubColumns); anything but plain lowercase names is refused rather than quoted.
 */
export function scrubColumn(column: ScrubColumn, leadId: number, patterns: readonly string[]): Sql {
  for (const name of [column.table_name, column.column_name]) {
    if (!IDENTIFIER.test(name))
      throw new LeadlineError('invariant_broken', `refusing to scrub unusual identifier ${JSON.stringify(name)}`);
  }
  const { table_name: t, column_name: c } = column;
  return {
    text: `UPDATE "${t}" SET "${c}" = ${STUB[column.kind]} WHERE lead_id = $1 AND "${c}"::text ~* ANY($2::text[])`,
    values: [leadId, patterns],
  };
}

/** Everything Leadline stores about one lead, as one JSON document. */
export function selectLeadExport(leadId: number): Sql<{ data: { lead: unknown } & Record<string, unknown> }> {
  const list = (table: string, order: string, columns = '*') =>
    `COALESCE((SELECT json_agg(x ORDER BY ${order}) FROM (SELECT ${columns} FROM ${table} WHERE lead_id = $1) x), '[]'::json)`;
  return {
    text: `SELECT json_build_object(
        'lead', (SELECT row_to_json(l) FROM leads l WHERE l.id = $1),
        'identifiers', ${list('lead_identifiers', 'kind, value', 'kind, value, created_at')},
        'events', ${list('intake_events', 'occurred_at, id', 'id, source, event_type, occurred_at, received_at, payload')},
        'score_rows', ${list('score_rows', 'occurred_at, id')},
        'signals', ${list('signals', 'occurred_at, id')},
        'changes', ${list('lead_changes', 'created_at, id')},
        'deals', ${list('deals', 'created_at, id')},
        'notes', ${list('lead_notes', 'created_at, id')},
        'alerts', ${list('lead_alerts', 'created_at, id')},
        'routing_decisions', ${list('routing_decisions', 'created_at, id')},
        'routing_conflicts', ${list('routing_conflicts', 'created_at, id')},
        'assignments', ${list('assignments', 'created_at, id')},
        'tasks', ${list('tasks', 'created_at, id')},
        'audit', ${list('audit_log', 'created_at, id')}
      ) AS data`,
    values: [leadId],
  };
}
