import type { PoolClient } from '../../db/pool.ts';
import { run } from '../../db/pool.ts';
import { LeadlineError } from '../../errors.ts';
import {
  type DealForAssignment,
  insertDeals,
  insertRoutingDecisions,
  insertStageHistories,
  markLeadsInConflict,
  markLeadsRouted,
  type RoutingDecisionInsert,
  type RoutingLeadRow,
  selectRoutingLeads,
  upsertConflicts,
} from '../../db/sql/routing.ts';
import type { AssignmentResult } from '../../engine/assignment-model.ts';
import { explainRouting } from '../../engine/explain.ts';
import { assignByLedger, ownerOf, storeAssignments } from './assignment.ts';
import type { LeadView } from '../../engine/facts.ts';
import { decideRouting, type RoutingDecision, routeManually } from '../../engine/routing.ts';
import type { AppContext } from '../context.ts';
import { dealTrigger, type TriggerInstance } from '../../engine/automation.ts';

export interface RoutingResult {
  leadId: number;
  decision: RoutingDecision;
  dealId: number | null;
  assignment: AssignmentResult | null;
  /** True when this call opened (or changed) the lead's routing conflict. */
  conflictOpened: boolean;
}

type RouteDecision = Extract<RoutingDecision, { kind: 'route' }>;
type ConflictDecision = Extract<RoutingDecision, { kind: 'conflict' }>;

function leadView(row: RoutingLeadRow): LeadView {
  return {
    leadId: String(row.id),
    score: row.score,
    intentWeights: row.intent_weights,
    email: row.email,
    profile: {
      ...(row.company === null ? {} : { company: row.company }),
      ...(row.title === null ? {} : { title: row.title }),
      ...(row.country === null ? {} : { country: row.country }),
      ...(row.region === null ? {} : { region: row.region }),
    },
    openDeals: row.open_deals,
  };
}

/** Routing decided for a batch: conflicts and pool decisions already stored, deals still to open. */
export interface PendingRoutes {
  /** The conflicts opened or refreshed. */
  results: RoutingResult[];
  /** Leads that get a deal, in the order their pipelines' ledgers are taken. */
  routes: { row: RoutingLeadRow; decision: RouteDecision }[];
}

/**
 * The first half of routing: decides every lead, stores conflicts and pool decisions,
 * and leaves the deals to `openRoutes`. Nothing here locks a pipeline ledger, so the caller can do
 * the work that does not need the new deals before it takes them.
 */
export async function decideRoutes(
  tx: PoolClient,
  ctx: AppContext,
  leadIds: readonly number[],
  now: Date,
): Promise<PendingRoutes> {
  if (ctx.ruleset.pipelines.length === 0 || leadIds.length === 0) return { results: [], routes: [] };
  const rows = await run(tx, selectRoutingLeads(leadIds));
  const routes: PendingRoutes['routes'] = [];
  const conflicts: { leadId: number; decision: ConflictDecision }[] = [];
  const decisions: RoutingDecisionInsert[] = [];
  for (const row of rows) {
    if (row.status !== 'pool' || row.open_deals.length > 0) continue;
    const decision = decideRouting(leadView(row), ctx.ruleset, now);
    if (decision.kind === 'route') {
      routes.push({ row, decision });
    } else if (decision.kind === 'conflict') {
      conflicts.push({ leadId: row.id, decision });
    } else if (
      decision.kind === 'pool' &&
      decision.cause !== 'below_threshold' &&
      decision.cause !== 'no_intent'
    ) {
      decisions.push(decisionRow(ctx, row.id, decision));
    }
  }
  const opened = await openConflicts(tx, ctx, conflicts, now);
  const results: RoutingResult[] = conflicts.map(({ leadId, decision }) => {
    if (opened.has(leadId)) decisions.push(decisionRow(ctx, leadId, decision));
    return { leadId, decision, dealId: null, assignment: null, conflictOpened: opened.has(leadId) };
  });
  if (decisions.length > 0) await run(tx, insertRoutingDecisions(decisions, now));
  // Ledgers are locked in pipeline order, the same in every worker, so two batches never deadlock;
  // within a pipeline, leads take their turn in id order.
  routes.sort((a, b) => a.decision.pipelineId.localeCompare(b.decision.pipelineId) || a.row.id - b.row.id);
  return { results, routes };
}

/**
 * The second half of routing (see `decideRoutes`): opens the decided deals and assigns their owners. The
 * pipelines' ledgers stay locked until the transaction ends.
 */
export async function openRoutes(
  tx: PoolClient,
  ctx: AppContext,
  pending: PendingRoutes,
  now: Date,
): Promise<RoutingResult[]> {
  if (pending.routes.length === 0) return [];
  const opened = await openDeals(tx, ctx, pending.routes, now);
  await run(
    tx,
    insertRoutingDecisions(
      pending.routes.map(({ row, decision }) => decisionRow(ctx, row.id, decision)),
      now,
    ),
  );
  return pending.routes.map(({ row, decision }) => {
    const deal = opened.get(row.id);
    return {
      leadId: row.id,
      decision,
      dealId: deal?.dealId ?? null,
      assignment: deal?.assignment ?? null,
      conflictOpened: false,
    };
  });
}

