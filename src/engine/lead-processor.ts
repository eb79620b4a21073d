import type { EventContext, LeadFacts } from './conditions.ts';
import type { LeadlineEvent, LeadProfile } from './event.ts';
import { type Grade, gradeFor, reachedThresholds } from './grade.ts';
import { emailDomain, isFreeMailDomain, mergeProfile, normalizeEmail } from './identity.ts';
import { type LeadChange, summaryChanges } from './lead-changes.ts';
import {
  detectSignals,
  liveSignals,
  type SignalRow,
  signalsActiveUntil,
  signalWeightAt,
  summarizeIntent,
} from './intent.ts';
import type { Ruleset } from './ruleset.ts';
import { dayKey } from './calendar.ts';
import { type AwardLedger, isRowActive, type ScoreRow, scoreAt, scoreEvent } from './scoring.ts';

/** An event as stored by intake: its id is always set. */
export type StoredEvent = LeadlineEvent & { id: string };

/** Where a lead came from: utm.source when the event has one, else the Leadline source. */
export interface Touch {
  source: string;
  campaign: string | null;
  /** ISO timestamp of the event. */
  at: string;
}

/** Everything the engine needs to know about one lead; loaded per batch, written back from the outcome. */
export interface LeadState {
  leadId: string;
  email: string | null;
  profile: LeadProfile;
  score: number;
  grade: Grade;
  /** Names of the thresholds the score has reached, lowest first. */
  thresholds: string[];
  /** Score rows still counting (expiresAt null or after now). */
  activeScoreRows: ScoreRow[];
  /** Per rule: lifetime absolute points, and absolute points on the days this batch touches. */
  awards: AwardLedger;
  /** Signals with weight left. */
  signals: SignalRow[];
  primaryIntent: string | null;
  intentConfidence: number;
  firstTouch: Touch | null;
  lastTouch: Touch | null;
  lastActivityAt: string | null;
  /** Ids among the incoming events that were already applied to this lead. */
  appliedEventIds: string[];
}

export type { LeadChange } from './lead-changes.ts';

export interface SkippedEvent {
  eventId: string;
  reason: 'already_applied' | 'invalid_occurred_at';
}

export interface LeadOutcome {
  state: LeadState;
  /** Rows to insert (unique on event + rule); some may already be expired when old events arrive late. */
  newScoreRows: ScoreRow[];
  /** Signals to insert (unique on event + rule). */
  newSignals: SignalRow[];
  changes: LeadChange[];
  skipped: SkippedEvent[];
  rulesetVersion: string;
  /** Current (decayed) weight per configured intent, for display and routing conflicts. */
  intentWeights: Record<string, number>;
  /** Earliest expiry among counting rows: when the decay job next needs to look at the score. */
  scoreExpiresAt: Date | null;
  /** When the last live signal has fully decayed: until then the intent may still shift. */
  signalsActiveUntil: Date | null;
}

interface Working {
  email: string | null;
  profile: LeadProfile;
  awards: AwardLedger;
  rows: ScoreRow[];
  signals: SignalRow[];
  firstTouch: Touch | null;
  lastTouch: Touch | null;
  lastActivityAt: string | null;
}

/**
 * The state of a lead nobody has scored yet.
 *
 * @example
 * processLeadEvents(emptyLeadState(newLeadId), clusterEvents, ruleset, now)
 */
export function emptyLeadState(leadId: string): LeadState {
  return {
    leadId,
    email: null,
    profile: {},
    score: 0,
    grade: 'F',
    thresholds: [],
    activeScoreRows: [],
    awards: {},
    signals: [],
    primaryIntent: null,
    intentConfidence: 0,
    firstTouch: null,
    lastTouch: null,
    lastActivityAt: null,
    appliedEventIds: [],
  };
}

/**
 * The distinct day keys (ruleset time zone) of a batch: `LeadState.awards[rule].byDay` needs
 * entries for these days only, so the job can load daily awards with one `day_key = ANY($1)` query.
 *
 * @example
 * eventDayKeys(events, ruleset) // ['2025-03-01', '2025-03-02']
 */
export function eventDayKeys(
  events: readonly Pick<LeadlineEvent, 'occurredAt'>[],
  ruleset: Ruleset,
): string[] {
  const days = new Set<string>();
  for (const event of events) {
    const at = new Date(event.occurredAt);
    if (!Number.isNaN(at.getTime())) days.add(dayKey(at, ruleset.timezone));
  }
  return [...days].sort();
}

/** The lead facts rules read, from what is known of the lead. */
export function leadFacts(email: string | null, profile: LeadProfile): LeadFacts {
  const domain = emailDomain(email);
  return { email, emailDomain: domain, freeMail: domain === null ? null : isFreeMailDomain(domain), profile };
}

