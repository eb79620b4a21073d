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
export function selectRoutingLeads(ids: readonly number[]): Sql<RoutingLeadRow> {
  return {
    text: `SELECT l.id, l.status, l.email, l.country, l.region, l.company, l.title, l.score, l.intent_weights,
        COALESCE((SELECT json_agg(json_build_object('dealId', d.id::text, 'pipelineId', d.pipeline_id))
                  FROM deals d WHERE d.lead_id = l.id AND d.status = 'open'), '[]') AS open_deals,
        (SELECT c.id FROM routing_conflicts c WHERE c.lead_id = l.id AND c.resolved_at IS NULL) AS open_conflict_id
      FROM leads l WHERE l.id = ANY($1::bigint[]) ORDER BY l.id`,
    values: [ids],
  };
}

export interface DealInsert {
  leadId: number;
  pipelineId: string;
  stageId: string;
  reasons: unknown;
  rulesetVersion: string;
}

/** Opens deals in their pipelines' first stage; a lead's existing open deal in a pipeline wins (no row returned). */
export function insertDeals(deals: readonly DealInsert[], now: Date): Sql<{ id: number; lead_id: number; pipeline_id: string }> {
  return {
    text: `INSERT INTO deals (lead_id, pipeline_id, stage_id, routing_reasons, ruleset_version, created_at, stage_entered_at, updated_at)
      SELECT u.lead_id, u.pipeline_id, u.stage_id, u.reasons, u.ruleset_version, $2, $2, $2
      FROM jsonb_to_recordset($1::jsonb) AS u(lead_id bigint, pipeline_id text, stage_id text, reasons jsonb, ruleset_version text)
      ORDER BY u.lead_id, u.pipeline_id
      ON CONFLICT (lead_id, pipeline_id) WHERE status = 'open' DO NOTHING
      RETURNING id, lead_id, pipeline_id`,
    values: [
      JSON.stringify(
        deals.map((d) => ({
          lead_id: d.leadId,
          pipeline_id: d.pipelineId,
          stage_id: d.stageId,
          reasons: d.reasons,
          ruleset_version: d.rulesetVersion,
        })),
      ),
      now,
    ],
  };
}

export function insertStageHistories(
  rows: readonly { dealId: number; from: string | null; to: string; cause: string }[],
  at: Date,
): Sql {
  return {
    text: `INSERT INTO deal_stage_history (deal_id, from_stage, to_stage, entered_at, cause)
      SELECT u.deal_id, u.from_stage, u.to_stage, $2, u.cause
      FROM jsonb_to_recordset($1::jsonb) AS u(deal_id bigint, from_stage text, to_stage text, cause text)`,
    values: [
      JSON.stringify(rows.map((r) => ({ deal_id: r.dealId, from_stage: r.from, to_stage: r.to, cause: r.cause }))),
      at,
    ],
  };
}

/** Marks leads routed; an owner given replaces the lead's, none keeps it. Leads are updated in id order. */
export function markLeadsRouted(rows: readonly { leadId: number; ownerMemberId: string | null }[], now: Date): Sql {
  return {
    text: `UPDATE leads SET status = 'routed', owner_member_id = COALESCE(u.owner_member_id, leads.owner_member_id),
        routed_at = COALESCE(leads.routed_at, $2), updated_at = $2
      FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(lead_id bigint, owner_member_id text) ORDER BY lead_id) AS u
      WHERE leads.id = u.lead_id`,
    values: [JSON.stringify(rows.map((r) => ({ lead_id: r.leadId, owner_member_id: r.ownerMemberId }))), now],
  };
}

/** Marks leads as waiting on a manager's decision. */
export function markLeadsInConflict(leadIds: readonly number[], now: Date): Sql {
  return {
    text: `UPDATE leads SET status = 'conflict', updated_at = $2
      FROM (SELECT unnest($1::bigint[]) AS id ORDER BY 1) AS u WHERE leads.id = u.id`,
    values: [leadIds, now],
  };
}

export interface RoutingDecisionInsert {
  leadId: number;
  kind: string;
  pipelineId: string | null;
  cause: string | null;
  reasons: unknown;
  explanation: string[];
  rulesetVersion: string;
}

export function insertRoutingDecisions(rows: readonly RoutingDecisionInsert[], now: Date): Sql {
  return {
    text: `INSERT INTO routing_decisions (lead_id, kind, pipeline_id, cause, reasons, explanation, ruleset_version, created_at)
      SELECT u.lead_id, u.kind, u.pipeline_id, u.cause, u.reasons, ARRAY(SELECT jsonb_array_elements_text(u.explanation)),
        u.ruleset_version, $2
      FROM jsonb_to_recordset($1::jsonb)
        AS u(lead_id bigint, kind text, pipeline_id text, cause text, reasons jsonb, explanation jsonb, ruleset_version text)`,
    values: [
      JSON.stringify(
        rows.map((r) => ({
          lead_id: r.leadId,
          kind: r.kind,
          pipeline_id: r.pipelineId,
          cause: r.cause,
          reasons: r.reasons,
          explanation: r.explanation,
          ruleset_version: r.rulesetVersion,
        })),
      ),
      now,
    ],
  };
}

