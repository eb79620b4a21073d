import { rotationMembers } from './routing-schema.ts';
import type { Ruleset } from './ruleset.ts';

/** One member's rotation leads in a window against their target share. */
export interface FairnessRow {
  memberId: string;
  name: string;
  received: number;
  /** Σ over pipelines of (the pipeline's rotation leads × the member's target share there). */
  expected: number;
  /** The member's target share of all rotation leads in the window, in percent. */
  targetPercent: number;
}

/**
 * Each rotation member's target share of a pipeline's rotation leads (0–1), in rotation order: the
 * member's weight over the rotation's total weight, as assignment computes it (`weighted`:
 * `weights` or the member's `weight`; `capacity`: capacity; otherwise equal). Empty weights: 0.
 *
 * @example
 * targetShares(ruleset, b2b) // Map { 'anna' => 0.5, 'ben' => 0.25, 'carla' => 0.25 }
 */
export function targetShares(
  ruleset: Pick<Ruleset, 'team'>,
  pipeline: Ruleset['pipelines'][number],
): Map<string, number> {
  const { rotation, weights, weightSum } = rotationWeights(ruleset, pipeline);
  return new Map(rotation.map((id, i) => [id, weightSum === 0 ? 0 : weights[i]! / weightSum]));
}

function rotationWeights(ruleset: Pick<Ruleset, 'team'>, pipeline: Ruleset['pipelines'][number]) {
  const members = new Map(ruleset.team.members.map((m) => [m.id, m]));
  const a = pipeline.assignment;
  const inner = a.strategy === 'territory' ? a.within : a.strategy;
  const rotation = rotationMembers(pipeline, ruleset.team);
  const weights = rotation.map((id) => {
    const member = members.get(id);
    if (inner === 'weighted') return a.weights?.[id] ?? member?.weight ?? 1;
    if (inner === 'capacity') return member?.capacity ?? a.capacity ?? 1;
    return 1;
  });
  return { rotation, weights, weightSum: weights.reduce((sum, w) => sum + w, 0) };
}

/**
 * Each member's rotation leads against their target share: per pipeline, the share is the member's
 * weight over the rotation's total weight, as assignment computes it (`weighted`: `weights` or the
 * member's `weight`; `capacity`: capacity; otherwise equal). Members in no rotation who still received
 * leads are listed with a target of 0.
 *
 * @example
 * fairness(ruleset, [{ pipeline_id: 'b2b', member_id: 'anna', received: 2 }, { pipeline_id: 'b2b', member_id: 'ben', received: 1 }])
 * // [{ memberId: 'anna', received: 2, expected: 1, targetPercent: 33.3, … }, { memberId: 'ben', … }, …]
 */
export function fairness(
  ruleset: Pick<Ruleset, 'pipelines' | 'team'>,
  counts: readonly { pipeline_id: string; member_id: string; received: number }[],
): FairnessRow[] {
  const members = new Map(ruleset.team.members.map((m) => [m.id, m]));
  const rows = new Map<string, FairnessRow>();
  const row = (memberId: string) => {
    let found = rows.get(memberId);
    if (found === undefined) {
      found = {
        memberId,
        name: members.get(memberId)?.name ?? memberId,
        received: 0,
        expected: 0,
        targetPercent: 0,
      };
      rows.set(memberId, found);
    }
    return found;
  };
  let total = 0;
  for (const pipeline of ruleset.pipelines) {
    const leads = counts.filter((c) => c.pipeline_id === pipeline.id).reduce((sum, c) => sum + c.received, 0);
    total += leads;
    const { rotation, weights, weightSum } = rotationWeights(ruleset, pipeline);
    rotation.forEach((id, i) => {
      row(id).expected += weightSum === 0 ? 0 : (leads * weights[i]!) / weightSum;
    });
  }
  for (const count of counts) row(count.member_id).received += count.received;
  const order = [...members.keys()];
  return [...rows.values()]
    .map((r) => ({ ...r, targetPercent: total === 0 ? 0 : (r.expected / total) * 100 }))
    .sort(
      (a, b) =>
        indexOr(order, a.memberId) - indexOr(order, b.memberId) || a.memberId.localeCompare(b.memberId),
    );
}

function indexOr(order: readonly string[], id: string): number {
  const i = order.indexOf(id);
  return i === -1 ? order.length : i;
}
