import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clampScore, GRADE_BANDS, gradeFor } from '../../src/engine/grade.ts';
import {
  emptyLeadState,
  eventDayKeys,
  explainLead,
  processLeadEvents,
  recomputeLead,
} from '../../src/engine/lead-processor.ts';
import { parseRuleset } from '../../src/engine/ruleset.ts';
import { dayKey } from '../../src/engine/calendar.ts';
import { at, DAY, HOUR, rules, storedEvent, T0 } from '../support/engine-rules.ts';

const ruleset = rules(`
thresholds:
  - { name: warm, score: 40 }
  - { name: hot, score: 80 }
scoring:
  rules:
    - { id: opened, event: email.opened, points: 1, category: engagement, caps: { daily: 2, lifetime: 5 }, expires_days: 30 }
    - { id: demo, event: form.submitted, points: 45, category: intent, expires_days: 10 }
    - { id: booked, event: meeting.booked, points: 40, category: intent }
    - { id: bounced, event: email.bounced, points: -30, category: negative }
    - { id: capped, event: webinar.attended, points: 7, category: engagement, caps: { lifetime: 10 } }
`);

describe('grades', () => {
  it.each([
    [100, 'A'],
    [80, 'A'],
    [79, 'B'],
    [60, 'B'],
    [59, 'C'],
    [40, 'C'],
    [39, 'D'],
    [20, 'D'],
    [19, 'F'],
    [0, 'F'],
  ])('%i is %s', (score, grade) => {
    expect(gradeFor(score)).toBe(grade);
  });

  it('bands cover 0–100 without gaps', () => {
    const covered = GRADE_BANDS.flatMap((band) =>
      Array.from({ length: band.max - band.min + 1 }, (_, i) => band.min + i),
    ).sort((a, b) => a - b);
    expect(covered).toEqual(Array.from({ length: 101 }, (_, i) => i));
  });

  it('clamps', () => {
    expect(clampScore(-20)).toBe(0);
    expect(clampScore(130)).toBe(100);
  });
});

describe('caps', () => {
  it('stops repeated email opens at the cap (Mautic regression)', () => {
    const opens = Array.from({ length: 50 }, (_, i) =>
      storedEvent({ type: 'email.opened', occurredAt: at(i * HOUR) }),
    );
    const once = processLeadEvents(emptyLeadState('l1'), opens, ruleset, at(3 * DAY));
    expect(once.state.score).toBe(5);
    expect(once.newScoreRows).toHaveLength(5);
    expect(once.state.awards['opened']?.lifetime).toBe(5);

    // More opens on later days add nothing either, even after the first ones expired.
    const later = Array.from({ length: 10 }, (_, i) =>
      storedEvent({ type: 'email.opened', occurredAt: at(40 * DAY + i * HOUR) }),
    );
    const again = processLeadEvents(once.state, later, ruleset, at(41 * DAY));
    expect(again.newScoreRows).toEqual([]);
    expect(again.state.score).toBe(0);
  });

  it('applies the daily cap per day in the ruleset time zone', () => {
    // 23:30 UTC on 3 March is already 4 March in Berlin.
    const lateEvening = new Date('2025-03-03T23:30:00Z');
    expect(dayKey(lateEvening, 'Europe/Berlin')).toBe('2025-03-04');
    expect(dayKey(lateEvening, 'UTC')).toBe('2025-03-03');
    const events = [
      storedEvent({ type: 'email.opened', occurredAt: new Date('2025-03-03T10:00:00Z') }),
      storedEvent({ type: 'email.opened', occurredAt: new Date('2025-03-03T12:00:00Z') }),
      storedEvent({ type: 'email.opened', occurredAt: new Date('2025-03-03T20:00:00Z') }),
      storedEvent({ type: 'email.opened', occurredAt: lateEvening }),
    ];
    const outcome = processLeadEvents(emptyLeadState('l1'), events, ruleset, at(2 * DAY));
    expect(outcome.newScoreRows.map((row) => row.dayKey)).toEqual(['2025-03-03', '2025-03-03', '2025-03-04']);
    expect(eventDayKeys(events, ruleset)).toEqual(['2025-03-03', '2025-03-04']);
  });

  it('clips an award to what the lifetime cap has left', () => {
    const events = [0, 1, 2].map((i) => storedEvent({ type: 'webinar.attended', occurredAt: at(i * DAY) }));
    const outcome = processLeadEvents(emptyLeadState('l1'), events, ruleset, at(3 * DAY));
    expect(outcome.newScoreRows.map((row) => row.points)).toEqual([7, 3]);
  });
});