function touchOf(event: StoredEvent, at: Date): Touch {
  const utmSource = event.utm.source?.trim();
  const campaign = event.utm.campaign?.trim();
  return {
    source: utmSource === undefined || utmSource === '' ? event.source : utmSource,
    campaign: campaign === undefined || campaign === '' ? null : campaign,
    at: at.toISOString(),
  };
}

/**
 * Folds one event into the working state (which the caller owns and this mutates, so a long
 * batch stays linear) and returns the rows and signals it produced.
 */
function applyEvent(working: Working, event: StoredEvent, at: Date, ruleset: Ruleset) {
  const time = at.getTime();
  const last = working.lastActivityAt === null ? null : Date.parse(working.lastActivityAt);
  // A late event from the past may only fill gaps in the profile, never overwrite newer values.
  working.profile =
    last === null || time >= last
      ? mergeProfile(working.profile, event.lead)
      : mergeProfile(event.lead, working.profile);
  working.email ??= normalizeEmail(event.lead.email);
  const ctx: EventContext = {
    eventId: event.id,
    occurredAt: at,
    event,
    lead: leadFacts(working.email, working.profile),
  };
  const scored = scoreEvent(ctx, ruleset, working.awards);
  const signals = detectSignals(ctx, ruleset);
  working.awards = scored.awards;
  working.rows.push(...scored.rows);
  working.signals.push(...signals);

  const touch = touchOf(event, at);
  if (working.firstTouch === null || time < Date.parse(working.firstTouch.at)) working.firstTouch = touch;
  if (working.lastTouch === null || time >= Date.parse(working.lastTouch.at)) working.lastTouch = touch;
  if (last === null || time > last) working.lastActivityAt = touch.at;
  return { rows: scored.rows, signals };
}

function earliest(dates: readonly (Date | null)[]): Date | null {
  let found: Date | null = null;
  for (const date of dates) if (date !== null && (found === null || date < found)) found = date;
  return found;
}

function workingOf(state: LeadState): Working {
  return {
    email: state.email,
    profile: state.profile,
    awards: state.awards,
    rows: [...state.activeScoreRows],
    signals: [...state.signals],
    firstTouch: state.firstTouch,
    lastTouch: state.lastTouch,
    lastActivityAt: state.lastActivityAt,
  };
}

function finalize(
  before: LeadState,
  working: Working,
  appliedEventIds: string[],
  ruleset: Ruleset,
  now: Date,
  fresh: { rows: ScoreRow[]; signals: SignalRow[]; skipped: SkippedEvent[] },
): LeadOutcome {
  const activeScoreRows = working.rows.filter((row) => isRowActive(row, now));
  const score = scoreAt(activeScoreRows, now);
  const grade = gradeFor(score);
  const thresholds = reachedThresholds(score, ruleset.thresholds);
  const signals = liveSignals(working.signals, now);
  const intent = summarizeIntent(signals, ruleset.intent.intents, now);

  const changes: LeadChange[] = fresh.signals
    // An old demo request replayed from an import is history, not something to act on now.
    .filter((signal) => signal.tier === 'CRITICAL' && signalWeightAt(signal, now) > 0)
    .map((signal) => ({
      kind: 'critical_signal',
      ruleId: signal.ruleId,
      signal: signal.signal,
      intent: signal.intent,
      eventId: signal.eventId,
    }));
  changes.push(
    ...summaryChanges(
      before,
      { score, grade, thresholds, primaryIntent: intent.primary, intentConfidence: intent.confidence },
      ruleset,
    ),
  );

  return {
    state: {
      leadId: before.leadId,
      email: working.email,
      profile: working.profile,
      score,
      grade,
      thresholds,
      activeScoreRows,
      awards: working.awards,
      signals,
      primaryIntent: intent.primary,
      intentConfidence: intent.confidence,
      firstTouch: working.firstTouch,
      lastTouch: working.lastTouch,
      lastActivityAt: working.lastActivityAt,
      appliedEventIds,
    },
    newScoreRows: fresh.rows,
    newSignals: fresh.signals,
    changes,
    skipped: fresh.skipped,
    rulesetVersion: ruleset.version,
    intentWeights: Object.fromEntries(intent.weights.map((entry) => [entry.intent, entry.weight])),
    scoreExpiresAt: earliest(activeScoreRows.map((row) => row.expiresAt)),
    signalsActiveUntil: signalsActiveUntil(signals),
  };
}

