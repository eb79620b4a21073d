import { isConnectionError, type PoolClient, run, withSavepoint } from '../../db/pool.ts';
import {
  type ActionInsert,
  type AutomationLeadRow,
  type LockedDealRow,
  type ActionFinish,
  finishAutomationActions,
  insertAutomationActions,
  lockAutomationLeads,
} from '../../db/sql/automation.ts';
import {
  type AutomationPlan,
  type PlannedAction,
  planAutomation,
  type TriggerInstance,
} from '../../engine/automation.ts';
import type { DealView, LeadView } from '../../engine/facts.ts';
import { isLeadlineError, LeadlineError } from '../../errors.ts';
import { type Executed, type ExecuteOptions, execute } from './automation-executors.ts';
import type { AppContext } from '../context.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { enqueueSlackMany, type OutboxMessage } from '../../slack/outbox/enqueue.ts';
import { PROFILE_FIELD_NAMES } from '../../engine/conditions.ts';
import { MAX_CASCADE_DEPTH } from '../../engine/automation.ts';

export interface AutomationInput {
  leadId: number;
  triggers: readonly TriggerInstance[];
}

export interface AutomationSummary {
  /** Actions the engine planned (executable ones), including those an earlier run already recorded. */
  planned: number;
  /** Planned actions that ran now and succeeded. */
  executed: number;
  /** Planned actions that ran now and failed (logged with their error; the others still ran). */
  failed: number;
  /** Actions of fired rules with nothing to do, recorded now with their reason. */
  skipped: number;
  /** Planned actions an earlier run already recorded: not run again. */
  repeated: number;
  /** Slack messages enqueued. */
  notifications: number;
  /** Triggers a rule cascade fired past MAX_CASCADE_DEPTH, not run (logged as an error). */
  cascadeStopped: number;
}

/**
 * A summary with every count at zero, to add runs up.
 *
 * @example
 * const total = emptyAutomationSummary(); total.executed += summary.executed;
 */
export function emptyAutomationSummary(): AutomationSummary {
  return { planned: 0, executed: 0, failed: 0, skipped: 0, repeated: 0, notifications: 0, cascadeStopped: 0 };
}

interface LeadFacts {
  /** The lead's row as loaded (locked): what notifications show while no action changed it. */
  row: AutomationLeadRow;
  view: LeadView;
  /** Open deals (most recent first) and the closed deals deal triggers named, by id. */
  deals: Map<number, DealView>;
  /** An action changed the lead or its deals: reload before planning the next trigger. */
  dirty: boolean;
}

// Retrying the whole job is the only cure for these; a savepoint would just run into them again.
const TRANSIENT_CODES = new Set(['40001', '40P01', '57014', '55P03', '25P02']);

/**
 * Runs the automation rules the given triggers fire, inside the caller's transaction (the
 * processing job's, or one upkeep chunk's). Per lead in the given trigger order (leads in id order,
 * a round of one trigger per lead at a time): plan with the engine, record every planned and skipped
 * action in `automation_actions` (`ON CONFLICT DO NOTHING`), and execute only the actions recorded
 * now, so a retried job or a second worker repeats nothing. An action that fails is recorded as
 * `failed` with its error and the remaining actions and rules still run (as if each action had its
 * own savepoint). Failed actions are not retried.
 *
 * The deal a trigger is about: the trigger's own deal for deal triggers (even when closed), else the
 * lead's most recently opened open deal, else none (deal conditions then see missing fields). Facts
 * are loaded once for all leads (leads locked in id order) and reloaded per lead only after one of
 * its actions changed them, so a later trigger sees the deal an earlier rule opened or moved.
 *
 * @example
 * await withTransaction(pool, async (tx) => {
 *   const summary = await runAutomation(tx, ctx, [{ leadId: 42, triggers: [eventTrigger('42', event)] }], now);
 *   // { planned: 2, executed: 2, failed: 0, skipped: 0, repeated: 0, notifications: 1 }
 * });
 */
