import { type PoolClient, run } from '../../db/pool.ts';
import { type LockedDealRow, lockDeal, moveDealToStage } from '../../db/sql/automation.ts';
import { LeadlineError } from '../../errors.ts';
import type { AppContext } from '../context.ts';

export interface StageMove {
  dealId: number;
  stage: string;
  /** Why, as the deal's stage history records it: `automation:<rule>`, `slack:U…`, … */
  cause: string;
  now: Date;
}

export type StageMoved =
  | { moved: false; deal: LockedDealRow }
  | { moved: true; deal: LockedDealRow; from: string; to: string };

/**
 * The one way a deal changes stage. Locks the deal, checks it is open and that the stage belongs
 * to its pipeline, then moves it and records the visit in its stage history, in the caller's
 * transaction. A move into the stage the deal is in changes nothing (`moved: false`), so a retried
 * move is harmless. Throws `not_found` for a deal that is gone and `invalid_state` for a move the
 * deal's status or its pipeline does not allow.
 *
 * @example
 * await moveStage(tx, ctx, { dealId: 7, stage: 'qualified', cause: 'automation:demo_booked', now })
 * // { moved: true, deal: { id: 7, … }, from: 'new', to: 'qualified' }
 */
export async function moveStage(tx: PoolClient, ctx: AppContext, move: StageMove): Promise<StageMoved> {
  const [deal] = await run(tx, lockDeal(move.dealId));
  if (deal === undefined) throw new LeadlineError('not_found', `deal ${move.dealId} no longer exists`, { status: 404 });
  if (deal.status !== 'open') refuse(`deal ${deal.id} is ${deal.status}; only open deals move`);
  const pipeline = ctx.ruleset.pipelines.find((p) => p.id === deal.pipeline_id);
  if (pipeline === undefined) refuse(`pipeline ${deal.pipeline_id} is not in the ruleset`);
  if (!pipeline.stages.some((s) => s.id === move.stage)) {
    const stages = pipeline.stages.map((s) => s.id).join(', ');
    refuse(`stage ${move.stage} is not a stage of pipeline ${pipeline.id} (${stages})`);
  }
  if (deal.stage_id === move.stage) return { moved: false, deal };
  await run(tx, moveDealToStage(deal.id, move.stage, move.cause, move.now));
  return { moved: true, deal, from: deal.stage_id, to: move.stage };
}

function refuse(message: string): never {
  throw new LeadlineError('invalid_state', message, { status: 409 });
}