/**
 * Applies a batch of one lead's events: profile merge, attribution, capped scoring, intent
 * signals, then score/grade/thresholds/intent at `now` and what changed. Events run in
 * occurredAt order (ties by id); ids in `state.appliedEventIds` or repeated in the batch are
 * skipped, so replaying a batch changes nothing.
 *
 * @example
 * const outcome = processLeadEvents(state, events, ruleset, now);
 * // insert outcome.newScoreRows / newSignals, update the lead from outcome.state,
 * // alert on outcome.changes — all in one transaction
 */
export function processLeadEvents(
  state: LeadState,
  events: readonly StoredEvent[],
  ruleset: Ruleset,
  now: Date,
): LeadOutcome {
  const skipped: SkippedEvent[] = [];
  const timed: { event: StoredEvent; at: Date }[] = [];
  for (const event of events) {
    const at = new Date(event.occurredAt);
    if (Number.isNaN(at.getTime())) skipped.push({ eventId: event.id, reason: 'invalid_occurred_at' });
    else timed.push({ event, at });
  }
  timed.sort(
    (a, b) =>
      a.at.getTime() - b.at.getTime() || (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0),
  );

  const applied = new Set(state.appliedEventIds);
  const appliedEventIds = [...state.appliedEventIds];
  const rows: ScoreRow[] = [];
  const signals: SignalRow[] = [];
  const working = workingOf(state);
  for (const { event, at } of timed) {
    if (applied.has(event.id)) {
      skipped.push({ eventId: event.id, reason: 'already_applied' });
      continue;
    }
    applied.add(event.id);
    appliedEventIds.push(event.id);
    const result = applyEvent(working, event, at, ruleset);
    rows.push(...result.rows);
    signals.push(...result.signals);
  }
  return finalize(state, working, appliedEventIds, ruleset, now, { rows, signals, skipped });
}

/**
 * The decay job's pass over a lead without new events: drops expired rows and decayed signals,
 * recomputes score, grade, thresholds and intent at `now`, and reports what changed.
 * Scores never rise here: positive awards only expire and penalties never do.
 *
 * @example
 * const { state, changes } = recomputeLead(state, ruleset, now);
 */
export function recomputeLead(state: LeadState, ruleset: Ruleset, now: Date): LeadOutcome {
  return finalize(state, workingOf(state), [...state.appliedEventIds], ruleset, now, {
    rows: [],
    signals: [],
    skipped: [],
  });
}

export interface LeadExplanation {
  score: number;
  grade: Grade;
  breakdown: {
    ruleId: string;
    description: string | null;
    category: string;
    points: number;
    eventId: string;
    occurredAt: Date;
    expiresAt: Date | null;
  }[];
  signals: {
    ruleId: string;
    intent: string;
    signal: string;
    tier: string;
    weight: number;
    currentWeight: number;
    occurredAt: Date;
  }[];
  /** `share` is the intent's percentage of all current intent weight. */
  intents: { intent: string; weight: number; share: number }[];
}

/**
 * Why a lead scores what it scores at `now`: every counting award (oldest first), every live
 * signal with its decayed weight, and each intent's share. For `/lead` in Slack and audits.
 *
 * @example
 * explainLead(state, ruleset, now).breakdown[0] // { ruleId: 'pricing-page', points: 10, … }
 */
export function explainLead(state: LeadState, ruleset: Ruleset, now: Date): LeadExplanation {
  const descriptions = new Map(ruleset.scoring.rules.map((rule) => [rule.id, rule.description ?? null]));
  const rows = state.activeScoreRows
    .filter((row) => isRowActive(row, now))
    .sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime() || a.ruleId.localeCompare(b.ruleId));
  const score = scoreAt(rows, now);
  const signals = liveSignals(state.signals, now);
  const summary = summarizeIntent(signals, ruleset.intent.intents, now);
  const total = summary.weights.reduce((sum, entry) => sum + entry.weight, 0);
  const round2 = (n: number) => Math.round(n * 100) / 100;
  return {
    score,
    grade: gradeFor(score),
    breakdown: rows.map((row) => ({
      ruleId: row.ruleId,
      description: descriptions.get(row.ruleId) ?? null,
      category: row.category,
      points: row.points,
      eventId: row.eventId,
      occurredAt: row.occurredAt,
      expiresAt: row.expiresAt,
    })),
    signals: signals.map((signal) => ({
      ruleId: signal.ruleId,
      intent: signal.intent,
      signal: signal.signal,
      tier: signal.tier,
      weight: signal.weight,
      currentWeight: round2(signalWeightAt(signal, now)),
      occurredAt: signal.occurredAt,
    })),
    intents: summary.weights.map((entry) => ({
      intent: entry.intent,
      weight: round2(entry.weight),
      share: total > 0 ? Math.round((100 * entry.weight) / total) : 0,
    })),
  };
}
