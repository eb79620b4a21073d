import type { PipelineConfig, StageConfig, TeamMember } from './routing-schema.ts';
import { canManage } from './team.ts';

/**
 * What a deal is worth and who may close it: the stages a pipeline closes deals in, the win
 * probability per stage, the weighted value, and the permission to mark a deal won, lost or open
 * again. Pure: the callers load deals and members.
 */

export type DealStatus = 'open' | 'won' | 'lost';
export type DealOutcome = 'won' | 'lost';

/**
 * The stage a pipeline closes deals in for `outcome` (`won: true` / `lost: true`), or null when
 * the pipeline has none: the deal then closes where it stands.
 *
 * @example
 * closingStage(b2b, 'won') // { id: 'won', name: 'Won', won: true }
 */
export function closingStage(pipeline: Pick<PipelineConfig, 'stages'>, outcome: DealOutcome): StageConfig | null {
  return pipeline.stages.find((stage) => stage[outcome] === true) ?? null;
}

/**
 * Whether entering `stageId` closes the deal, and how.
 *
 * @example
 * stageOutcome(b2b, 'lost') // 'lost'
 */
export function stageOutcome(pipeline: Pick<PipelineConfig, 'stages'>, stageId: string): DealOutcome | null {
  const stage = pipeline.stages.find((s) => s.id === stageId);
  if (stage?.won === true) return 'won';
  if (stage?.lost === true) return 'lost';
  return null;
}

/**
 * The chance (0–100) that a deal in `stageId` is won: the stage's `probability`, else 100 for a won
 * stage, 0 for a lost one, and for open stages an even climb by position (of four open stages the
 * first is 20, the last 80), so a ruleset without probabilities still weighs later stages more.
 *
 * @example
 * stageProbability({ stages: [{ id: 'new' }, { id: 'proposal', probability: 60 }] }, 'proposal') // 60
 */
export function stageProbability(pipeline: Pick<PipelineConfig, 'stages'>, stageId: string): number {
  const stage = pipeline.stages.find((s) => s.id === stageId);
  if (stage === undefined) return 0;
  if (stage.probability !== undefined) return stage.probability;
  if (stage.won === true) return 100;
  if (stage.lost === true) return 0;
  const open = pipeline.stages.filter((s) => s.won !== true && s.lost !== true);
  return Math.round((100 * (open.indexOf(stage) + 1)) / (open.length + 1));
}

/**
 * An open deal's value weighted by its stage's probability; a won deal counts whole, a lost one
 * and a deal without a value count nothing.
 *
 * @example
 * weightedValue({ status: 'open', value: 10_000, stageId: 'proposal' }, b2b) // 6000
 */
export function weightedValue(
  deal: { status: DealStatus; value: number | null; stageId: string },
  pipeline: Pick<PipelineConfig, 'stages'> | undefined,
): number {
  if (deal.value === null || deal.status === 'lost') return 0;
  if (deal.status === 'won') return deal.value;
  if (pipeline === undefined) return 0;
  return (deal.value * stageProbability(pipeline, deal.stageId)) / 100;
}

export type ClosePermission = { ok: true } | { ok: false; why: string };

/**
 * Who may close a deal: its owner (a rep closes their own deals), and managers and admins any.
 *
 * @example
 * mayClose(anna, { status: 'open', ownerMemberId: 'ben' }) // { ok: false, why: 'Reps close their own deals; …' }
 */
export function mayClose(
  member: TeamMember | null,
  deal: { status: DealStatus; ownerMemberId: string | null },
): ClosePermission {
  if (member === null || !member.active) return { ok: false, why: 'Only members of the sales team can close deals.' };
  if (deal.status !== 'open') return { ok: false, why: `This deal is already ${deal.status}.` };
  if (canManage(member) || deal.ownerMemberId === member.id) return { ok: true };
  return { ok: false, why: 'Reps close their own deals; a manager or admin can close this one.' };
}

/**
 * Who may reopen a closed deal: managers and admins.
 *
 * @example
 * mayReopen(lena, { status: 'won' }) // { ok: true }
 */
export function mayReopen(member: TeamMember | null, deal: { status: DealStatus }): ClosePermission {
  if (!canManage(member)) return { ok: false, why: 'Only managers and admins can reopen a deal.' };
  if (deal.status === 'open') return { ok: false, why: 'This deal is open already.' };
  return { ok: true };
}
