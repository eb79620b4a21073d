import type { Sql } from '../pool.ts';

/** The daily digest's counts over `[from, to)`. */
export interface DigestCountsRow {
  new_leads: number;
  hot_leads: number;
  claimed: number;
  unclaimed: number;
  median_claim_seconds: number | null;
  sla_breaches: number;
  conflicts_resolved: number;
  deals_created: number;
  deals_won: number;
}

/**
 * One row of counts over `[from, to)`:
 * - new leads: created in the window (leads_created_at_idx);
 * - hot leads: distinct leads that crossed the hot threshold upwards (lead_changes_threshold_idx);
 * - claimed / unclaimed: alerts raised in the window that were claimed / are still open or snoozed;
 * - median time to claim: over alerts claimed in the window, from alert to claim;
 * - SLA breaches: alerts raised in the window whose SLA chain started (sla_step ≥ 1);
 * - conflicts resolved, deals created and deals won in the window.
 */
export function selectDigestCounts(from: Date, to: Date, hotThreshold: string): Sql<DigestCountsRow> {
  const window = (column: string) => `${column} >= $1 AND ${column} < $2`;
  return {
    text: `SELECT
        (SELECT count(*)::int FROM leads WHERE ${window('created_at')}) AS new_leads,
        (SELECT count(DISTINCT lead_id)::int FROM lead_changes
          WHERE kind = 'threshold_crossed' AND ${window('created_at')}
            AND detail->>'threshold' = $3 AND detail->>'direction' = 'up') AS hot_leads,
        (SELECT count(*)::int FROM lead_alerts WHERE ${window('created_at')} AND claimed_at IS NOT NULL) AS claimed,
        (SELECT count(*)::int FROM lead_alerts WHERE ${window('created_at')} AND state IN ('open', 'snoozed')) AS unclaimed,
        (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM claimed_at - created_at))::float8
          FROM lead_alerts WHERE ${window('claimed_at')}) AS median_claim_seconds,
        (SELECT count(*)::int FROM lead_alerts WHERE ${window('created_at')} AND sla_step >= 1) AS sla_breaches,
        (SELECT count(*)::int FROM routing_conflicts WHERE ${window('resolved_at')}) AS conflicts_resolved,
        (SELECT count(*)::int FROM deals WHERE ${window('created_at')}) AS deals_created,
        (SELECT count(*)::int FROM deals WHERE status = 'won' AND ${window('closed_at')}) AS deals_won`,
    values: [from, to, hotThreshold],
  };
}

/** New leads per first-touch source in the window, most first. */
export function selectTopSources(from: Date, to: Date, limit: number): Sql<{ source: string; leads: number }> {
  return {
    text: `SELECT COALESCE(first_touch_source, 'unknown') AS source, count(*)::int AS leads
      FROM leads WHERE created_at >= $1 AND created_at < $2
      GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $3`,
    values: [from, to, limit],
  };
}

/** Leads the rotation gave each member per pipeline in the window (manual and fallback picks aside). */
export function selectRotationCounts(from: Date, to: Date): Sql<{ pipeline_id: string; member_id: string; received: number }> {
  return {
    text: `SELECT pipeline_id, member_id, count(*)::int AS received
      FROM assignments
      WHERE created_at >= $1 AND created_at < $2 AND outcome_kind = 'member' AND strategy <> 'manual'
        AND member_id IS NOT NULL
      GROUP BY 1, 2 ORDER BY 1, 2`,
    values: [from, to],
  };
}

/** The slot a job ran for before `slot` (slots sort as text: `YYYY-MM-DDTHH:MM`). */
export function selectPreviousSlot(job: string, slot: string): Sql<{ slot: string | null }> {
  return {
    text: 'SELECT max(slot) AS slot FROM job_slots WHERE job = $1 AND slot < $2',
    values: [job, slot],
  };
}

/** Won deals' value per currency, closed in the window (deals_closed_at_idx). */
export function selectRevenueWon(from: Date, to: Date): Sql<{ currency: string | null; amount: number }> {
  return {
    text: `SELECT currency, COALESCE(sum(value), 0)::float8 AS amount FROM deals
      WHERE status = 'won' AND closed_at >= $1 AND closed_at < $2 GROUP BY currency ORDER BY currency NULLS FIRST`,
    values: [from, to],
  };
}

/** Open deals' value per pipeline, stage and currency: the weights per stage come from the ruleset. */
export function selectOpenPipelineValue(): Sql<{ pipeline_id: string; stage_id: string; currency: string | null; amount: number }> {
  return {
    text: `SELECT pipeline_id, stage_id, currency, COALESCE(sum(value), 0)::float8 AS amount FROM deals
      WHERE status = 'open' AND value IS NOT NULL GROUP BY pipeline_id, stage_id, currency`,
    values: [],
  };
}
