import { type PoolClient, run } from '../../db/pool.ts';
import { moveDealToStage } from '../../db/sql/automation.ts';
import { closeDealRow, type DealCloseRow, type LineItem, lockDealForClose } from '../../db/sql/deals.ts';
import { dealTrigger, type TriggerInstance } from '../../engine/automation.ts';
import { type DealOutcome, stageOutcome } from '../../engine/deals.ts';
import { LeadlineError } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import { requestMocoSync } from '../moco/request.ts';
import { announceClose } from './deal-notices.ts';

/** What a close records besides the status: filled in by "Mark won" / "Mark lost", else left as is. */
export interface CloseDetails {
  value?: number | null;
  currency?: string | null;
  lineItems?: readonly LineItem[] | null;
  lostReason?: string | null;
  /** When it closed, when a person says so ("Mark won"'s close date); else the moment of the close. */
  closedAt?: Date;
  /** MOCO reported the close itself: nothing to send back to it. */
  fromMoco?: boolean;
}

export interface StageMove {
  dealId: number;
  stage: string;
  /** Who or what moved it, as the stage history and the close record it: `automation:<rule>`, `slack:U…`, … */
  cause: string;
  now: Date;
  /** How deep in a rule cascade this move is (0: a person, an event, a schedule). */
  depth?: number;
  /** Recorded when the stage closes the deal (`won: true` / `lost: true`). */
  close?: CloseDetails;
}

export type StageMoved =
  | { moved: false; deal: DealCloseRow }
  | {
      moved: true;
      deal: DealCloseRow;
      from: string;
      to: string;
      /** Set when the stage closed the deal. */
      closed: DealOutcome | null;
      /** The rules' triggers this move fires: `stage_entered`, and `deal_won` / `deal_lost`. */
      triggers: TriggerInstance[];
    };

/**
 * The one way a deal changes stage. Locks the deal, checks it is open and that the stage belongs
 * to its pipeline, moves it and records the visit; a stage marked `won` or `lost` closes the deal
 * (status, when, by whom) and announces it. Returns the triggers the move fires —
 * `stage_entered`, and `deal_won` / `deal_lost` — for the caller to run in the same transaction:
 * a person's or an event's change through `fireDealRules` (deal.ts), a rule's move by queueing
 * them in its automation run one cascade level deeper. A move into the stage the deal is
 * in changes nothing, so a retried move is harmless. Throws `not_found` for a deal that is gone and
 * `invalid_state` for a move the deal's status or pipeline does not allow.
 *
 * @example
 * await moveStage(tx, ctx, { dealId: 7, stage: 'proposal', cause: 'slack:U0ANNA001', now })
 * // { moved: true, from: 'discovery', to: 'proposal', closed: null, triggers: [stage_entered …] }
 */
export async function moveStage(tx: PoolClient, ctx: AppContext, move: StageMove): Promise<StageMoved> {
  const deal = await lockedOpenDeal(tx, move.dealId);
  const pipeline = ctx.ruleset.pipelines.find((p) => p.id === deal.pipeline_id);
  if (pipeline === undefined) refuse(`pipeline ${deal.pipeline_id} is not in the ruleset`);
  if (!pipeline.stages.some((s) => s.id === move.stage)) {
    const stages = pipeline.stages.map((s) => s.id).join(', ');
    refuse(`stage ${move.stage} is not a stage of pipeline ${pipeline.id} (${stages})`);
  }
  if (deal.stage_id === move.stage) return { moved: false, deal };
  const [visit] = await run(tx, moveDealToStage(deal.id, move.stage, move.cause, move.now));
  const closed = stageOutcome(pipeline, move.stage);
  const moved = { ...deal, stage_id: move.stage, stage_entered_at: move.now };
  const visitId = String(visit?.id ?? move.now.getTime());
  const triggers = [dealTrigger('stage_entered', dealView(moved), undefined, visitId)];
  if (closed !== null) {
    await recordClose(tx, ctx, moved, closed, move);
    triggers.push(dealTrigger(closed === 'won' ? 'deal_won' : 'deal_lost', dealView(moved), move.now, visitId));
  }
  const deep = triggers.map((t) => ({ ...t, depth: move.depth ?? 0 }));
  return { moved: true, deal: moved, from: deal.stage_id, to: move.stage, closed, triggers: deep };
}

/**
 * Closes an open deal won or lost where it stands, for a pipeline without a `won` / `lost` stage
 * (moveStage closes the others). Returns the `deal_won` / `deal_lost` trigger to fire.
 *
 * @example
 * await closeInPlace(tx, ctx, { dealId: 7, outcome: 'won', cause: 'slack:U0ANNA001', now, close: { value: 12000 } })
 */
export async function closeInPlace(
  tx: PoolClient,
  ctx: AppContext,
  input: { dealId: number; outcome: DealOutcome; cause: string; now: Date; depth?: number; close?: CloseDetails },
): Promise<{ deal: DealCloseRow; triggers: TriggerInstance[] }> {
  const deal = await lockedOpenDeal(tx, input.dealId);
  await recordClose(tx, ctx, deal, input.outcome, input);
  const type = input.outcome === 'won' ? 'deal_won' : 'deal_lost';
  return { deal, triggers: [{ ...dealTrigger(type, dealView(deal), input.now), depth: input.depth ?? 0 }] };
}

async function lockedOpenDeal(tx: PoolClient, dealId: number): Promise<DealCloseRow> {
  const [deal] = await run(tx, lockDealForClose(dealId));
  if (deal === undefined) throw new LeadlineError('not_found', `deal ${dealId} no longer exists`, { status: 404 });
  if (deal.status !== 'open') refuse(`deal ${deal.id} is ${deal.status}; only open deals move`);
  return deal;
}

async function recordClose(
  tx: PoolClient,
  ctx: AppContext,
  deal: DealCloseRow,
  outcome: DealOutcome,
  move: { cause: string; now: Date; close?: CloseDetails },
): Promise<void> {
  const close = move.close ?? {};
  const currency = close.currency ?? deal.currency ?? ctx.ruleset.deals.currency;
  await run(
    tx,
    closeDealRow({
      dealId: deal.id,
      status: outcome,
      closedAt: close.closedAt ?? move.now,
      closedBy: move.cause,
      value: close.value ?? null,
      currency,
      lineItems: close.lineItems ?? null,
      lostReason: outcome === 'lost' ? (close.lostReason ?? null) : null,
    }),
  );
  await announceClose(tx, ctx, { dealId: deal.id, outcome, now: move.now });
  // Won deals become MOCO records, unless MOCO itself reported the win (nothing to send back).
  if (outcome === 'won' && ctx.ruleset.moco !== undefined && close.fromMoco !== true) {
    const sourceKey = `won:${deal.id}:${(close.closedAt ?? move.now).getTime()}`;
    await requestMocoSync(tx, ctx, { sourceKey, entity: 'deal', leadId: deal.lead_id, dealId: deal.id, now: move.now });
  }
}

/**
 * A deal row as the engine's deal triggers name it.
 *
 * @example
 * dealTrigger('stage_entered', dealView(deal))
 */
export function dealView(deal: Pick<DealCloseRow, 'id' | 'lead_id' | 'pipeline_id' | 'stage_id' | 'stage_entered_at'>) {
  return {
    dealId: String(deal.id),
    leadId: String(deal.lead_id),
    pipelineId: deal.pipeline_id,
    stageId: deal.stage_id,
    stageEnteredAt: deal.stage_entered_at,
  };
}

function refuse(message: string): never {
  throw new LeadlineError('invalid_state', message, { status: 409 });
}
