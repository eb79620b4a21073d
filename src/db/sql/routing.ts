import type { Sql } from '../pool.ts';

export interface RoutingLeadRow {
  id: number;
  status: string;
  email: string | null;
  country: string | null;
  region: string | null;
  company: string | null;
  title: string | null;
  score: number;
  intent_weights: Record<string, number>;
  open_deals: { dealId: string; pipelineId: string }[];
  open_conflict_id: number | null;
}

/** Routing state of many leads: status, the facts routing reads, open deals and any open conflict. */
export function selectRoutingLeads(ids: readonly number[]): Sql {
  return {
    text: `SELECT l.id, l.status, l.email, l.country, l.region, l.company, l.title, l.score, l.intent_weights,
        COALESCE((SELECT json_agg(json_build_object('dealId', d.id::text, 'pipelineId', d.pipeline_id))
                  FROM deals d WHERE d.lead_id = l.id AND d.status = 'open'), '[]') AS open_deals,
        (SELECT c.id FROM routing_conflicts c WHERE c.lead_id = l.id AND c.resolved_at IS NULL) AS open_conflict_id
      FROM leads l WHERE l.id = ANY($1::bigint[]) ORDER BY l.id`,
    values: [ids],
  };
}

export function insertDeal(deal: {
  leadId: number;
  pipelineId: string;
  stageId: string;
  reasons: unknown;
  rulesetVersion: string;
  now: Date;
}): Sql {
  return {
    text: `INSERT INTO deals (lead_id, pipeline_id, stage_id, routing_reasons, ruleset_version, created_at, stage_entered_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $6, $6)
      ON CONFLICT (lead_id, pipeline_id) WHERE status = 'open' DO NOTHING
      RETURNING id`,
    values: [
      deal.leadId,
      deal.pipelineId,
      deal.stageId,
      JSON.stringify(deal.reasons),
      deal.rulesetVersion,
      deal.now,
    ],
  };
}

export function insertStageHistory(
  dealId: number,
  from: string | null,
  to: string,
  at: Date,
  cause: string,
): Sql {
  return {
    text: `INSERT INTO deal_stage_history (deal_id, from_stage, to_stage, entered_at, cause) VALUES ($1, $2, $3, $4, $5)`,
    values: [dealId, from, to, at, cause],
  };
}

export function markLeadRouted(leadId: number, ownerMemberId: string | null, now: Date): Sql {
  return {
    text: `UPDATE leads SET status = 'routed', owner_member_id = COALESCE($2, owner_member_id),
        routed_at = COALESCE(routed_at, $3), updated_at = $3
      WHERE id = $1`,
    values: [leadId, ownerMemberId, now],
  };
}

export function markLeadStatus(leadId: number, status: 'pool' | 'conflict', now: Date): Sql {
  return {
    text: 'UPDATE leads SET status = $2, updated_at = $3 WHERE id = $1',
    values: [leadId, status, now],
  };
}