describe('score', () => {
  it('clamps negative totals to 0 without error and keeps penalties', () => {
    const outcome = processLeadEvents(
      emptyLeadState('l1'),
      [storedEvent({ type: 'email.bounced' }), storedEvent({ type: 'email.opened', occurredAt: at(HOUR) })],
      ruleset,
      at(DAY),
    );
    expect(outcome.state.score).toBe(0);
    expect(outcome.newScoreRows.find((row) => row.ruleId === 'bounced')?.expiresAt).toBeNull();
    const explained = explainLead(outcome.state, ruleset, at(DAY));
    expect(explained.breakdown.map((b) => b.points)).toEqual([-30, 1]);
    expect(explained.score).toBe(0);
  });

  it('expires positive awards after expires_days', () => {
    const outcome = processLeadEvents(
      emptyLeadState('l1'),
      [storedEvent({ type: 'form.submitted' })],
      ruleset,
      T0,
    );
    expect(outcome.state.score).toBe(45);
    expect(outcome.newScoreRows[0]?.expiresAt).toEqual(at(10 * DAY));
    expect(recomputeLead(outcome.state, ruleset, at(10 * DAY - 1)).state.score).toBe(45);
    const expired = recomputeLead(outcome.state, ruleset, at(10 * DAY));
    expect(expired.state.score).toBe(0);
    expect(expired.state.activeScoreRows).toEqual([]);
    expect(expired.scoreExpiresAt).toBeNull();
  });

  it('skips events already applied and duplicates within a batch', () => {
    const demo = storedEvent({ type: 'form.submitted' });
    const first = processLeadEvents(emptyLeadState('l1'), [demo, demo], ruleset, T0);
    expect(first.newScoreRows).toHaveLength(1);
    expect(first.skipped).toEqual([{ eventId: demo.id, reason: 'already_applied' }]);
    const second = processLeadEvents(first.state, [demo], ruleset, T0);
    expect(second.newScoreRows).toEqual([]);
    expect(second.state).toEqual(first.state);
  });

  it('skips events with an unreadable time', () => {
    const bad = storedEvent({ type: 'form.submitted', occurredAt: 'yesterday' });
    const outcome = processLeadEvents(emptyLeadState('l1'), [bad], ruleset, T0);
    expect(outcome.skipped).toEqual([{ eventId: bad.id, reason: 'invalid_occurred_at' }]);
    expect(outcome.state.appliedEventIds).toEqual([]);
  });
});

describe('thresholds and grades', () => {
  it('reports each crossing once, up and down', () => {
    const up = processLeadEvents(
      emptyLeadState('l1'),
      [storedEvent({ type: 'form.submitted' })],
      ruleset,
      T0,
    );
    expect(up.changes).toEqual([
      { kind: 'threshold_crossed', threshold: 'warm', direction: 'up', score: 45 },
      { kind: 'grade_changed', from: 'F', to: 'C' },
    ]);
    const hot = processLeadEvents(
      up.state,
      [storedEvent({ type: 'meeting.booked', occurredAt: at(HOUR) })],
      ruleset,
      at(HOUR),
    );
    expect(hot.state.score).toBe(85);
    expect(hot.changes).toEqual([
      { kind: 'threshold_crossed', threshold: 'hot', direction: 'up', score: 85 },
      { kind: 'grade_changed', from: 'C', to: 'A' },
    ]);
    const same = processLeadEvents(
      hot.state,
      [storedEvent({ type: 'email.opened', occurredAt: at(2 * HOUR) })],
      ruleset,
      at(2 * HOUR),
    );
    expect(same.changes).toEqual([]);

    const decayed = recomputeLead(same.state, ruleset, at(11 * DAY));
    expect(decayed.state.score).toBe(41);
    expect(decayed.changes).toEqual([
      { kind: 'threshold_crossed', threshold: 'hot', direction: 'down', score: 41 },
      { kind: 'grade_changed', from: 'A', to: 'C' },
    ]);
    expect(recomputeLead(decayed.state, ruleset, at(12 * DAY)).changes).toEqual([]);
  });
});

