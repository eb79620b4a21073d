import type { PoolClient } from '../db/pool.ts';
import { run } from '../db/pool.ts';
import {
  type DealForAssignment,
  ensureLedger,
  insertAssignment,
  insertDeal,
  insertRoutingDecision,
  insertStageHistory,
  lockLedger,
  markLeadRouted,
  markLeadStatus,
  type RoutingLeadRow,
  saveLedger,
  selectDealForAssignment,
  selectLedgerRows,
  selectPresence,
  selectRoutingLeads,
  setDealOwner,
  upsertConflict,
} from '../db/sql/routing.ts';
import {
  type AssignmentResult,
  assignOwner,
  type LedgerRow,
  type MemberPresence,
} from '../engine/assignment.ts';
import { explainAssignment, explainRouting } from '../engine/explain.ts';
import { decideRouting, type LeadView, type RoutingDecision, routeManually } from '../engine/routing.ts';
import type { JobContext } from './job.ts';

export interface RoutingResult {
  leadId: number;
  decision: RoutingDecision;
  dealId: number | null;
  assignment: AssignmentResult | null;
  /** True when this call opened (or changed) the lead's routing conflict. */
  conflictOpened: boolean;
}

type RouteDecision = Extract<RoutingDecision, { kind: 'route' }>;

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

/**
 * Routes leads in the pool after their scores changed, inside the caller's transaction: a route
 * opens a deal in the pipeline's first stage and assigns an owner; an ambiguity opens (or refreshes)
 * a routing conflict for a manager; a lead below the thresholds stays in the pool. Leads already
 * routed or waiting on a manager are left alone. Decisions are stored with their reasons; plain
 * "still below the threshold" decisions are not, as every event would add one.
 */
export async function routeAfterScoring(
  tx: PoolClient,
  ctx: JobContext,
  leadIds: readonly number[],
  now: Date,
): Promise<RoutingResult[]> {
  if (ctx.ruleset.pipelines.length === 0 || leadIds.length === 0) return [];
  const rows = await run<RoutingLeadRow>(tx, selectRoutingLeads(leadIds));
  const results: RoutingResult[] = [];
  const routes: { row: RoutingLeadRow; decision: RouteDecision }[] = [];
  for (const row of rows) {
    if (row.status !== 'pool' || row.open_deals.length > 0) continue;
    const decision = decideRouting(leadView(row), ctx.ruleset, now);
    if (decision.kind === 'route') {
      routes.push({ row, decision });
    } else if (decision.kind === 'conflict') {
      const conflictOpened = await openConflict(tx, ctx, row.id, decision, now);
      results.push({ leadId: row.id, decision, dealId: null, assignment: null, conflictOpened });
    } else if (
      decision.kind === 'pool' &&
      decision.cause !== 'below_threshold' &&
      decision.cause !== 'no_intent'
    ) {
      await recordDecision(tx, ctx, row.id, decision, now);
    }
  }
  // Ledgers are locked in pipeline order, the same in every worker, so two batches never deadlock.
  routes.sort((a, b) => a.decision.pipelineId.localeCompare(b.decision.pipelineId) || a.row.id - b.row.id);
  for (const { row, decision } of routes) {
    const opened = await openDeal(tx, ctx, row.id, decision, now);
    results.push({ leadId: row.id, decision, ...opened, conflictOpened: false });
  }
  return results;
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
  ctx: JobContext,
  leadId: number,
  pipelineId: string,
  by: string,
  now: Date,
): Promise<{ dealId: number | null; decision: RoutingDecision; assignment: AssignmentResult | null }> {
  const [row] = await run<RoutingLeadRow>(tx, selectRoutingLeads([leadId]));
  if (row === undefined) throw new Error(`lead ${leadId} not found`);
  const decision = routeManually(leadView(row), pipelineId, by, ctx.ruleset);
  if (decision.kind !== 'route') {
    await recordDecision(tx, ctx, leadId, decision, now);
    return { dealId: null, decision, assignment: null };
  }
  const opened = await openDeal(tx, ctx, leadId, decision, now);
  return { ...opened, decision };
}

async function openConflict(
  tx: PoolClient,
  ctx: JobContext,
  leadId: number,
  decision: Extract<RoutingDecision, { kind: 'conflict' }>,
  now: Date,
): Promise<boolean> {
  const changed = await run(
    tx,
    upsertConflict({
      leadId,
      conflictKey: decision.conflictKey,
      cause: decision.cause,
      candidates: decision.candidates,
      reasons: decision.reasons,
      rulesetVersion: ctx.ruleset.version,
      now,
    }),
  );
  if (changed.length === 0) return false;
  await run(tx, markLeadStatus(leadId, 'conflict', now));
  await recordDecision(tx, ctx, leadId, decision, now);
  return true;
}

