import type { Sql } from '../pool.ts';

/** A line of the offer a won deal becomes (from the ruleset's products, or typed in the modal). */
export interface LineItem {
  title: string;
  quantity: number;
  unit: string;
  unit_price: number;
}

/** The columns every read of a deal for a change or a message carries. */
export interface DealColumns {
  id: number;
  lead_id: number;
  pipeline_id: string;
  stage_id: string;
  status: 'open' | 'won' | 'lost';
  owner_member_id: string | null;
  value: number | null;
}

export interface DealCloseRow extends DealColumns {
  currency: string | null;
  closed_at: Date | null;
  stage_entered_at: Date;
}

const CLOSE_COLUMNS = `id, lead_id, pipeline_id, stage_id, status, owner_member_id, value::float8 AS value,
  currency, closed_at, stage_entered_at`;

/** One deal, locked for a close or a reopen (the caller locked its lead first). */
export function lockDealForClose(dealId: number): Sql<DealCloseRow> {
  return { text: `SELECT ${CLOSE_COLUMNS} FROM deals WHERE id = $1 FOR NO KEY UPDATE`, values: [dealId] };
}

/** The lead's deals, open ones first, then the most recently closed: what `/lead won|lost|reopen` acts on. */
export function selectLeadDealsForClose(leadId: number): Sql<DealCloseRow> {
  return {
    text: `SELECT ${CLOSE_COLUMNS} FROM deals WHERE lead_id = $1
      ORDER BY (status = 'open') DESC, closed_at DESC NULLS LAST, created_at DESC, id DESC`,
    values: [leadId],
  };
}

/**
 * Closes a deal that is still open (a concurrent close matches nothing and returns no row): won or
 * lost, when and by whom, and, when given, the amount, currency, line items and the lost reason.
 */
export function closeDealRow(close: {
  dealId: number;
  status: 'won' | 'lost';
  closedAt: Date;
  closedBy: string;
  value: number | null;
  currency: string | null;
  lineItems: readonly LineItem[] | null;
  lostReason: string | null;
}): Sql<{ id: number }> {
  return {
    text: `UPDATE deals SET status = $2, closed_at = $3, closed_by = $4,
        value = COALESCE($5::numeric, value), currency = COALESCE($6, currency),
        line_items = COALESCE($7::jsonb, line_items), lost_reason = COALESCE($8, lost_reason), updated_at = $3
      WHERE id = $1 AND status = 'open' RETURNING id`,
    values: [
      close.dealId,
      close.status,
      close.closedAt,
      close.closedBy,
      close.value,
      close.currency,
      close.lineItems === null ? null : JSON.stringify(close.lineItems),
      close.lostReason,
    ],
  };
}

/**
 * Opens a closed deal again in `stageId`, recording the visit; refused (no row) while the lead
 * has another open deal in the pipeline, which the one-open-deal-per-pipeline index would reject.
 */
export function reopenDealRow(dealId: number, stageId: string, cause: string, now: Date): Sql<{ id: number }> {
  return {
    text: `WITH reopened AS (
        UPDATE deals d SET status = 'open', closed_at = NULL, closed_by = NULL, lost_reason = NULL,
          stage_id = $2, stage_entered_at = $4, updated_at = $4
        WHERE d.id = $1 AND d.status <> 'open'
          AND NOT EXISTS (SELECT 1 FROM deals o WHERE o.lead_id = d.lead_id AND o.pipeline_id = d.pipeline_id
            AND o.status = 'open' AND o.id <> d.id)
        RETURNING d.id, d.stage_id
      )
      INSERT INTO deal_stage_history (deal_id, from_stage, to_stage, entered_at, cause)
      SELECT id, NULL, $2, $4, $3 FROM reopened RETURNING deal_id AS id`,
    values: [dealId, stageId, cause, now],
  };
}

/** The last open stage a deal was in before it closed: where a reopened deal goes back to. */
export function selectLastOpenStage(dealId: number, closingStages: readonly string[]): Sql<{ to_stage: string }> {
  return {
    text: `SELECT CASE WHEN to_stage = ANY($2::text[]) THEN from_stage ELSE to_stage END AS to_stage
      FROM deal_stage_history WHERE deal_id = $1 ORDER BY entered_at DESC, id DESC LIMIT 1`,
    values: [dealId, closingStages],
  };
}

export interface DealNoticeRow extends DealColumns {
  currency: string | null;
  closed_by: string | null;
  lost_reason: string | null;
  line_items: LineItem[];
  full_name: string | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  company: string | null;
  title: string | null;
}

/** A deal with its lead's name, as the won / lost message shows it. */
export function selectDealNotice(dealId: number): Sql<DealNoticeRow> {
  return {
    text: `SELECT d.id, d.lead_id, d.pipeline_id, d.stage_id, d.status, d.owner_member_id, d.value::float8 AS value,
        d.currency, d.closed_by, d.lost_reason, d.line_items,
        l.full_name, l.first_name, l.last_name, l.email, l.company, l.title
      FROM deals d JOIN leads l ON l.id = d.lead_id WHERE d.id = $1`,
    values: [dealId],
  };
}

/** Which lead a deal belongs to, without a lock: the lead is locked first, then the deal. */
export function selectDealLead(dealId: number): Sql<{ lead_id: number }> {
  return { text: 'SELECT lead_id FROM deals WHERE id = $1', values: [dealId] };
}

/** The lead's deal MOCO knows by `mocoDealId`, else its newest open deal: what a deal webhook closes. */
export function selectDealToClose(leadId: number, mocoDealId: string | null): Sql<{ id: number; status: string }> {
  return {
    text: `SELECT id, status FROM deals WHERE lead_id = $1 AND (status = 'open' OR moco_deal_id = $2::bigint)
      ORDER BY (moco_deal_id IS NOT DISTINCT FROM $2::bigint) DESC, created_at DESC, id DESC LIMIT 1`,
    values: [leadId, mocoDealId],
  };
}

/** Records MOCO's "offer accepted" once on the lead's deal that has this offer (or MOCO deal). */
export function markOfferAccepted(
  leadId: number,
  ids: { mocoOfferId: string | null; mocoDealId: string | null },
  now: Date,
): Sql<{ id: number }> {
  return {
    text: `UPDATE deals SET offer_accepted_at = $4, updated_at = $4
      WHERE lead_id = $1 AND offer_accepted_at IS NULL
        AND (moco_offer_id = $2::bigint OR moco_deal_id = $3::bigint)
      RETURNING id`,
    values: [leadId, ids.mocoOfferId, ids.mocoDealId, now],
  };
}

/** A member's open deals' value per pipeline, stage and currency: weighted by the ruleset's stages. */
export function selectOwnedPipelineValue(
  memberId: string,
): Sql<{ pipeline_id: string; stage_id: string; currency: string | null; amount: number; deals: number }> {
  return {
    text: `SELECT pipeline_id, stage_id, currency, COALESCE(sum(value), 0)::float8 AS amount, count(*)::int AS deals
      FROM deals WHERE owner_member_id = $1 AND status = 'open' GROUP BY pipeline_id, stage_id, currency`,
    values: [memberId],
  };
}
