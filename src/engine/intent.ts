import type { EventContext } from './conditions.ts';
import type { Intent, Ruleset, Tier } from './ruleset.ts';

/** One intent signal a lead showed: unique per (event, rule). */
export interface SignalRow {
  eventId: string;
  ruleId: string;
  intent: Intent;
  signal: string;
  weight: number;
  tier: Tier;
  occurredAt: Date;
  decayHours: number;
}

export interface IntentWeight {
  intent: Intent;
  weight: number;
}

export interface IntentSummary {
  /** The intent with the largest current weight; null when no signal is live. */
  primary: Intent | null;
  /** round(100 × primary weight / all intents' weight); 0 when there is no live signal. */
  confidence: number;
  /** Current weight per configured intent, in ruleset order. */
  weights: IntentWeight[];
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Intent signals an event shows, one per matching intent rule.
 *
 * @example
 * detectSignals(ctx, ruleset) // [{ ruleId: 'demo-request', intent: 'b2b', tier: 'CRITICAL', … }]
 */
export function detectSignals(ctx: EventContext, ruleset: Pick<Ruleset, 'intent'>): SignalRow[] {
  return ruleset.intent.rules
    .filter((rule) => rule.matches(ctx))
    .map((rule) => ({
      eventId: ctx.eventId,
      ruleId: rule.id,
      intent: rule.intent,
      signal: rule.signal,
      weight: rule.weight,
      tier: rule.tier,
      occurredAt: ctx.occurredAt,
      decayHours: rule.decay_hours,
    }));
}

/**
 * A signal's weight at `now`, decaying linearly to 0 over `decayHours` from when it occurred.
 * Age is never negative, so a signal stamped slightly in the future counts in full.
 *
 * @example
 * signalWeightAt({ weight: 30, decayHours: 48, occurredAt: twelveHoursAgo }, now) // 22.5
 */
export function signalWeightAt(
  signal: Pick<SignalRow, 'weight' | 'decayHours' | 'occurredAt'>,
  now: Date,
): number {
  const ageHours = Math.max(0, now.getTime() - signal.occurredAt.getTime()) / HOUR_MS;
  return signal.weight * Math.max(0, 1 - ageHours / signal.decayHours);
}

/**
 * When the last of these signals has fully decayed (null without signals): until then a lead's
 * intent may still shift, so the decay job keeps revisiting it.
 *
 * @example
 * signalsActiveUntil([{ occurredAt: new Date('2025-03-01T00:00:00Z'), decayHours: 48, … }]) // 2025-03-03T00:00:00Z
 */
export function signalsActiveUntil(signals: readonly Pick<SignalRow, 'occurredAt' | 'decayHours'>[]): Date | null {
  let found: Date | null = null;
  for (const signal of signals) {
    const end = new Date(signal.occurredAt.getTime() + signal.decayHours * HOUR_MS);
    if (found === null || end > found) found = end;
  }
  return found;
}

/** Signals that still carry weight at `now`; fully decayed ones drop out of the lead's state. */
export function liveSignals(signals: readonly SignalRow[], now: Date): SignalRow[] {
  return signals.filter((signal) => signalWeightAt(signal, now) > 0);
}

/**
 * Sums current weights per intent and picks the primary one. Ties go to the intent listed first
 * in the ruleset; signals for intents no longer in the ruleset are ignored.
 *
 * @example
 * summarizeIntent(signals, ['research', 'b2b', 'co_creation'], now)
 * // { primary: 'b2b', confidence: 75, weights: [{ intent: 'research', weight: 10 }, { intent: 'b2b', weight: 30 }, …] }
 */
export function summarizeIntent(
  signals: readonly SignalRow[],
  intents: readonly Intent[],
  now: Date,
): IntentSummary {
  const totals = new Map<Intent, number>(intents.map((intent) => [intent, 0]));
  for (const signal of signals) {
    const sum = totals.get(signal.intent);
    if (sum !== undefined) totals.set(signal.intent, sum + signalWeightAt(signal, now));
  }
  const weights = [...totals].map(([intent, weight]) => ({ intent, weight }));
  let primary: IntentWeight | null = null;
  let all = 0;
  for (const entry of weights) {
    all += entry.weight;
    if (entry.weight > 0 && (primary === null || entry.weight > primary.weight)) primary = entry;
  }
  return {
    primary: primary?.intent ?? null,
    confidence: primary === null || all <= 0 ? 0 : Math.round((100 * primary.weight) / all),
    weights,
  };
}