export interface ConflictUpsert {
  leadId: number;
  conflictKey: string;
  cause: string;
  candidates: unknown;
  reasons: unknown;
}

/**
 * Opens a conflict per lead, or refreshes the lead's open one when the ambiguity changed; a decided
 * one stays decided. Returns the leads whose conflict was opened or changed.
 */
export function upsertConflicts(rows: readonly ConflictUpsert[], rulesetVersion: string, now: Date): Sql<{ lead_id: number }> {
  return {
    text: `INSERT INTO routing_conflicts (lead_id, conflict_key, cause, candidates, reasons, ruleset_version, created_at)
      SELECT u.lead_id, u.conflict_key, u.cause, u.candidates, u.reasons, $2, $3
      FROM jsonb_to_recordset($1::jsonb) AS u(lead_id bigint, conflict_key text, cause text, candidates jsonb, reasons jsonb)
      -- A manager who already decided this same ambiguity is not asked again.
      WHERE NOT EXISTS (
        SELECT 1 FROM routing_conflicts c
        WHERE c.lead_id = u.lead_id AND c.conflict_key = u.conflict_key AND c.resolved_at IS NOT NULL
      )
      ORDER BY u.lead_id
      ON CONFLICT (lead_id) WHERE resolved_at IS NULL DO UPDATE
        SET conflict_key = EXCLUDED.conflict_key, cause = EXCLUDED.cause, candidates = EXCLUDED.candidates,
            reasons = EXCLUDED.reasons, ruleset_version = EXCLUDED.ruleset_version
        WHERE routing_conflicts.conflict_key <> EXCLUDED.conflict_key
      RETURNING lead_id`,
    values: [
      JSON.stringify(
        rows.map((r) => ({
          lead_id: r.leadId,
          conflict_key: r.conflictKey,
          cause: r.cause,
          candidates: r.candidates,
          reasons: r.reasons,
        })),
      ),
      rulesetVersion,
      now,
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

/** The deals to assign with their leads' territory facts, locked in id order. */
export function lockDealsForAssignment(dealIds: readonly number[]): Sql<DealForAssignment> {
  return {
    text: `SELECT d.id, d.lead_id, d.pipeline_id, l.country, l.region
      FROM deals d JOIN leads l ON l.id = d.lead_id WHERE d.id = ANY($1::bigint[]) ORDER BY d.id FOR NO KEY UPDATE OF d`,
    values: [dealIds],
  };
}

/** Creates the pipelines' ledgers on first use. */
export function ensureLedgers(pipelineIds: readonly string[]): Sql {
  return {
    text: `INSERT INTO assignment_ledgers (pipeline_id) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT DO NOTHING`,
    values: [pipelineIds],
  };
}

/**
 * Locks the pipelines' ledgers in pipeline order (the lock follows the sort): one assignment at a
 * time per pipeline across all workers, and two batches never wait on each other in a cycle.
 * `nowait` fails at once (55P03) instead of waiting, for a transaction that already holds a ledger
 * sorting after these (see lockLedgersInOrder).
 */
export function lockLedgers(pipelineIds: readonly string[], nowait = false): Sql<{ pipeline_id: string; seq: number }> {
  return {
    text: `SELECT pipeline_id, seq FROM assignment_ledgers WHERE pipeline_id = ANY($1::text[]) ORDER BY pipeline_id FOR UPDATE${nowait ? ' NOWAIT' : ''}`,
    values: [pipelineIds],
  };
}

export interface LedgerRecordRow {
  pipeline_id: string;
  member_id: string;
  received: number;
  deficit: number;
  present: boolean;
  last_assigned_seq: number | null;
}

export function selectLedgerRows(pipelineIds: readonly string[]): Sql<LedgerRecordRow> {
  return {
    text: `SELECT pipeline_id, member_id, received, deficit, present, last_assigned_seq
      FROM assignment_ledger_rows WHERE pipeline_id = ANY($1::text[]) ORDER BY pipeline_id, member_id`,
    values: [pipelineIds],
  };
}

export interface LedgerSave {
  pipelineId: string;
  seq: number;
  rows: readonly {
    memberId: string;
    received: number;
    deficit: number;
    present: boolean;
    lastAssignedSeq: number | null;
  }[];
}

/** Stores the ledgers' sequence numbers and every member row. */
export function saveLedgers(ledgers: readonly LedgerSave[], now: Date): Sql {
  return {
    text: `WITH ledger AS (
        UPDATE assignment_ledgers l SET seq = u.seq, updated_at = $3
        FROM jsonb_to_recordset($1::jsonb) AS u(pipeline_id text, seq bigint) WHERE l.pipeline_id = u.pipeline_id
      )
      INSERT INTO assignment_ledger_rows (pipeline_id, member_id, received, deficit, present, last_assigned_seq, updated_at)
      SELECT u.pipeline_id, u.member_id, u.received, u.deficit, u.present, u.last_assigned_seq, $3
      FROM jsonb_to_recordset($2::jsonb)
        AS u(pipeline_id text, member_id text, received int, deficit float8, present boolean, last_assigned_seq bigint)
      ORDER BY u.pipeline_id, u.member_id
      ON CONFLICT (pipeline_id, member_id) DO UPDATE SET received = EXCLUDED.received, deficit = EXCLUDED.deficit,
        present = EXCLUDED.present, last_assigned_seq = EXCLUDED.last_assigned_seq, updated_at = EXCLUDED.updated_at`,
    values: [
      JSON.stringify(ledgers.map((l) => ({ pipeline_id: l.pipelineId, seq: l.seq }))),
      JSON.stringify(
        ledgers.flatMap((l) =>
          l.rows.map((r) => ({
            pipeline_id: l.pipelineId,
            member_id: r.memberId,
            received: r.received,
            deficit: r.deficit,
            present: r.present,
            last_assigned_seq: r.lastAssignedSeq,
          })),
        ),
      ),
      now,
    ],
  };
}

export interface PresenceRecordRow {
  member_id: string;
  open_deals: number;
  status_emoji: string | null;
  status_text: string | null;
  status_expires_at: Date | null;
  away_until: Date | null;
  deactivated: boolean;
}

/** Presence plus open deals per member (capacity counts open deals across all pipelines). */
export function selectPresence(): Sql<PresenceRecordRow> {
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

/**
 * Gives deals their owner (or queue) and, with `leadOwners` (one row per lead), their leads too;
 * routing passes none because it sets lead owners when it marks the leads routed.
 */
export function setDealOwners(
  deals: readonly { dealId: number; memberId: string | null; queue: string | null }[],
  leadOwners: readonly { leadId: number; memberId: string }[],
  now: Date,
): Sql {
  return {
    text: `WITH deal AS (
        UPDATE deals SET owner_member_id = u.member_id, owner_queue = u.queue, updated_at = $3
        FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(deal_id bigint, member_id text, queue text) ORDER BY deal_id) AS u
        WHERE deals.id = u.deal_id
      )
      UPDATE leads SET owner_member_id = u.member_id, updated_at = $3
      FROM (SELECT * FROM jsonb_to_recordset($2::jsonb) AS r(lead_id bigint, member_id text) ORDER BY lead_id) AS u
      WHERE leads.id = u.lead_id`,
    values: [
      JSON.stringify(deals.map((r) => ({ deal_id: r.dealId, member_id: r.memberId, queue: r.queue }))),
      JSON.stringify(leadOwners.map((r) => ({ lead_id: r.leadId, member_id: r.memberId }))),
      now,
    ],
  };
}

export interface AssignmentInsert {
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
}

export function insertAssignments(rows: readonly AssignmentInsert[], now: Date): Sql {
  return {
    text: `INSERT INTO assignments (deal_id, lead_id, pipeline_id, outcome_kind, member_id, queue, strategy, candidates,
        explanation, cause, ruleset_version, seq, created_at)
      SELECT u.deal_id, u.lead_id, u.pipeline_id, u.outcome_kind, u.member_id, u.queue, u.strategy, u.candidates,
        ARRAY(SELECT jsonb_array_elements_text(u.explanation)), u.cause, u.ruleset_version, u.seq, $2
      FROM jsonb_to_recordset($1::jsonb) AS u(deal_id bigint, lead_id bigint, pipeline_id text, outcome_kind text,
        member_id text, queue text, strategy text, candidates jsonb, explanation jsonb, cause text, ruleset_version text, seq bigint)`,
    values: [
      JSON.stringify(
        rows.map((r) => ({
          deal_id: r.dealId,
          lead_id: r.leadId,
          pipeline_id: r.pipelineId,
          outcome_kind: r.outcomeKind,
          member_id: r.memberId,
          queue: r.queue,
          strategy: r.strategy,
          candidates: r.candidates,
          explanation: r.explanation,
          cause: r.cause,
          ruleset_version: r.rulesetVersion,
          seq: r.seq,
        })),
      ),
      now,
    ],
  };
}
