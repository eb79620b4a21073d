import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  emptyLeadState,
  type LeadState,
  processLeadEvents,
  recomputeLead,
  type StoredEvent,
} from '../../src/engine/lead-processor.ts';
import { parseRuleset, type Ruleset } from '../../src/engine/ruleset.ts';
import { dayKey } from '../../src/engine/calendar.ts';
import type { ScoreRow } from '../../src/engine/scoring.ts';
import { DAY, HOUR, rules, T0 } from '../support/engine-rules.ts';

const RUNS = { seed: 20250303, numRuns: 150 };

/** Small caps, short expiries and heavy penalties, so random sequences hit every edge. */
const stress = rules(`
timezone: America/New_York
thresholds:
  - { name: warm, score: 30 }
  - { name: hot, score: 70 }
scoring:
  rules:
    - { id: opened, event: email.opened, points: 3, category: engagement, caps: { daily: 5, lifetime: 11 }, expires_days: 3 }
    - { id: clicked, event: email.clicked, points: 7, category: engagement, caps: { daily: 10 }, expires_days: 5 }
    - { id: demo, event: form.submitted, when: [{ field: metadata.form_type, op: equals, value: demo }], points: 40, category: intent, caps: { lifetime: 60 }, expires_days: 7 }
    - { id: any, event: "*", points: 2, category: behaviour, caps: { daily: 4, lifetime: 9 }, expires_days: 2 }
    - { id: bounce, event: email.bounced, points: -15, category: negative, caps: { lifetime: 40 } }
    - { id: unsub, event: email.unsubscribed, points: -25, category: negative }
    - { id: meeting, event: meeting.booked, points: 30, category: intent }
    - { id: fit, event: "*", when: [{ field: lead.title, op: contains, value: director }], points: 10, category: fit, caps: { lifetime: 10 } }
intent:
  rules:
    - { id: demo, event: form.submitted, when: [{ field: metadata.form_type, op: equals, value: demo }], intent: b2b, signal: DEMO, weight: 40, tier: CRITICAL, decay_hours: 30 }
    - { id: protocol, event: page.viewed, when: [{ field: metadata.url, op: contains, value: protocol }], intent: research, signal: PROTOCOL, weight: 15, tier: MEDIUM, decay_hours: 200 }
    - { id: partner, event: page.viewed, when: [{ field: metadata.url, op: contains, value: partner }], intent: co_creation, signal: PARTNER, weight: 20, tier: LOW, decay_hours: 90 }
`);
const shipped = parseRuleset(readFileSync(new URL('../../rules/default.yml', import.meta.url), 'utf8'));

const TYPES = [
  'email.opened',
  'email.clicked',
  'email.replied',
  'email.bounced',
  'email.unsubscribed',
  'form.submitted',
  'meeting.booked',
  'meeting.canceled',
  'page.viewed',
  'content.downloaded',
  'webinar.attended',
];
const SPAN = 20 * DAY;

const eventArb = fc.record({
  type: fc.constantFrom(...TYPES),
  offsetMinutes: fc.integer({ min: 0, max: SPAN / 60_000 }),
  formType: fc.constantFrom(undefined, 'demo', 'pricing', 'sample_request', 'co_development'),
  url: fc.constantFrom(undefined, '/pricing', '/protocols/dna-extraction', '/partners', '/careers'),
  title: fc.constantFrom(undefined, 'Lab Director', 'Postdoc', ''),
  email: fc.constantFrom(undefined, 'pi@uni-heidelberg.de', 'someone@gmail.com'),
});

/** Events with unique ids (the index), in random order. */
const sequenceArb = fc.array(eventArb, { maxLength: 40 }).map((drafts) =>
  drafts.map(
    (draft, i): StoredEvent => ({
      id: `e${String(i).padStart(3, '0')}`,
      type: draft.type,
      source: 'website',
      occurredAt: new Date(T0.getTime() + draft.offsetMinutes * 60_000).toISOString(),
      lead: { ids: {}, email: draft.email, title: draft.title },
      metadata: {
        ...(draft.formType === undefined ? {} : { form_type: draft.formType }),
        ...(draft.url === undefined ? {} : { url: draft.url }),
      },
      utm: {},
    }),
  ),
);
const rulesetArb = fc.constantFrom<Ruleset>(stress, shipped);
/** A clock somewhere from the first event to well after the last. */
const nowArb = fc.integer({ min: 0, max: SPAN + 15 * DAY }).map((ms) => new Date(T0.getTime() + ms));
/** Cut points that split a sequence into consecutive batches. */
const cutsArb = fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 5 });

function split<T>(items: readonly T[], cuts: readonly number[]): T[][] {
  const points = [...new Set(cuts.map((c) => Math.min(c, items.length)))].sort((a, b) => a - b);
  const batches: T[][] = [];
  let start = 0;
  for (const point of [...points, items.length]) {
    batches.push(items.slice(start, point));
    start = point;
  }
  return batches;
}

