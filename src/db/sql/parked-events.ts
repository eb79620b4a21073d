import type { Sql } from '../pool.ts';

/** Sets an event aside (again: a retried event that fails once more counts another attempt). */
export function parkEvent(eventId: string, error: string, rulesetVersion: string, now: Date): Sql {
  return {
    text: `INSERT INTO parked_events (event_id, error, ruleset_version, parked_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (event_id) DO UPDATE SET error = EXCLUDED.error, ruleset_version = EXCLUDED.ruleset_version,
        parked_at = EXCLUDED.parked_at, retried_at = NULL, discarded_at = NULL, attempts = parked_events.attempts + 1`,
    values: [eventId, error, rulesetVersion, now],
  };
}

export interface ParkedEventRow {
  event_id: string;
  source: string;
  event_type: string;
  error: string;
  ruleset_version: string;
  attempts: number;
  parked_at: Date;
}

/** Events waiting for an operator, oldest first. */
export function selectParkedEvents(limit: number): Sql<ParkedEventRow> {
  return {
    text: `SELECT p.event_id, e.source, e.event_type, p.error, p.ruleset_version, p.attempts, p.parked_at
      FROM parked_events p JOIN intake_events e ON e.id = p.event_id
      WHERE p.retried_at IS NULL AND p.discarded_at IS NULL ORDER BY p.parked_at, p.event_id LIMIT $1`,
    values: [limit],
  };
}

/** Marks parked events as sent back to processing; returns those that were parked and unprocessed. */
export function markParkedRetried(eventIds: readonly string[] | null, now: Date): Sql<{ event_id: string }> {
  return {
    text: `UPDATE parked_events p SET retried_at = $2
      FROM intake_events e
      WHERE e.id = p.event_id AND p.retried_at IS NULL AND p.discarded_at IS NULL AND e.processed_at IS NULL
        AND ($1::uuid[] IS NULL OR p.event_id = ANY($1::uuid[]))
      RETURNING p.event_id`,
    values: [eventIds, now],
  };
}