describe('attribution and profile', () => {
  it('keeps the earliest touch first, the latest last, and lets late events only fill gaps', () => {
    const late = storedEvent({
      occurredAt: at(2 * DAY),
      utm: { source: 'linkedin', campaign: 'spring-webinar' },
      lead: { title: 'Head of Genomics' },
    });
    const first = processLeadEvents(emptyLeadState('l1'), [late], ruleset, at(3 * DAY));
    const early = storedEvent({
      occurredAt: T0,
      source: 'hubspot',
      lead: { title: 'Postdoc', company: 'EMBL' },
    });
    const outcome = processLeadEvents(first.state, [early], ruleset, at(3 * DAY));
    expect(outcome.state.firstTouch).toEqual({ source: 'hubspot', campaign: null, at: T0.toISOString() });
    expect(outcome.state.lastTouch).toEqual({
      source: 'linkedin',
      campaign: 'spring-webinar',
      at: at(2 * DAY).toISOString(),
    });
    expect(outcome.state.lastActivityAt).toBe(at(2 * DAY).toISOString());
    expect(outcome.state.profile).toEqual({ title: 'Head of Genomics', company: 'EMBL' });
    expect(outcome.state.email).toBe('jane@lab.example.org');
  });

  it('scores fit rules on the merged profile once', () => {
    const fit = rules(`
scoring:
  rules:
    - { id: senior, event: "*", when: [{ field: lead.title, op: regex, value: '\\b(director|pi)\\b' }], points: 15, category: fit, caps: { lifetime: 15 } }
    - { id: free-mail, event: "*", when: [{ field: lead.free_mail, op: equals, value: true }], points: -10, category: negative, caps: { lifetime: 10 } }
`);
    const events = [
      storedEvent({ occurredAt: T0, lead: { email: 'ada@gmx.de' } }),
      storedEvent({ occurredAt: at(HOUR), lead: { title: 'Lab Director' } }),
      storedEvent({ occurredAt: at(2 * HOUR) }),
    ];
    const outcome = processLeadEvents(emptyLeadState('l1'), events, fit, at(DAY));
    expect(outcome.newScoreRows.map((row) => [row.ruleId, row.points])).toEqual([
      ['free-mail', -10],
      ['senior', 15],
    ]);
    expect(outcome.state.score).toBe(5);
  });
});

describe('the shipped ruleset', () => {
  const shipped = parseRuleset(readFileSync(new URL('../../rules/default.yml', import.meta.url), 'utf8'));

  it('scores a lab head who requests a demo and books a call as hot, b2b, with critical alerts', () => {
    const lead = {
      email: 'head@uni-heidelberg.de',
      title: 'Head of Sequencing Core',
      company: 'Uni Heidelberg',
    };
    const events = [
      storedEvent({
        type: 'page.viewed',
        occurredAt: T0,
        metadata: { url: 'https://dna.example/pricing' },
        lead,
      }),
      storedEvent({ type: 'form.submitted', occurredAt: at(HOUR), metadata: { form_type: 'demo' }, lead }),
      storedEvent({
        type: 'meeting.booked',
        occurredAt: at(2 * HOUR),
        metadata: { event_name: 'Intro call' },
        lead,
      }),
    ];
    const outcome = processLeadEvents(emptyLeadState('l1'), events, shipped, at(3 * HOUR));
    expect(outcome.state.score).toBe(96);
    expect(outcome.state.grade).toBe('A');
    expect(outcome.state.thresholds).toEqual(['warm', 'hot']);
    expect(
      outcome.changes
        .filter((c) => c.kind === 'critical_signal')
        .map((c) => c.kind === 'critical_signal' && c.signal),
    ).toEqual(['DEMO_REQUEST', 'MEETING_SCHEDULED']);
    expect(outcome.state.primaryIntent).toBe('b2b');
  });

  it('caps email opens at 5 points for life', () => {
    const opens = Array.from({ length: 30 }, (_, i) =>
      storedEvent({ type: 'email.opened', occurredAt: at(i * 6 * HOUR) }),
    );
    const outcome = processLeadEvents(emptyLeadState('l1'), opens, shipped, at(8 * DAY));
    const points = outcome.newScoreRows
      .filter((row) => row.ruleId === 'email-opened')
      .reduce((s, r) => s + r.points, 0);
    expect(points).toBe(5);
  });
});
