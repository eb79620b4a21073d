import type { Sql } from '../pool.ts';

/**
 * Deleting decisions past their retention, a batch per statement so no run holds many row locks.
 * No table references these rows; what still explains current state is kept whatever its age:
 * each lead's latest routing decision (its card's "why") and each open deal's latest assignment.
 */

/** Routing decisions before `cutoff`, except each lead's latest. */
export function deleteOldRoutingDecisions(cutoff: Date, batch: number): Sql<{ deleted: number }> {
  return {
    text: `WITH doomed AS (
        SELECT r.id FROM routing_decisions r
        WHERE r.created_at < $1
          AND EXISTS (
            SELECT 1 FROM routing_decisions later
            WHERE later.lead_id = r.lead_id AND (later.created_at, later.id) > (r.created_at, r.id)
          )
        ORDER BY r.id LIMIT $2
      ), gone AS (
        DELETE FROM routing_decisions WHERE id IN (SELECT id FROM doomed) RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`,
    values: [cutoff, batch],
  };
}

/** Assignments before `cutoff`, except the latest of each open deal. */
export function deleteOldAssignments(cutoff: Date, batch: number): Sql<{ deleted: number }> {
  return {
    text: `WITH doomed AS (
        SELECT a.id FROM assignments a
        WHERE a.created_at < $1
          AND NOT (
            EXISTS (SELECT 1 FROM deals d WHERE d.id = a.deal_id AND d.status = 'open')
            AND NOT EXISTS (
              SELECT 1 FROM assignments later
              WHERE later.deal_id = a.deal_id AND (later.created_at, later.id) > (a.created_at, a.id)
            )
          )
        ORDER BY a.id LIMIT $2
      ), gone AS (
        DELETE FROM assignments WHERE id IN (SELECT id FROM doomed) RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`,
    values: [cutoff, batch],
  };
}

/**
 * Audit rows before `cutoff`, except those about a live alert: its message shows the latest
 * reminder, escalation and reassignment from them whenever it is rendered again.
 */
export function deleteOldAudit(cutoff: Date, batch: number): Sql<{ deleted: number }> {
  return {
    text: `WITH doomed AS (
        SELECT l.id FROM audit_log l
        WHERE l.created_at < $1
          AND NOT EXISTS (
            SELECT 1 FROM lead_alerts a
            WHERE a.lead_id = l.lead_id AND a.id::text = l.detail->>'alertId' AND a.state IN ('open', 'snoozed')
          )
        ORDER BY l.id LIMIT $2
      ), gone AS (
        DELETE FROM audit_log WHERE id IN (SELECT id FROM doomed) RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`,
    values: [cutoff, batch],
  };
}