function byTime(events: readonly StoredEvent[]): StoredEvent[] {
  return [...events].sort(
    (a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** Processes batches in turn with non-decreasing clocks that end at `finalNow`. */
function processInBatches(batches: readonly StoredEvent[][], ruleset: Ruleset, finalNow: Date) {
  let state: LeadState = emptyLeadState('lead');
  const rows: ScoreRow[] = [];
  batches.forEach((batch, i) => {
    const now = new Date(finalNow.getTime() - (batches.length - 1 - i) * HOUR);
    const outcome = processLeadEvents(state, batch, ruleset, now);
    rows.push(...outcome.newScoreRows);
    state = outcome.state;
  });
  return { state: recomputeLead(state, ruleset, finalNow).state, rows };
}

describe('lead engine properties', () => {
  it('keeps the score within 0–100 and confidence within 0–100', () => {
    fc.assert(
      fc.property(sequenceArb, rulesetArb, nowArb, (events, ruleset, now) => {
        const { state } = processLeadEvents(emptyLeadState('lead'), events, ruleset, now);
        expect(Number.isInteger(state.score)).toBe(true);
        expect(state.score).toBeGreaterThanOrEqual(0);
        expect(state.score).toBeLessThanOrEqual(100);
        expect(state.intentConfidence).toBeGreaterThanOrEqual(0);
        expect(state.intentConfidence).toBeLessThanOrEqual(100);
      }),
      RUNS,
    );
  });

  it('is idempotent: a replayed batch or duplicated events change nothing', () => {
    fc.assert(
      fc.property(sequenceArb, rulesetArb, nowArb, (events, ruleset, now) => {
        const once = processLeadEvents(emptyLeadState('lead'), events, ruleset, now);
        const twice = processLeadEvents(once.state, events, ruleset, now);
        expect(twice.state).toEqual(once.state);
        expect(twice.newScoreRows).toEqual([]);
        expect(twice.newSignals).toEqual([]);
        const duplicated = processLeadEvents(
          emptyLeadState('lead'),
          [...events, ...[...events].reverse()],
          ruleset,
          now,
        );
        expect(duplicated.state).toEqual(once.state);
        expect(duplicated.newScoreRows).toEqual(once.newScoreRows);
      }),
      RUNS,
    );
  });

  it('never exceeds a daily or lifetime cap, however the events are split into batches', () => {
    fc.assert(
      fc.property(sequenceArb, rulesetArb, nowArb, cutsArb, (events, ruleset, now, cuts) => {
        // Random order on purpose: late events from the past must respect the caps too.
        const { state, rows } = processInBatches(split(events, cuts), ruleset, now);
        const lifetime = new Map<string, number>();
        const daily = new Map<string, number>();
        for (const row of rows) {
          expect(row.dayKey).toBe(dayKey(row.occurredAt, ruleset.timezone));
          lifetime.set(row.ruleId, (lifetime.get(row.ruleId) ?? 0) + Math.abs(row.points));
          const key = `${row.ruleId} ${row.dayKey}`;
          daily.set(key, (daily.get(key) ?? 0) + Math.abs(row.points));
        }
        for (const rule of ruleset.scoring.rules) {
          if (rule.caps?.lifetime !== undefined)
            expect(lifetime.get(rule.id) ?? 0).toBeLessThanOrEqual(rule.caps.lifetime);
          expect(state.awards[rule.id]?.lifetime ?? 0).toBe(lifetime.get(rule.id) ?? 0);
        }
        for (const [key, points] of daily) {
          const rule = ruleset.scoring.rules.find((r) => r.id === key.split(' ')[0]);
          if (rule?.caps?.daily !== undefined) expect(points).toBeLessThanOrEqual(rule.caps.daily);
        }
        expect(new Set(rows.map((r) => `${r.eventId} ${r.ruleId}`)).size).toBe(rows.length);
      }),
      RUNS,
    );
  });

  it('never raises a score as time passes without events', () => {
    fc.assert(
      fc.property(
        sequenceArb,
        rulesetArb,
        nowArb,
        fc.array(fc.integer({ min: 0, max: 30 * DAY }), { minLength: 1, maxLength: 6 }),
        (events, ruleset, now, steps) => {
          const start = processLeadEvents(emptyLeadState('lead'), events, ruleset, now).state;
          let chained = start;
          let previous = start.score;
          for (const step of [...steps].sort((a, b) => a - b)) {
            const clock = now.getTime() + step;
            chained = recomputeLead(chained, ruleset, new Date(clock)).state;
            const fresh = recomputeLead(start, ruleset, new Date(clock)).state;
            expect(chained.score).toBeLessThanOrEqual(previous);
            expect(fresh.score).toBe(chained.score);
            previous = chained.score;
          }
        },
      ),
      RUNS,
    );
  });

  it('gives the same lead whether a time-ordered sequence arrives in one batch or many', () => {
    fc.assert(
      fc.property(sequenceArb, rulesetArb, nowArb, cutsArb, (events, ruleset, now, cuts) => {
        const ordered = byTime(events);
        const whole = processLeadEvents(emptyLeadState('lead'), ordered, ruleset, now);
        const batched = processInBatches(split(ordered, cuts), ruleset, now);
        expect(batched.state).toEqual(whole.state);
        expect(batched.rows).toEqual(whole.newScoreRows);
      }),
      RUNS,
    );
  });
});
