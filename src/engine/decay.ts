import { clampScore, gradeFor, reachedThresholds } from './grade.ts';
import { type LeadChange, type ScoreSummary, summaryChanges } from './lead-changes.ts';
import { liveSignals, type SignalRow, signalsActiveUntil, summarizeIntent } from './intent.ts';
import type { Ruleset } from './ruleset.ts';

export interface DecayedLead extends ScoreSummary {
  thresholds: string[];
  /** Current (decayed) weight per configured intent. */
  intentWeights: Record<string, number>;
  signalsActiveUntil: Date | null;
  changes: LeadChange[];
}

/**
 * The decay job's recomputation of a lead whose active points PostgreSQL has already summed
 * (`rawPoints`: positive points not yet expired plus every penalty), with its signals. It gives what
 * `recomputeLead` gives for the same rows without loading each score row into JavaScript.
 *
 * @example
 * decayLead({ score: 55, grade: 'C', thresholds: ['warm'], primaryIntent: 'b2b', intentConfidence: 100 }, 45, signals, ruleset, now)
 * // { score: 45, thresholds: [], changes: [{ kind: 'threshold_crossed', threshold: 'warm', direction: 'down', … }], … }
 */
export function decayLead(
  before: ScoreSummary,
  rawPoints: number,
  signals: readonly SignalRow[],
  ruleset: Pick<Ruleset, 'thresholds' | 'intent'>,
  now: Date,
): DecayedLead {
  const score = clampScore(rawPoints);
  const live = liveSignals(signals, now);
  const intent = summarizeIntent(live, ruleset.intent.intents, now);
  const after: ScoreSummary & { thresholds: string[] } = {
    score,
    grade: gradeFor(score),
    thresholds: reachedThresholds(score, ruleset.thresholds),
    primaryIntent: intent.primary,
    intentConfidence: intent.confidence,
  };
  return {
    ...after,
    intentWeights: Object.fromEntries(intent.weights.map((entry) => [entry.intent, entry.weight])),
    signalsActiveUntil: signalsActiveUntil(live),
    changes: summaryChanges(before, after, ruleset),
  };
}
