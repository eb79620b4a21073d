import type { Sql } from '../pool.ts';

/** The five places a piece of work can give up and wait for an admin. */
export type DeadLetterKind = 'slack' | 'moco' | 'event' | 'delivery' | 'job';

export interface DeadLetterRow {
  kind: DeadLetterKind;
  id: string;
  at: Date;
  what: string;
  error: string | null;
  tries: number;
  /** How many dead letters there are in all, whatever the limit. */
  total: number;
}

// One row shape per kind; `what` is assembled here so that every kind reads alike. Lead names,
// sources and errors in it are untrusted text: renderers escape them.
const DEAD_LETTERS = `
  SELECT 'slack' AS kind, o.id::text AS id, o.updated_at AS at,
      o.kind || ' (' || o.method || COALESCE(' to ' || o.channel, '') || ')' AS what,
      o.last_error AS error, o.attempts AS tries
    FROM slack_outbox o WHERE o.state = 'dead' AND o.discarded_at IS NULL
  UNION ALL
  SELECT 'moco', r.id::text, r.updated_at,
      'MOCO ' || r.entity || ' sync for ' || COALESCE(NULLIF(l.full_name, ''),
        NULLIF(concat_ws(' ', l.first_name, l.last_name), ''), l.email, 'lead #' || l.id),
      r.last_error, r.attempts
    FROM moco_sync_requests r JOIN leads l ON l.id = r.lead_id
    WHERE r.state = 'failed' AND r.discarded_at IS NULL
  UNION ALL
  SELECT 'event', p.event_id::text, p.parked_at, e.source || ' ' || e.event_type || ' event', p.error, p.attempts
    FROM parked_events p JOIN intake_events e ON e.id = p.event_id
    WHERE p.retried_at IS NULL AND p.discarded_at IS NULL
  UNION ALL
  SELECT 'delivery', d.id::text, d.received_at, d.source || ' delivery (' || octet_length(d.body) || ' bytes)',
      d.reason || ': ' || d.detail, d.attempts
    FROM invalid_deliveries d WHERE d.retried_at IS NULL AND d.discarded_at IS NULL
  UNION ALL
  SELECT 'job', j.id::text, COALESCE(j.completed_on, j.created_on), j.name || ' job',
      COALESCE(j.output->>'message', j.output->'value'->>'message', j.output::text), j.retry_count
    FROM pgboss.job j
    WHERE j.state = 'failed' AND NOT EXISTS (SELECT 1 FROM discarded_jobs x WHERE x.job_id = j.id)`;

/** Every dead letter, newest first, with the total count. */
export function selectDeadLetters(limit: number): Sql<DeadLetterRow> {
  return {
    text: `SELECT kind, id, at, what, error, tries, count(*) OVER ()::int AS total
      FROM (${DEAD_LETTERS}) d ORDER BY at DESC, kind, id LIMIT $1`,
    values: [limit],
  };
}

/** The queue of a failed job nobody discarded (pg-boss retries by queue and id). */
export function selectFailedJob(jobId: string): Sql<{ name: string }> {
  return {
    text: `SELECT j.name FROM pgboss.job j
      WHERE j.id = $1 AND j.state = 'failed' AND NOT EXISTS (SELECT 1 FROM discarded_jobs x WHERE x.job_id = j.id)`,
    values: [jobId],
  };
}

/** Marks a dead Slack delivery as dealt with; a row only when it was listed. */
export function discardDeadOutbox(id: string, now: Date): Sql<{ id: string }> {
  return {
    text: `UPDATE slack_outbox SET discarded_at = $2 WHERE id = $1 AND state = 'dead' AND discarded_at IS NULL
      RETURNING id::text`,
    values: [id, now],
  };
}

export function discardFailedSync(id: string, now: Date): Sql<{ id: string }> {
  return {
    text: `UPDATE moco_sync_requests SET discarded_at = $2 WHERE id = $1 AND state = 'failed' AND discarded_at IS NULL
      RETURNING id::text`,
    values: [id, now],
  };
}

export function discardParkedEvent(eventId: string, now: Date): Sql<{ id: string }> {
  return {
    text: `UPDATE parked_events SET discarded_at = $2
      WHERE event_id = $1 AND retried_at IS NULL AND discarded_at IS NULL
      RETURNING event_id::text AS id`,
    values: [eventId, now],
  };
}

export function discardInvalidDelivery(id: string, now: Date): Sql<{ id: string }> {
  return {
    text: `UPDATE invalid_deliveries SET discarded_at = $2 WHERE id = $1 AND retried_at IS NULL AND discarded_at IS NULL
      RETURNING id::text`,
    values: [id, now],
  };
}

/** Records a discarded failed job (pg-boss's table stays pg-boss's); a row only the first time. */
export function discardFailedJob(jobId: string, now: Date): Sql<{ id: string }> {
  return {
    text: `INSERT INTO discarded_jobs (job_id, queue, discarded_at)
      SELECT j.id, j.name, $2 FROM pgboss.job j WHERE j.id = $1 AND j.state = 'failed'
      ON CONFLICT (job_id) DO NOTHING
      RETURNING job_id::text AS id`,
    values: [jobId, now],
  };
}
