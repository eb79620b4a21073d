import type { Threshold } from './ruleset.ts';

/**
 * Grades and score thresholds. Grades are fixed so every team reads "A" the same way;
 * thresholds are named in the ruleset and drive alerts when a lead's score crosses them.
 */

export const GRADES = ['A', 'B', 'C', 'D', 'F'] as const;
export type Grade = (typeof GRADES)[number];

/** Inclusive score bands, best first. */
export const GRADE_BANDS: readonly { grade: Grade; min: number; max: number }[] = [
  { grade: 'A', min: 80, max: 100 },
  { grade: 'B', min: 60, max: 79 },
  { grade: 'C', min: 40, max: 59 },
  { grade: 'D', min: 20, max: 39 },
  { grade: 'F', min: 0, max: 19 },
];

export const MIN_SCORE = 0;
export const MAX_SCORE = 100;

export interface ThresholdCrossed {
  kind: 'threshold_crossed';
  threshold: string;
  direction: 'up' | 'down';
  score: number;
}

/**
 * Clamps a raw point sum to the 0–100 score range; a lead deep in penalties simply scores 0.
 *
 * @example
 * clampScore(-35) // 0
 */
export function clampScore(raw: number): number {
  return Math.min(MAX_SCORE, Math.max(MIN_SCORE, raw));
}

/**
 * The grade of a (clamped) score.
 *
 * @example
 * gradeFor(80) // 'A'
 * gradeFor(79) // 'B'
 */
export function gradeFor(score: number): Grade {
  for (const band of GRADE_BANDS) {
    if (score >= band.min) return band.grade;
  }
  return 'F';
}

/**
 * Names of the thresholds a score has reached (threshold score ≤ score), lowest first.
 *
 * @example
 * reachedThresholds(85, [{ name: 'warm', score: 50 }, { name: 'hot', score: 80 }]) // ['warm', 'hot']
 */
export function reachedThresholds(score: number, thresholds: readonly Threshold[]): string[] {
  return [...thresholds]
    .sort((a, b) => a.score - b.score)
    .filter((threshold) => threshold.score <= score)
    .map((threshold) => threshold.name);
}

/**
 * One crossing per threshold that entered (`up`) or left (`down`) the reached set. Names no
 * longer in the ruleset are ignored so that editing thresholds does not alert on removed ones.
 *
 * @example
 * thresholdCrossings([], ['hot'], [{ name: 'hot', score: 80 }], 82)
 * // [{ kind: 'threshold_crossed', threshold: 'hot', direction: 'up', score: 82 }]
 */
export function thresholdCrossings(
  before: readonly string[],
  after: readonly string[],
  thresholds: readonly Threshold[],
  score: number,
): ThresholdCrossed[] {
  const was = new Set(before);
  const is = new Set(after);
  const ordered = [...thresholds].sort((a, b) => a.score - b.score);
  const ups = ordered.filter((t) => is.has(t.name) && !was.has(t.name));
  const downs = ordered.filter((t) => was.has(t.name) && !is.has(t.name)).reverse();
  return [
    ...ups.map(
      (t): ThresholdCrossed => ({ kind: 'threshold_crossed', threshold: t.name, direction: 'up', score }),
    ),
    ...downs.map(
      (t): ThresholdCrossed => ({ kind: 'threshold_crossed', threshold: t.name, direction: 'down', score }),
    ),
  ];
}