export async function runAutomation(
  tx: PoolClient,
  ctx: AppContext,
  inputs: readonly AutomationInput[],
  now: Date,
  /** Deals the caller's transaction opened: actions read them from the loaded facts. */
  openedDealIds: ReadonlySet<number> = new Set(),
): Promise<AutomationSummary> {
  const wanted = inputs.filter((input) => input.triggers.length > 0);
  if (wanted.length === 0 || !ctx.ruleset.automation.some((rule) => rule.enabled)) {
    return emptyAutomationSummary();
  }
  const byLead = new Map<number, TriggerInstance[]>();
  for (const input of wanted)
    byLead.set(input.leadId, [...(byLead.get(input.leadId) ?? []), ...input.triggers]);
  // Actions rarely fail, so the whole run first goes in ONE savepoint with bare actions (two
  // statements per action fewer). The first failure rolls that back and the run starts over with a
  // savepoint per action: same outcome as isolating every action, paid for only when one fails.
  let summary: AutomationSummary;
  try {
    summary = await withSavepoint(tx, 'automation_run', () =>
      runTriggers(tx, ctx, byLead, now, false, openedDealIds),
    );
  } catch (err) {
    // Only a failure met without a savepoint of its own starts the run over, isolated.
    if (!isLeadlineError(err, 'automation_action_failed')) throw err;
    summary = await runTriggers(tx, ctx, byLead, now, true, openedDealIds);
  }
  if (summary.notifications > 0) await kickSlackDelivery(ctx.queue, { db: tx });
  return summary;
}

async function runTriggers(
  tx: PoolClient,
  ctx: AppContext,
  byLead: ReadonlyMap<number, readonly TriggerInstance[]>,
  now: Date,
  isolate: boolean,
  openedDealIds: ReadonlySet<number>,
): Promise<AutomationSummary> {
  const summary = emptyAutomationSummary();
  // Stage moves by rules append the triggers they fire to their lead's queue (one level deeper).
  const queue = new Map([...byLead].map(([id, triggers]) => [id, [...triggers]]));
  const leadIds = [...queue.keys()].sort((a, b) => a - b);
  const dealIdsOf = (ids: readonly number[]) =>
    ids.flatMap((id) => queue.get(id)!).flatMap((t) => ('dealId' in t ? [Number(t.dealId)] : []));
  const facts = await loadFacts(tx, leadIds, dealIdsOf(leadIds));
  const finishes: ActionFinish[] = [];
  const outbox: OutboxMessage[] = [];

  // Round r takes every lead's r-th trigger, so recording plans and reloading facts cost one
  // statement per round instead of one per trigger. Per lead the order is the given one, and a
  // trigger still sees what the actions of the lead's earlier triggers changed.
  for (let round = 0; ; round += 1) {
    const active = leadIds.filter((id) => queue.get(id)!.length > round && facts.has(id));
    if (active.length === 0) break;
    const stale = active.filter((id) => facts.get(id)!.dirty);
    if (stale.length > 0) {
      const fresh = await loadFacts(tx, stale, dealIdsOf(stale));
      // A lead that no longer exists fires nothing more.
      for (const id of stale) {
        const lead = fresh.get(id);
        if (lead === undefined) facts.delete(id);
        else facts.set(id, lead);
      }
    }
    const plans: { lead: LeadFacts; plan: AutomationPlan; depth: number }[] = [];
    for (const id of active) {
      const lead = facts.get(id);
      if (lead === undefined) continue;
      const trigger = queue.get(id)![round]!;
      const plan = planAutomation(ctx.ruleset, trigger, lead.view, dealFor(trigger, lead), now);
      if (plan.actions.length + plan.skipped.length > 0) plans.push({ lead, plan, depth: trigger.depth ?? 0 });
    }
    const recorded = await record(
      tx,
      plans.map(({ plan }) => plan),
      now,
    );
    for (const { lead, plan, depth } of plans) {
      summary.planned += plan.actions.length;
      summary.skipped += plan.skipped.filter((a) => recorded.has(a.actionKey)).length;
      for (const action of plan.actions) {
        if (!recorded.has(action.actionKey)) {
          summary.repeated += 1;
          continue;
        }
        const key = { idempotencyKey: action.idempotencyKey, actionIndex: action.actionIndex };
        // The lead row loaded for planning is locked and still current unless an action changed it.
        const io = {
          knownLead: lead.dirty ? undefined : lead.row,
          knownDeals: lead.dirty ? undefined : openedDeals(lead, openedDealIds),
          outbox,
          depth,
        };
        const outcome = isolate ? await runInSavepoint(tx, ctx, action, now, io) : await runBare(tx, ctx, action, now, io);
        finishes.push({ ...key, outcome: settle(ctx, lead, queue.get(lead.row.id)!, outcome, summary) });
      }
    }
  }
  await enqueueSlackMany(tx, outbox, now);
  if (finishes.length > 0) await run(tx, finishAutomationActions(finishes, now));
  return summary;
}

