import type { ConflictCandidate, ConflictCause, RoutingReasons } from '../../engine/routing.ts';
import type { Sql } from '../pool.ts';

/** A routing conflict with the lead facts its Slack message shows. */
export interface ConflictMessageRow {
  id: number;
  lead_id: number;
  cause: ConflictCause;
  candidates: ConflictCandidate[];
  reasons: RoutingReasons;
  outbox_key: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution: string | null;
  full_name: string | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  company: string | null;
  score: number;
  grade: string;
  intent_weights: Record<string, number>;
  status: string;
  owner_member_id: string | null;
}

const MESSAGE_COLUMNS = `c.id, c.lead_id, c.cause, c.candidates, c.reasons, c.outbox_key, c.resolved_at, c.resolved_by,
  c.resolution, l.full_name, l.first_name, l.last_name, l.email, l.company, l.score, l.grade, l.intent_weights,
  l.status, l.owner_member_id`;

/** The open conflicts of these leads, with their lead facts. */
export function selectOpenConflictsForLeads(leadIds: readonly number[]): Sql<ConflictMessageRow> {
  return {
    text: `SELECT ${MESSAGE_COLUMNS} FROM routing_conflicts c JOIN leads l ON l.id = c.lead_id
      WHERE c.lead_id = ANY($1::bigint[]) AND c.resolved_at IS NULL ORDER BY c.id`,
    values: [leadIds],
  };
}

/** One conflict (open or decided) with its lead facts. */
export function selectConflictForMessage(conflictId: number): Sql<ConflictMessageRow> {
  return {
    text: `SELECT ${MESSAGE_COLUMNS} FROM routing_conflicts c JOIN leads l ON l.id = c.lead_id WHERE c.id = $1`,
    values: [conflictId],
  };
}

/** Records each conflict's Slack message key (`conflict:<id>`), so every later change updates it. */
export function setConflictOutboxKeys(conflictIds: readonly number[]): Sql {
  return {
    text: `UPDATE routing_conflicts SET outbox_key = 'conflict:' || id
      WHERE id = ANY($1::bigint[]) AND outbox_key IS DISTINCT FROM 'conflict:' || id`,
    values: [conflictIds],
  };
}

export function selectConflictLead(conflictId: number): Sql<{ lead_id: number }> {
  return { text: 'SELECT lead_id FROM routing_conflicts WHERE id = $1', values: [conflictId] };
}

/**
 * Decides a conflict exactly once: only the statement that finds it still open gets a row back.
 * `resolution` is `pool` or `route:<pipelineId>`.
 */
export function claimConflict(conflictId: number, slackUserId: string, resolution: string, now: Date): Sql<{ lead_id: number }> {
  return {
    text: `UPDATE routing_conflicts SET resolved_at = $2, resolved_by = $3, resolution = $4
      WHERE id = $1 AND resolved_at IS NULL RETURNING lead_id`,
    values: [conflictId, now, slackUserId, resolution],
  };
}

/** A lead waiting on a manager goes back to the pool (routed or archived leads stay as they are). */
export function returnLeadToPool(leadId: number, now: Date): Sql {
  return {
    text: `UPDATE leads SET status = 'pool', updated_at = $2 WHERE id = $1 AND status = 'conflict'`,
    values: [leadId, now],
  };
}

export function selectDealOwner(dealId: number): Sql<{ owner_member_id: string | null }> {
  return { text: 'SELECT owner_member_id FROM deals WHERE id = $1', values: [dealId] };
}

