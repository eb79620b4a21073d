import type { LeadPersonColumns } from './leads.ts';
import type { UpdatableField } from '../../engine/routing-schema.ts';
import type { Sql } from '../pool.ts';
import { LeadlineError } from '../../errors.ts';
import type { DealColumns } from './deals.ts';

/**
 * A deal's last activity as automation and upkeep read it: the later of the deal's own activity and
 * the lead's, but only when it happened after the deal was opened (older lead activity says nothing
 * about the deal; the engine then counts from the deal's creation). `d` and `l` are the aliases.
 */
export const DEAL_ACTIVITY = `CASE WHEN GREATEST(d.last_activity_at, l.last_activity_at) > d.created_at
  THEN GREATEST(d.last_activity_at, l.last_activity_at) END`;

/** What a message shows about a lead. */
export interface NotificationLeadRow extends LeadPersonColumns {
  id: number;
  country: string | null;
  score: number;
  grade: string;
  primary_intent: string | null;
  intent_confidence: number;
}

/** A lead with one of its deals per row (deal columns null when it has none). */
export interface AutomationLeadRow extends NotificationLeadRow {
  phone: string | null;
  region: string | null;
  website: string | null;
  intent_weights: Record<string, number>;
  first_touch_source: string | null;
  last_activity_at: Date | null;
  d_id: number | null;
  d_pipeline_id: string | null;
  d_stage_id: string | null;
  d_owner_member_id: string | null;
  d_status: 'open' | 'won' | 'lost' | null;
  d_value: number | null;
  d_priority: string | null;
  d_created_at: Date | null;
  d_stage_entered_at: Date | null;
  d_last_activity_at: Date | null;
}

/**
 * The facts automation reads for many leads in one statement: each lead with its open deals plus the
 * deals named by deal triggers (which may be closed), one row per (lead, deal). Lead rows are locked
 * in id order, like every lead writer, so the processing job (which holds them already) and the
 * upkeep job never interleave their automation on one lead.
 */
export function lockAutomationLeads(leadIds: readonly number[], dealIds: readonly number[]): Sql<AutomationLeadRow> {
  return {
    text: `SELECT l.id, l.email, l.first_name, l.last_name, l.full_name, l.company, l.title, l.phone, l.country,
        l.region, l.website, l.score, l.grade, l.primary_intent, l.intent_confidence, l.intent_weights,
        l.first_touch_source, l.last_activity_at,
        d.id AS d_id, d.pipeline_id AS d_pipeline_id, d.stage_id AS d_stage_id,
        d.owner_member_id AS d_owner_member_id, d.status AS d_status, d.value AS d_value,
        d.priority AS d_priority, d.created_at AS d_created_at, d.stage_entered_at AS d_stage_entered_at,
        ${DEAL_ACTIVITY} AS d_last_activity_at
      FROM leads l
      LEFT JOIN deals d ON d.lead_id = l.id AND (d.status = 'open' OR d.id = ANY($2::bigint[]))
      WHERE l.id = ANY($1::bigint[])
      ORDER BY l.id, d.created_at DESC NULLS LAST, d.id DESC
      FOR NO KEY UPDATE OF l`,
    values: [leadIds, dealIds],
  };
}

export interface ActionInsert {
  idempotencyKey: string;
  actionIndex: number;
  ruleId: string;
  leadId: number;
  dealId: number | null;
  triggerType: string;
  triggerInstanceId: string;
  action: unknown;
  status: 'pending' | 'skipped';
  result: unknown;
  rulesetVersion: string;
}

/**
 * Records planned actions; a key already recorded (by an earlier run of the same trigger) is left
 * alone and not returned, so only the returned actions are new and may run.
 */
export function insertAutomationActions(rows: readonly ActionInsert[], now: Date): Sql<{ idempotency_key: string; action_index: number }> {
  return {
    text: `INSERT INTO automation_actions (idempotency_key, action_index, rule_id, lead_id, deal_id, trigger_type,
        trigger_instance_id, action, status, result, ruleset_version, created_at, done_at)
      SELECT u.k, u.i, u.r, u.l, u.d, u.tt, u.ti, u.a::jsonb, u.s, u.res::jsonb, u.v, $12,
        CASE WHEN u.s = 'skipped' THEN $12::timestamptz END
      FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
        $8::text[], $9::text[], $10::text[], $11::text[]) AS u(k, i, r, l, d, tt, ti, a, s, res, v)
      ON CONFLICT (idempotency_key, action_index) DO NOTHING
      RETURNING idempotency_key, action_index, status`,
    values: [
      rows.map((r) => r.idempotencyKey),
      rows.map((r) => r.actionIndex),
      rows.map((r) => r.ruleId),
      rows.map((r) => r.leadId),
      rows.map((r) => r.dealId),
      rows.map((r) => r.triggerType),
      rows.map((r) => r.triggerInstanceId),
      rows.map((r) => JSON.stringify(r.action)),
      rows.map((r) => r.status),
      rows.map((r) => (r.result === null ? null : JSON.stringify(r.result))),
      rows.map((r) => r.rulesetVersion),
      now,
    ],
  };
}