/** Counts an action's outcome and what to record of it; a success may fire the next cascade level. */
function settle(
  ctx: AppContext,
  lead: LeadFacts,
  leadQueue: TriggerInstance[],
  outcome: Executed | { error: string },
  summary: AutomationSummary,
): ActionFinish['outcome'] {
  if ('error' in outcome) {
    summary.failed += 1;
    return { status: 'failed', error: outcome.error };
  }
  summary.executed += 1;
  summary.notifications += outcome.enqueued ?? 0;
  if (outcome.changed) lead.dirty = true;
  return { status: 'done', result: cascade(ctx, leadQueue, outcome, summary) };
}

/**
 * Queues the triggers an action's stage move fired, up to MAX_CASCADE_DEPTH; past it they are
 * dropped, the error is logged, and the action's recorded result says where the cascade stopped.
 */
function cascade(
  ctx: AppContext,
  leadQueue: TriggerInstance[],
  outcome: Executed,
  summary: AutomationSummary,
): unknown {
  const fired = outcome.triggers ?? [];
  const allowed = fired.filter((t) => (t.depth ?? 0) <= MAX_CASCADE_DEPTH);
  leadQueue.push(...allowed);
  const stopped = fired.filter((t) => (t.depth ?? 0) > MAX_CASCADE_DEPTH);
  if (stopped.length === 0) return outcome.result;
  summary.cascadeStopped += stopped.length;
  const error = `rule cascade stopped at depth ${MAX_CASCADE_DEPTH}: ${stopped.map((t) => t.id).join(', ')} not fired`;
  ctx.log.error({ triggers: stopped.map((t) => t.id) }, error);
  return { ...(outcome.result as object), cascade: { stopped: true, depth: MAX_CASCADE_DEPTH, error } };
}

async function loadFacts(
  tx: PoolClient,
  leadIds: readonly number[],
  dealIds: readonly number[],
): Promise<Map<number, LeadFacts>> {
  const rows = await run(tx, lockAutomationLeads(leadIds, [...new Set(dealIds)]));
  const facts = new Map<number, LeadFacts>();
  for (const row of rows) {
    let lead = facts.get(row.id);
    if (lead === undefined) {
      lead = { row, view: leadView(row), deals: new Map(), dirty: false };
      facts.set(row.id, lead);
    }
    if (row.d_id === null) continue;
    lead.deals.set(row.d_id, {
      dealId: String(row.d_id),
      leadId: String(row.id),
      pipelineId: row.d_pipeline_id!,
      stageId: row.d_stage_id!,
      ownerId: row.d_owner_member_id,
      status: row.d_status!,
      value: row.d_value,
      priority: row.d_priority,
      createdAt: row.d_created_at!,
      stageEnteredAt: row.d_stage_entered_at!,
      lastActivityAt: row.d_last_activity_at,
    });
  }
  for (const lead of facts.values()) {
    // Rows come most recently opened first, so openDeals[0] is the lead's newest open deal.
    const open = [...lead.deals.values()].filter((deal) => deal.status === 'open');
    lead.view = {
      ...lead.view,
      openDeals: open.map((d) => ({ dealId: d.dealId, pipelineId: d.pipelineId })),
    };
  }
  return facts;
}