async function openDeal(
  tx: PoolClient,
  ctx: JobContext,
  leadId: number,
  decision: RouteDecision,
  now: Date,
): Promise<{ dealId: number | null; assignment: AssignmentResult | null }> {
  const [deal] = await run<{ id: number }>(
    tx,
    insertDeal({
      leadId,
      pipelineId: decision.pipelineId,
      stageId: decision.stageId,
      reasons: decision.reasons,
      rulesetVersion: ctx.ruleset.version,
      now,
    }),
  );
  await recordDecision(tx, ctx, leadId, decision, now);
  if (deal === undefined) return { dealId: null, assignment: null };
  await run(tx, insertStageHistory(deal.id, null, decision.stageId, now, decision.reasons.rule));
  const assignment = await assignDeal(tx, ctx, deal.id, null, now);
  const owner = assignment?.outcome.kind === 'member' || assignment?.outcome.kind === 'fallback_owner';
  await run(
    tx,
    markLeadRouted(leadId, owner ? (assignment?.outcome as { memberId: string }).memberId : null, now),
  );
  return { dealId: deal.id, assignment };
}

async function recordDecision(
  tx: PoolClient,
  ctx: JobContext,
  leadId: number,
  decision: RoutingDecision,
  now: Date,
) {
  await run(
    tx,
    insertRoutingDecision({
      leadId,
      kind: decision.kind,
      pipelineId: 'pipelineId' in decision ? decision.pipelineId : null,
      cause: 'cause' in decision ? decision.cause : null,
      reasons: decision.reasons,
      explanation: explainRouting(decision, ctx.ruleset),
      rulesetVersion: ctx.ruleset.version,
      now,
    }),
  );
}

/**
 * Gives an open deal its owner: `memberId` when a person or rule names one, else the pipeline's
 * strategy over the persisted ledger (locked per pipeline for the rest of the transaction). Stores
 * why this owner and why every other candidate was skipped.
 *
 * @example
 * const result = await assignDeal(tx, ctx, dealId, null, now);
 * result?.outcome // { kind: 'member', memberId: 'anna.becker', … }
 */
export async function assignDeal(
  tx: PoolClient,
  ctx: JobContext,
  dealId: number,
  memberId: string | null,
  now: Date,
): Promise<AssignmentResult | null> {
  const [deal] = await run<DealForAssignment>(tx, selectDealForAssignment(dealId));
  if (deal === undefined) return null;
  if (memberId !== null) {
    const member = ctx.ruleset.team.members.find((m) => m.id === memberId);
    if (member === undefined) throw new Error(`no team member ${memberId}`);
    await run(tx, setDealOwner(dealId, memberId, null, now));
    await run(
      tx,
      insertAssignment({
        dealId,
        leadId: deal.lead_id,
        pipelineId: deal.pipeline_id,
        outcomeKind: 'member',
        memberId,
        queue: null,
        strategy: 'manual',
        candidates: [],
        explanation: [`Assigned to ${member.name} by hand.`],
        cause: 'manual',
        rulesetVersion: ctx.ruleset.version,
        seq: null,
        now,
      }),
    );
    return null;
  }
  await run(tx, ensureLedger(deal.pipeline_id));
  const [ledger] = await run<{ seq: number }>(tx, lockLedger(deal.pipeline_id));
  const rows = await run<{
    member_id: string;
    received: number;
    deficit: number;
    present: boolean;
    last_assigned_seq: number | null;
  }>(tx, selectLedgerRows(deal.pipeline_id));
  const presence = await run<{
    member_id: string;
    open_deals: number;
    status_emoji: string | null;
    status_text: string | null;
    status_expires_at: Date | null;
    away_until: Date | null;
    deactivated: boolean;
  }>(tx, selectPresence());
  const result = assignOwner(
    {
      pipelineId: deal.pipeline_id,
      lead: { leadId: String(deal.lead_id), country: deal.country, region: deal.region },
      ledger: {
        pipelineId: deal.pipeline_id,
        seq: ledger?.seq ?? 0,
        rows: rows.map(
          (r): LedgerRow => ({
            memberId: r.member_id,
            received: r.received,
            deficit: r.deficit,
            present: r.present,
            lastAssignedSeq: r.last_assigned_seq,
          }),
        ),
      },
      presence: presence.map(
        (p): MemberPresence => ({
          memberId: p.member_id,
          openDeals: p.open_deals,
          statusEmoji: p.status_emoji,
          statusText: p.status_text,
          statusExpiresAt: p.status_expires_at,
          awayUntil: p.away_until,
          deactivated: p.deactivated,
        }),
      ),
    },
    ctx.ruleset,
    now,
  );
  await run(tx, saveLedger(deal.pipeline_id, result.ledger.seq, result.ledger.rows, now));
  const outcome = result.outcome;
  const owner = outcome.kind === 'member' || outcome.kind === 'fallback_owner' ? outcome.memberId : null;
  const queue = outcome.kind === 'queue' ? outcome.queue : null;
  await run(tx, setDealOwner(dealId, owner, queue, now));
  await run(
    tx,
    insertAssignment({
      dealId,
      leadId: deal.lead_id,
      pipelineId: deal.pipeline_id,
      outcomeKind: outcome.kind,
      memberId: owner,
      queue,
      strategy: result.strategy,
      candidates: result.candidates,
      explanation: explainAssignment(result),
      cause: 'why' in outcome ? outcome.why : 'rotation',
      rulesetVersion: ctx.ruleset.version,
      seq: result.ledger.seq,
      now,
    }),
  );
  return result;
}
