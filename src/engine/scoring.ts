import { dayKey } from './calendar.ts';
import type { EventContext } from './conditions.ts';
import { clampScore } from './grade.ts';
import type { Ruleset, ScoringRule } from './ruleset.ts';

/** One award of points to a lead: unique per (event, rule). */
export interface ScoreRow {
  eventId: string;
  ruleId: string;
  category: string;
  /** Signed points after caps; never 0. */
  points: number;
  occurredAt: Date;
  /** null for awards that never expire (every negative award, and rules without expires_days). */
  expiresAt: Date | null;
  /** Calendar day of the event in the ruleset's time zone (YYYY-MM-DD); the daily cap's bucket. */
  dayKey: string;
}

/** Absolute points a rule has awarded to one lead so far, expired awards included. */
export interface RuleAward {
  lifetime: number;
  /** Only days the current batch touches are needed (see `eventDayKeys`). */
  byDay: Record<string, number>;
}

/** Awards per rule id. */
export type AwardLedger = Record<string, RuleAward>;

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Signed points a rule may still award for an event on `day`: |points| clipped to what the
 * daily and lifetime caps have left, 0 when a cap is used up.
 *
 * @example
 * cappedPoints({ points: 2, caps: { lifetime: 5 } }, '2025-03-02', { lifetime: 4, byDay: {} }) // 1
 */
export function cappedPoints(
  rule: Pick<ScoringRule, 'points' | 'caps'>,
  day: string,
  award: RuleAward | undefined,
): number {
  let allowed = Math.abs(rule.points);
  if (rule.caps?.daily !== undefined) allowed = Math.min(allowed, rule.caps.daily - (award?.byDay[day] ?? 0));
  if (rule.caps?.lifetime !== undefined)
    allowed = Math.min(allowed, rule.caps.lifetime - (award?.lifetime ?? 0));
  return allowed <= 0 ? 0 : Math.sign(rule.points) * allowed;
}

/** The ledger with one more award recorded; the input is not changed. */
export function recordAward(awards: AwardLedger, ruleId: string, day: string, points: number): AwardLedger {
  const before = awards[ruleId];
  const absolute = Math.abs(points);
  return {
    ...awards,
    [ruleId]: {
      lifetime: (before?.lifetime ?? 0) + absolute,
      byDay: { ...before?.byDay, [day]: (before?.byDay[day] ?? 0) + absolute },
    },
  };
}

/**
 * Scores one event against every scoring rule, honouring caps, and returns the new rows with
 * the updated ledger. The lead engine calls this in event order; callers rarely need it directly.
 *
 * @example
 * const { rows, awards: next } = scoreEvent(ctx, ruleset, awards);
 */
export function scoreEvent(
  ctx: EventContext,
  ruleset: Pick<Ruleset, 'scoring' | 'timezone'>,
  awards: AwardLedger,
): { rows: ScoreRow[]; awards: AwardLedger } {
  const rows: ScoreRow[] = [];
  const day = dayKey(ctx.occurredAt, ruleset.timezone);
  let ledger = awards;
  for (const rule of ruleset.scoring.rules) {
    if (!rule.matches(ctx)) continue;
    const points = cappedPoints(rule, day, ledger[rule.id]);
    if (points === 0) continue;
    ledger = recordAward(ledger, rule.id, day, points);
    const expires = points > 0 && rule.expires_days !== undefined;
    rows.push({
      eventId: ctx.eventId,
      ruleId: rule.id,
      category: rule.category,
      points,
      occurredAt: ctx.occurredAt,
      expiresAt: expires ? new Date(ctx.occurredAt.getTime() + rule.expires_days! * DAY_MS) : null,
      dayKey: day,
    });
  }
  return { rows, awards: ledger };
}

/** True while a row still counts toward the score. */
export function isRowActive(row: Pick<ScoreRow, 'expiresAt'>, now: Date): boolean {
  return row.expiresAt === null || row.expiresAt.getTime() > now.getTime();
}

/**
 * The score at `now`: the sum of active rows, clamped to 0–100.
 *
 * @example
 * scoreAt([{ points: 30, expiresAt: null }, { points: -50, expiresAt: null }], now) // 0
 */
export function scoreAt(rows: readonly Pick<ScoreRow, 'points' | 'expiresAt'>[], now: Date): number {
  let raw = 0;
  for (const row of rows) if (isRowActive(row, now)) raw += row.points;
  return clampScore(raw);
}