function leadView(row: AutomationLeadRow): LeadView {
  const profile = Object.fromEntries(
    // The ruleset names profile fields after their columns.
    (Object.keys(PROFILE_FIELD_NAMES) as (keyof typeof PROFILE_FIELD_NAMES)[]).flatMap((column) =>
      row[column] === null ? [] : [[PROFILE_FIELD_NAMES[column], row[column]]],
    ),
  );
  return {
    leadId: String(row.id),
    score: row.score,
    intentWeights: row.intent_weights,
    email: row.email,
    profile,
    source: row.first_touch_source,
    lastActivityAt: row.last_activity_at,
  };
}

/** The lead's deals this transaction opened, as loaded for planning. */
function openedDeals(lead: LeadFacts, openedDealIds: ReadonlySet<number>): Map<number, LockedDealRow> | undefined {
  if (openedDealIds.size === 0) return undefined;
  const known = new Map<number, LockedDealRow>();
  for (const [id, deal] of lead.deals) {
    if (!openedDealIds.has(id)) continue;
    known.set(id, {
      id,
      lead_id: Number(deal.leadId),
      pipeline_id: deal.pipelineId,
      stage_id: deal.stageId,
      status: deal.status,
      owner_member_id: deal.ownerId,
      value: deal.value ?? null,
      priority: deal.priority ?? null,
      stage_entered_at: deal.stageEnteredAt,
    });
  }
  return known;
}

function dealFor(trigger: TriggerInstance, lead: LeadFacts): DealView | null {
  if ('dealId' in trigger) return lead.deals.get(Number(trigger.dealId)) ?? null;
  return [...lead.deals.values()].find((deal) => deal.status === 'open') ?? null;
}

/** Records the plans; returns the action keys recorded now (the only ones that may run). */
async function record(tx: PoolClient, plans: readonly AutomationPlan[], now: Date): Promise<Set<string>> {
  if (plans.length === 0) return new Set();
  const row = (a: PlannedAction, status: ActionInsert['status'], result: unknown): ActionInsert => ({
    idempotencyKey: a.idempotencyKey,
    actionIndex: a.actionIndex,
    ruleId: a.ruleId,
    leadId: Number(a.leadId),
    dealId: a.dealId === null ? null : Number(a.dealId),
    triggerType: a.triggerType,
    triggerInstanceId: a.triggerInstanceId,
    action: a.action,
    status,
    result,
    rulesetVersion: a.rulesetVersion,
  });
  const rows = plans.flatMap((plan) => [
    ...plan.actions.map((a) => row(a, 'pending', null)),
    ...plan.skipped.map((a) => row(a, 'skipped', { skipped: a.reason })),
  ]);
  const inserted = await run(
    tx,
    insertAutomationActions(rows, now),
  );
  return new Set(inserted.map((r) => `${r.idempotency_key}#${r.action_index}`));
}

function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return isConnectionError(err) || (typeof code === 'string' && TRANSIENT_CODES.has(code));
}

async function runBare(
  tx: PoolClient,
  ctx: AppContext,
  action: PlannedAction,
  now: Date,
  io: ExecuteOptions,
): Promise<Executed> {
  try {
    return await execute(tx, ctx, action, now, io);
  } catch (err) {
    if (isTransient(err)) throw err;
    throw new LeadlineError('automation_action_failed', err instanceof Error ? err.message : String(err), {
      cause: err,
    });
  }
}

async function runInSavepoint(
  tx: PoolClient,
  ctx: AppContext,
  action: PlannedAction,
  now: Date,
  io: ExecuteOptions & { outbox: OutboxMessage[] },
): Promise<Executed | { error: string }> {
  const queued = io.outbox.length;
  try {
    return await withSavepoint(tx, 'automation_action', () => execute(tx, ctx, action, now, io));
  } catch (err) {
    if (isTransient(err)) throw err;
    // Messages the failed action collected go with the rest of what it did.
    io.outbox.length = queued;
    const error = err instanceof Error ? err.message : String(err);
    ctx.log.warn(
      { actionKey: action.actionKey, type: action.action.type, error },
      'automation action failed',
    );
    return { error };
  }
}
