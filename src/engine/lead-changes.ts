import { type Grade, thresholdCrossings } from './grade.ts';
import type { Ruleset } from './ruleset.ts';

export type LeadChange =
  | { kind: 'threshold_crossed'; threshold: string; direction: 'up' | 'down'; score: number }
  | { kind: 'grade_changed'; from: Grade; to: Grade }
  | { kind: 'intent_changed'; from: string | null; to: string | null; confidence: number }
  | { kind: 'critical_signal'; ruleId: string; signal: string; intent: string; eventId: string };

/** What a lead's score and intent summary say, before or after a recomputation. */
export interface ScoreSummary {
  score: number;
  grade: Grade;
  thresholds: readonly string[];
  primaryIntent: string | null;
  intentConfidence: number;
}

/**
 * Threshold crossings, a grade change and an intent change between two summaries, in the order
 * they are recorded. Event processing and the decay job both report changes through this, so a
 * lead crossing a threshold by decay reads the same as one crossing it by an event.
 *
 * @example
 * summaryChanges({ score: 55, grade: 'C', thresholds: ['warm'], … }, { score: 45, grade: 'C', thresholds: [], … }, ruleset)
 * // [{ kind: 'threshold_crossed', threshold: 'warm', direction: 'down', score: 45 }]
 */
export function summaryChanges(
  before: ScoreSummary,
  after: ScoreSummary,
  ruleset: Pick<Ruleset, 'thresholds'>,
): LeadChange[] {
  const changes: LeadChange[] = [
    ...thresholdCrossings(before.thresholds, after.thresholds, ruleset.thresholds, after.score),
  ];
  if (after.grade !== before.grade) changes.push({ kind: 'grade_changed', from: before.grade, to: after.grade });
  if (after.primaryIntent !== before.primaryIntent) {
    changes.push({
      kind: 'intent_changed',
      from: before.primaryIntent,
      to: after.primaryIntent,
      confidence: after.intentConfidence,
    });
  }
  return changes;
}