/** Records how one action ended. */
export interface ActionFinish {
  idempotencyKey: string;
  actionIndex: number;
  outcome: { status: 'done'; result: unknown } | { status: 'failed'; error: string };
}

/** Records how recorded actions ended, all in one statement. */
export function finishAutomationActions(rows: readonly ActionFinish[], now: Date): Sql {
  return {
    text: `UPDATE automation_actions a SET status = u.status, result = u.result, error = u.error, done_at = $2
      FROM jsonb_to_recordset($1::jsonb) AS u(idempotency_key text, action_index int, status text, result jsonb, error text)
      WHERE a.idempotency_key = u.idempotency_key AND a.action_index = u.action_index`,
    values: [
      JSON.stringify(
        rows.map((r) => ({
          idempotency_key: r.idempotencyKey,
          action_index: r.actionIndex,
          status: r.outcome.status,
          result: r.outcome.status === 'done' ? (r.outcome.result ?? null) : null,
          error: r.outcome.status === 'failed' ? r.outcome.error : null,
        })),
      ),
      now,
    ],
  };
}

export interface LockedDealRow extends DealColumns {
  priority: string | null;
  stage_entered_at: Date;
}

/** One deal as it is now, locked until the transaction ends (an action is about to change or read it). */
export function lockDeal(dealId: number): Sql<LockedDealRow> {
  return {
    text: `SELECT id, lead_id, pipeline_id, stage_id, status, owner_member_id, value, priority, stage_entered_at
      FROM deals WHERE id = $1 FOR UPDATE`,
    values: [dealId],
  };
}

/** Moves a deal to a stage and records the visit in its history, in one statement. */
export function moveDealToStage(
  dealId: number,
  stageId: string,
  cause: string,
  now: Date,
): Sql<{ id: number; from_stage: string }> {
  return {
    text: `WITH old AS (SELECT id, stage_id FROM deals WHERE id = $1),
      moved AS (
        UPDATE deals d SET stage_id = $2, stage_entered_at = $4, updated_at = $4
        FROM old WHERE d.id = old.id RETURNING d.id, old.stage_id AS from_stage
      )
      INSERT INTO deal_stage_history (deal_id, from_stage, to_stage, entered_at, cause)
      SELECT id, from_stage, $2, $4, $3 FROM moved
      RETURNING id, from_stage`,
    values: [dealId, stageId, cause, now],
  };
}

export function insertTask(task: {
  leadId: number;
  dealId: number | null;
  title: string;
  assignee: string | null;
  dueAt: Date;
  sourceKey: string;
  now: Date;
}): Sql<{ id: number }> {
  return {
    text: `INSERT INTO tasks (lead_id, deal_id, title, assignee_member_id, due_at, source_key, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (source_key) DO NOTHING
      RETURNING id`,
    values: [task.leadId, task.dealId, task.title, task.assignee, task.dueAt, task.sourceKey, task.now],
  };
}

export function insertMocoSyncRequest(request: {
  sourceKey: string;
  entity: 'deal' | 'contact' | 'invoice';
  leadId: number;
  dealId: number | null;
  now: Date;
}): Sql<{ id: number; state: string }> {
  return {
    text: `INSERT INTO moco_sync_requests (source_key, entity, lead_id, deal_id, created_at)
      VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (source_key) DO NOTHING
      RETURNING id, state`,
    values: [request.sourceKey, request.entity, request.leadId, request.dealId, request.now],
  };
}

/**
 * Writes one allowlisted field. Every statement is a fixed text chosen by this switch: the field
 * name from the ruleset never becomes part of the SQL. Returns the previous value for the audit log.
 */
export function updateAllowedField(
  field: UpdatableField,
  target: { leadId: number; dealId: number | null },
  value: string | number | null,
  now: Date,
): Sql<{ previous: unknown }> {
  const lead = (column: string) => ({
    text: `UPDATE leads AS t SET ${column} = $2, updated_at = $3
      FROM (SELECT id, ${column} AS previous FROM leads WHERE id = $1 FOR NO KEY UPDATE) AS old
      WHERE t.id = old.id RETURNING old.previous`,
    values: [target.leadId, value, now],
  });
  const deal = (column: string, cast = '') => ({
    text: `UPDATE deals AS t SET ${column} = $2${cast}, updated_at = $3
      FROM (SELECT id, ${column} AS previous FROM deals WHERE id = $1 FOR NO KEY UPDATE) AS old
      WHERE t.id = old.id RETURNING old.previous`,
    values: [target.dealId, value, now],
  });
  switch (field) {
    case 'lead.company':
      return lead('company');
    case 'lead.title':
      return lead('title');
    case 'lead.phone':
      return lead('phone');
    case 'lead.country':
      return lead('country');
    case 'lead.region':
      return lead('region');
    case 'lead.website':
      return lead('website');
    case 'deal.value':
      return deal('value', '::numeric');
    case 'deal.priority':
      return deal('priority');
    case 'deal.next_step':
      return deal('next_step');
    case 'deal.lost_reason':
      return deal('lost_reason');
    default: {
      const unknown: never = field;
      throw new LeadlineError('invariant_broken', `update_field cannot write ${String(unknown)}`);
    }
  }
}
