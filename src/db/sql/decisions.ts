import type { Sql } from '../pool.ts';

/**
 * Reads of the stored decisions for `/lead why` and `/lead fairness`: routing decisions,
 * assignments (owner decisions), alert claims and presence. Nothing here writes.
 */

export interface DecisionRow {
  source: 'route' | 'owner';
  id: number;
  created_at: Date;
  /** Routing: route / keep / pool / conflict. Owner: member / fallback_owner / queue / unassigned. */
  kind: string;
  pipeline_id: string | null;
  deal_id: number | null;
  member_id: string | null;
  /** The deal's owner by the assignment before this one (owner decisions only). */
  previous_member_id: string | null;
  queue: string | null;
  strategy: string | null;
  cause: string | null;
  explanation: string[];
  ruleset_version: string;
  /** Every decision stored for the lead, however many are returned. */
  total: number;
}

/**
 * A lead's routing and owner decisions, newest first (routing_decisions_lead_idx,
 * assignments_lead_idx). In one transaction a route precedes its assignment, so at equal times
 * the owner decision sorts first. The previous owner is looked up over the deal's whole history
 * before the limit applies.
 */
export function selectLeadDecisions(leadId: number, limit: number): Sql<DecisionRow> {
  return {
    text: `WITH d AS (
        SELECT 'route' AS source, r.id, r.created_at, r.kind, r.pipeline_id, NULL::bigint AS deal_id,
          NULL::text AS member_id, NULL::text AS previous_member_id, NULL::text AS queue, NULL::text AS strategy,
          r.cause, r.explanation, r.ruleset_version
        FROM routing_decisions r WHERE r.lead_id = $1
        UNION ALL
        SELECT 'owner', a.id, a.created_at, a.outcome_kind, a.pipeline_id, a.deal_id, a.member_id,
          lag(a.member_id) OVER (PARTITION BY a.deal_id ORDER BY a.created_at, a.id), a.queue, a.strategy,
          a.cause, a.explanation, a.ruleset_version
        FROM assignments a WHERE a.lead_id = $1
      )
      SELECT source, id::int, created_at, kind, pipeline_id, deal_id::int, member_id, previous_member_id, queue,
        strategy, cause, explanation, ruleset_version, (count(*) OVER ())::int AS total
      FROM d ORDER BY created_at DESC, (source = 'owner') DESC, id DESC LIMIT $2`,
    values: [leadId, limit],
  };
}

export interface ReceivedRow {
  pipeline_id: string;
  member_id: string;
  /** Given by the pipeline's strategy (what the target share is about). */
  received: number;
  /** Named by a person or rule: claims, `/lead assign`, Reassign. */
  by_hand: number;
}

/** Deals each member was given per pipeline in `[from, to]`. */
export function selectReceived(from: Date, to: Date): Sql<ReceivedRow> {
  return {
    text: `SELECT pipeline_id, member_id,
        (count(*) FILTER (WHERE strategy <> 'manual'))::int AS received,
        (count(*) FILTER (WHERE strategy = 'manual'))::int AS by_hand
      FROM assignments
      WHERE created_at >= $1 AND created_at <= $2 AND outcome_kind = 'member' AND member_id IS NOT NULL
      GROUP BY 1, 2 ORDER BY 1, 2`,
    values: [from, to],
  };
}

/**
 * Deals taken from each member per pipeline in `[from, to]`: an assignment in the window whose
 * deal's previous assignment named someone else (another member, a queue or nobody). The previous
 * assignment may be older than the window.
 */
export function selectReassignedAway(
  from: Date,
  to: Date,
): Sql<{ pipeline_id: string; member_id: string; reassigned: number }> {
  return {
    text: `WITH moved AS (
        SELECT pipeline_id, member_id, created_at,
          lag(member_id) OVER (PARTITION BY deal_id ORDER BY created_at, id) AS previous
        FROM assignments
        WHERE deal_id IN (SELECT deal_id FROM assignments WHERE created_at >= $1 AND created_at <= $2)
      )
      SELECT pipeline_id, previous AS member_id, count(*)::int AS reassigned
      FROM moved
      WHERE created_at >= $1 AND created_at <= $2 AND previous IS NOT NULL AND previous IS DISTINCT FROM member_id
      GROUP BY 1, 2 ORDER BY 1, 2`,
    values: [from, to],
  };
}

export interface ClaimRow {
  pipeline_id: string;
  slack_user_id: string;
  claims: number;
  /** Claimed no later than the alert's claim deadline (`sla_due_at`). */
  within_sla: number;
}

/**
 * Alerts claimed in `[from, to]` per claimer and pipeline. Alerts carry no pipeline: one counts
 * for every pipeline the lead has a deal in, and a lead without deals counts for none.
 */
export function selectClaims(from: Date, to: Date): Sql<ClaimRow> {
  return {
    text: `SELECT p.pipeline_id, a.claimed_by_slack_user AS slack_user_id, count(*)::int AS claims,
        (count(*) FILTER (WHERE a.claimed_at <= a.sla_due_at))::int AS within_sla
      FROM lead_alerts a
      JOIN LATERAL (SELECT DISTINCT d.pipeline_id FROM deals d WHERE d.lead_id = a.lead_id) p ON true
      WHERE a.claimed_at >= $1 AND a.claimed_at <= $2 AND a.claimed_by_slack_user IS NOT NULL
      GROUP BY 1, 2 ORDER BY 1, 2`,
    values: [from, to],
  };
}

/** Members whose `/lead away` runs past `now`: the only presence Leadline keeps is the current one. */
export function selectAwayNow(now: Date): Sql<{ member_id: string; away_until: Date }> {
  return {
    text: 'SELECT member_id, away_until FROM team_presence WHERE away_until > $1 ORDER BY member_id',
    values: [now],
  };
}

export interface PresenceChangeRow {
  member: string;
  action: 'presence.away' | 'presence.back';
  until: string | null;
  created_at: Date;
}

/** Away and back changes up to `to`, oldest first: the last one before `from` says how the window began. */
export function selectPresenceChanges(to: Date): Sql<PresenceChangeRow> {
  return {
    text: `SELECT detail->>'member' AS member, action, detail->>'until' AS until, created_at
      FROM audit_log WHERE action IN ('presence.away', 'presence.back') AND created_at <= $1
      ORDER BY created_at, id`,
    values: [to],
  };
}