export function insertRoutingDecision(row: {
  leadId: number;
  kind: string;
  pipelineId: string | null;
  cause: string | null;
  reasons: unknown;
  explanation: string[];
  rulesetVersion: string;
  now: Date;
}): Sql {
  return {
    text: `INSERT INTO routing_decisions (lead_id, kind, pipeline_id, cause, reasons, explanation, ruleset_version, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    values: [
      row.leadId,
      row.kind,
      row.pipelineId,
      row.cause,
      JSON.stringify(row.reasons),
      row.explanation,
      row.rulesetVersion,
      row.now,
    ],
  };
}

/** Opens a conflict, or refreshes the lead's open one when the ambiguity changed; a decided one stays decided. */
export function upsertConflict(row: {
  leadId: number;
  conflictKey: string;
  cause: string;
  candidates: unknown;
  reasons: unknown;
  rulesetVersion: string;
  now: Date;
}): Sql {
  return {
    text: `INSERT INTO routing_conflicts (lead_id, conflict_key, cause, candidates, reasons, ruleset_version, created_at)
      SELECT $1, $2, $3, $4, $5, $6, $7
      -- A manager who already decided this same ambiguity is not asked again.
      WHERE NOT EXISTS (
        SELECT 1 FROM routing_conflicts
        WHERE lead_id = $1 AND conflict_key = $2 AND resolved_at IS NOT NULL
      )
      ON CONFLICT (lead_id) WHERE resolved_at IS NULL DO UPDATE
        SET conflict_key = EXCLUDED.conflict_key, cause = EXCLUDED.cause, candidates = EXCLUDED.candidates,
            reasons = EXCLUDED.reasons, ruleset_version = EXCLUDED.ruleset_version
        WHERE routing_conflicts.conflict_key <> EXCLUDED.conflict_key
      RETURNING id, (xmax = 0) AS created`,
    values: [
      row.leadId,
      row.conflictKey,
      row.cause,
      JSON.stringify(row.candidates),
      JSON.stringify(row.reasons),
      row.rulesetVersion,
      row.now,
    ],
  };
}

export interface DealForAssignment {
  id: number;
  lead_id: number;
  pipeline_id: string;
  country: string | null;
  region: string | null;
}

export function selectDealForAssignment(dealId: number): Sql {
  return {
    text: `SELECT d.id, d.lead_id, d.pipeline_id, l.country, l.region
      FROM deals d JOIN leads l ON l.id = d.lead_id WHERE d.id = $1 FOR UPDATE OF d`,
    values: [dealId],
  };
}

/** Creates the pipeline's ledger on first use. */
export function ensureLedger(pipelineId: string): Sql {
  return {
    text: 'INSERT INTO assignment_ledgers (pipeline_id) VALUES ($1) ON CONFLICT DO NOTHING',
    values: [pipelineId],
  };
}

/** Locks the pipeline's ledger: one assignment at a time per pipeline, across all workers. */
export function lockLedger(pipelineId: string): Sql {
  return {
    text: 'SELECT seq FROM assignment_ledgers WHERE pipeline_id = $1 FOR UPDATE',
    values: [pipelineId],
  };
}

export function selectLedgerRows(pipelineId: string): Sql {
  return {
    text: `SELECT member_id, received, deficit, present, last_assigned_seq
      FROM assignment_ledger_rows WHERE pipeline_id = $1 ORDER BY member_id`,
    values: [pipelineId],
  };
}

export function saveLedger(
  pipelineId: string,
  seq: number,
  rows: readonly {
    memberId: string;
    received: number;
    deficit: number;
    present: boolean;
    lastAssignedSeq: number | null;
  }[],
  now: Date,
): Sql {
  return {
    text: `WITH ledger AS (
        UPDATE assignment_ledgers SET seq = $2, updated_at = $4 WHERE pipeline_id = $1
      )
      INSERT INTO assignment_ledger_rows (pipeline_id, member_id, received, deficit, present, last_assigned_seq, updated_at)
      SELECT $1, u.member_id, u.received, u.deficit, u.present, u.last_assigned_seq, $4
      FROM jsonb_to_recordset($3::jsonb) AS u(member_id text, received int, deficit float8, present boolean, last_assigned_seq bigint)
      ON CONFLICT (pipeline_id, member_id) DO UPDATE SET received = EXCLUDED.received, deficit = EXCLUDED.deficit,
        present = EXCLUDED.present, last_assigned_seq = EXCLUDED.last_assigned_seq, updated_at = EXCLUDED.updated_at`,
    values: [
      pipelineId,
      seq,
      JSON.stringify(
        rows.map((r) => ({
          member_id: r.memberId,
          received: r.received,
          deficit: r.deficit,
          present: r.present,
          last_assigned_seq: r.lastAssignedSeq,
        })),
      ),
      now,
    ],
  };
}

/** Presence plus open deals per member (capacity counts open deals across all pipelines). */
export function selectPresence(): Sql {
  return {
    text: `WITH open AS (
        SELECT owner_member_id AS member_id, count(*)::int AS open_deals
        FROM deals WHERE status = 'open' AND owner_member_id IS NOT NULL GROUP BY owner_member_id
      )
      SELECT COALESCE(p.member_id, o.member_id) AS member_id, COALESCE(o.open_deals, 0) AS open_deals,
        p.status_emoji, p.status_text, p.status_expires_at, p.away_until, COALESCE(p.deactivated, false) AS deactivated
      FROM team_presence p FULL JOIN open o ON o.member_id = p.member_id`,
    values: [],
  };
}

export function setDealOwner(dealId: number, memberId: string | null, queue: string | null, now: Date): Sql {
  return {
    text: `WITH deal AS (
        UPDATE deals SET owner_member_id = $2, owner_queue = $3, updated_at = $4 WHERE id = $1 RETURNING lead_id
      )
      UPDATE leads SET owner_member_id = COALESCE($2, leads.owner_member_id), updated_at = $4
      FROM deal WHERE leads.id = deal.lead_id`,
    values: [dealId, memberId, queue, now],
  };
}

export function insertAssignment(row: {
  dealId: number;
  leadId: number;
  pipelineId: string;
  outcomeKind: string;
  memberId: string | null;
  queue: string | null;
  strategy: string;
  candidates: unknown;
  explanation: string[];
  cause: string;
  rulesetVersion: string;
  seq: number | null;
  now: Date;
}): Sql {
  return {
    text: `INSERT INTO assignments (deal_id, lead_id, pipeline_id, outcome_kind, member_id, queue, strategy, candidates,
        explanation, cause, ruleset_version, seq, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    values: [
      row.dealId,
      row.leadId,
      row.pipelineId,
      row.outcomeKind,
      row.memberId,
      row.queue,
      row.strategy,
      JSON.stringify(row.candidates),
      row.explanation,
      row.cause,
      row.rulesetVersion,
      row.seq,
      row.now,
    ],
  };
}