/**
 * Routes one lead to a named pipeline on a person's or a rule's behalf (`by`: `manager:U123`,
 * `automation:hot-b2b`): still at most one open deal per pipeline.
 *
 * @example
 * await routeLeadTo(tx, ctx, 42, 'b2b', 'manager:U0AAAA005', now) // { dealId: 7, decision: { kind: 'route', … } }
 */
export async function routeLeadTo(
  tx: PoolClient,
  ctx: AppContext,
  leadId: number,
  pipelineId: string,
  by: string,
  now: Date,
): Promise<{
  dealId: number | null;
  decision: RoutingDecision;
  assignment: AssignmentResult | null;
  /** The new deal's `stage_entered`, for the caller to fire (or queue, inside an automation run). */
  triggers: TriggerInstance[];
}> {
  const [row] = await run(tx, selectRoutingLeads([leadId]));
  if (row === undefined) throw new LeadlineError('not_found', `lead ${leadId} not found`, { status: 404 });
  const decision = routeManually(leadView(row), pipelineId, by, ctx.ruleset);
  await run(tx, insertRoutingDecisions([decisionRow(ctx, leadId, decision)], now));
  if (decision.kind !== 'route') return { dealId: null, decision, assignment: null, triggers: [] };
  const opened = (await openDeals(tx, ctx, [{ row, decision }], now)).get(leadId);
  if (opened === undefined) return { dealId: null, assignment: null, decision, triggers: [] };
  const deal = {
    dealId: String(opened.dealId),
    leadId: String(leadId),
    pipelineId: decision.pipelineId,
    stageId: decision.stageId,
    stageEnteredAt: now,
  };
  return { dealId: opened.dealId, assignment: opened.assignment, decision, triggers: [dealTrigger('stage_entered', deal)] };
}

/** Opens or refreshes the leads' conflicts; returns the leads whose conflict was opened or changed. */
async function openConflicts(
  tx: PoolClient,
  ctx: AppContext,
  conflicts: readonly { leadId: number; decision: ConflictDecision }[],
  now: Date,
): Promise<Set<number>> {
  if (conflicts.length === 0) return new Set();
  const changed = await run(
    tx,
    upsertConflicts(
      conflicts.map(({ leadId, decision }) => ({
        leadId,
        conflictKey: decision.conflictKey,
        cause: decision.cause,
        candidates: decision.candidates,
        reasons: decision.reasons,
      })),
      ctx.ruleset.version,
      now,
    ),
  );
  const opened = new Set(changed.map((row) => row.lead_id));
  if (opened.size > 0) await run(tx, markLeadsInConflict([...opened], now));
  return opened;
}

/**
 * Opens a deal per routed lead in its pipeline's first stage and assigns the owners, with one
 * statement per step for the whole batch. A lead that already has an open deal in the pipeline
 * (a concurrent manual route) keeps it and gets no second one.
 */
async function openDeals(
  tx: PoolClient,
  ctx: AppContext,
  routes: readonly { row: RoutingLeadRow; decision: RouteDecision }[],
  now: Date,
): Promise<Map<number, { dealId: number; assignment: AssignmentResult | null }>> {
  const opened = new Map<number, { dealId: number; assignment: AssignmentResult | null }>();
  if (routes.length === 0) return opened;
  const inserted = await run(
    tx,
    insertDeals(
      routes.map(({ row, decision }) => ({
        leadId: row.id,
        pipelineId: decision.pipelineId,
        stageId: decision.stageId,
        reasons: decision.reasons,
        rulesetVersion: ctx.ruleset.version,
      })),
      now,
    ),
  );
  const dealOf = new Map(inserted.map((deal) => [`${deal.lead_id}:${deal.pipeline_id}`, deal.id]));
  const deals: (DealForAssignment & { stageId: string; rule: string })[] = [];
  for (const { row, decision } of routes) {
    const id = dealOf.get(`${row.id}:${decision.pipelineId}`);
    if (id === undefined) continue;
    deals.push({
      id,
      lead_id: row.id,
      pipeline_id: decision.pipelineId,
      country: row.country,
      region: row.region,
      stageId: decision.stageId,
      rule: decision.reasons.rule,
    });
  }
  if (deals.length === 0) return opened;
  await run(
    tx,
    insertStageHistories(
      deals.map((deal) => ({ dealId: deal.id, from: null, to: deal.stageId, cause: deal.rule })),
      now,
    ),
  );
  const assignments = await assignByLedger(tx, ctx, deals, now);
  await storeAssignments(
    tx,
    ctx,
    deals.map((deal, i) => ({ deal, result: assignments[i]! })),
    false,
    now,
  );
  await run(
    tx,
    markLeadsRouted(
      deals.map((deal, i) => ({ leadId: deal.lead_id, ownerMemberId: ownerOf(assignments[i]!) })),
      now,
    ),
  );
  deals.forEach((deal, i) => opened.set(deal.lead_id, { dealId: deal.id, assignment: assignments[i]! }));
  return opened;
}

function decisionRow(ctx: AppContext, leadId: number, decision: RoutingDecision): RoutingDecisionInsert {
  return {
    leadId,
    kind: decision.kind,
    pipelineId: 'pipelineId' in decision ? decision.pipelineId : null,
    cause: 'cause' in decision ? decision.cause : null,
    reasons: decision.reasons,
    explanation: explainRouting(decision, ctx.ruleset),
    rulesetVersion: ctx.ruleset.version,
  };
}
