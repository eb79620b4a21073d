import { describe, expect, it } from 'vitest';
import { signalWeightAt, summarizeIntent } from '../../src/engine/intent.ts';
import { isUrgentEvent } from '../../src/engine/urgency.ts';
import {
  emptyLeadState,
  explainLead,
  processLeadEvents,
  recomputeLead,
} from '../../src/engine/lead-processor.ts';
import { at, DAY, HOUR, rules, storedEvent, T0 } from '../support/engine-rules.ts';

const ruleset = rules(`
intent:
  intents: [research, b2b, co_creation]
  rules:
    - { id: protocol, event: content.downloaded, intent: research, signal: PROTOCOL, weight: 30, tier: MEDIUM, decay_hours: 100 }
    - { id: demo, event: form.submitted, when: [{ field: metadata.form_type, op: equals, value: demo }], intent: b2b, signal: DEMO_REQUEST, weight: 10, tier: CRITICAL, decay_hours: 10 }
    - { id: partner, event: page.viewed, intent: co_creation, signal: PARTNER_PAGE, weight: 30, tier: LOW, decay_hours: 100 }
`);

describe('signal decay', () => {
  const signal = { weight: 30, decayHours: 48, occurredAt: T0 };

  it('decays linearly to zero and never below', () => {
    expect(signalWeightAt(signal, T0)).toBe(30);
    expect(signalWeightAt(signal, at(12 * HOUR))).toBe(22.5);
    expect(signalWeightAt(signal, at(48 * HOUR))).toBe(0);
    expect(signalWeightAt(signal, at(480 * HOUR))).toBe(0);
  });

  it('never counts negative age', () => {
    expect(signalWeightAt(signal, at(-5 * HOUR))).toBe(30);
  });
});

describe('summarizeIntent', () => {
  it('computes confidence as the primary share, rounded', () => {
    const signals = [
      {
        eventId: 'a',
        ruleId: 'r',
        intent: 'research',
        signal: 'S',
        weight: 10,
        tier: 'LOW' as const,
        occurredAt: T0,
        decayHours: 10,
      },
      {
        eventId: 'b',
        ruleId: 'r',
        intent: 'b2b',
        signal: 'S',
        weight: 20,
        tier: 'LOW' as const,
        occurredAt: T0,
        decayHours: 10,
      },
    ];
    expect(summarizeIntent(signals, ['research', 'b2b', 'co_creation'], T0)).toEqual({
      primary: 'b2b',
      confidence: 67,
      weights: [
        { intent: 'research', weight: 10 },
        { intent: 'b2b', weight: 20 },
        { intent: 'co_creation', weight: 0 },
      ],
    });
  });

  it('breaks ties by ruleset order and ignores intents no longer configured', () => {
    const signal = (intent: string) => ({
      eventId: intent,
      ruleId: 'r',
      intent,
      signal: 'S',
      weight: 5,
      tier: 'LOW' as const,
      occurredAt: T0,
      decayHours: 10,
    });
    const summary = summarizeIntent(
      [signal('co_creation'), signal('b2b'), signal('legacy')],
      ['research', 'b2b', 'co_creation'],
      T0,
    );
    expect(summary.primary).toBe('b2b');
    expect(summary.confidence).toBe(50);
  });

  it('has no primary and 0 confidence without signals', () => {
    expect(summarizeIntent([], ['research'], T0)).toMatchObject({ primary: null, confidence: 0 });
  });
});

describe('intent through the lead processor', () => {
  it('follows decay: the primary intent shifts as short signals fade, then drops out', () => {
    const demo = (ms: number) =>
      storedEvent({ type: 'form.submitted', metadata: { form_type: 'demo' }, occurredAt: at(ms) });
    const events = [
      demo(0),
      demo(1),
      demo(2),
      demo(3),
      storedEvent({ type: 'content.downloaded', occurredAt: T0 }),
    ];
    const outcome = processLeadEvents(emptyLeadState('l1'), events, ruleset, at(3));
    // b2b 40 (four demos of 10) against research 30.
    expect(outcome.state.primaryIntent).toBe('b2b');
    expect(outcome.state.intentConfidence).toBe(57);
    expect(outcome.changes.filter((c) => c.kind === 'critical_signal')).toHaveLength(4);
    expect(outcome.changes.at(-1)).toEqual({ kind: 'intent_changed', from: null, to: 'b2b', confidence: 57 });

    // After 5 h: b2b ≈ 20, research 28.5 → research 59 %.
    const fiveHours = recomputeLead(outcome.state, ruleset, at(5 * HOUR));
    expect(fiveHours.changes).toEqual([
      { kind: 'intent_changed', from: 'b2b', to: 'research', confidence: 59 },
    ]);

    // After 10 h the demos have decayed fully and leave the state.
    const tenHours = recomputeLead(fiveHours.state, ruleset, at(11 * HOUR));
    expect(tenHours.state.signals.map((s) => s.ruleId)).toEqual(['protocol']);
    expect(tenHours.state.intentConfidence).toBe(100);
    expect(tenHours.changes).toEqual([]);

    const gone = recomputeLead(tenHours.state, ruleset, at(100 * HOUR));
    expect(gone.state.signals).toEqual([]);
    expect(gone.state.primaryIntent).toBeNull();
    expect(gone.changes).toEqual([{ kind: 'intent_changed', from: 'research', to: null, confidence: 0 }]);
    expect(gone.signalsActiveUntil).toBeNull();
  });

  it('breaks a tie by the ruleset order of intents', () => {
    const events = [
      storedEvent({ type: 'content.downloaded', occurredAt: T0 }),
      storedEvent({ type: 'page.viewed', occurredAt: T0 }),
    ];
    const outcome = processLeadEvents(emptyLeadState('l1'), events, ruleset, T0);
    expect(outcome.state.primaryIntent).toBe('research');
    expect(outcome.state.intentConfidence).toBe(50);
  });

  it('reports a critical signal only while it still carries weight', () => {
    const old = storedEvent({ type: 'form.submitted', metadata: { form_type: 'demo' }, occurredAt: T0 });
    const replayed = processLeadEvents(emptyLeadState('l1'), [old], ruleset, at(DAY));
    expect(replayed.newSignals).toHaveLength(1);
    expect(replayed.changes).toEqual([]);
  });

  it('explains signals and intent shares', () => {
    const outcome = processLeadEvents(
      emptyLeadState('l1'),
      [
        storedEvent({ type: 'page.viewed', occurredAt: T0 }),
        storedEvent({ type: 'content.downloaded', occurredAt: T0 }),
      ],
      ruleset,
      T0,
    );
    const explained = explainLead(outcome.state, ruleset, at(50 * HOUR));
    expect(explained.signals.map((s) => [s.signal, s.currentWeight])).toEqual([
      ['PARTNER_PAGE', 15],
      ['PROTOCOL', 15],
    ]);
    expect(explained.intents).toEqual([
      { intent: 'research', weight: 15, share: 50 },
      { intent: 'b2b', weight: 0, share: 0 },
      { intent: 'co_creation', weight: 15, share: 50 },
    ]);
    expect(outcome.intentWeights).toEqual({ research: 30, b2b: 0, co_creation: 30 });
    expect(outcome.signalsActiveUntil).toEqual(at(100 * HOUR));
  });
});

describe('urgent events', () => {
  const demo = (occurredAt: Date, email = 'jane@lab.example.org') =>
    storedEvent({ type: 'form.submitted', metadata: { form_type: 'demo' }, occurredAt, lead: { email } });

  it('sends a fresh demo request down the urgent lane and ordinary traffic not', () => {
    expect(isUrgentEvent(demo(T0), ruleset, at(HOUR))).toBe(true);
    expect(isUrgentEvent(storedEvent({ type: 'content.downloaded' }), ruleset, T0)).toBe(false);
    expect(isUrgentEvent(storedEvent({ type: 'form.submitted', metadata: { form_type: 'contact' } }), ruleset, T0)).toBe(
      false,
    );
  });

  it('leaves a demo request replayed after its signal decayed in the ordinary lane', () => {
    expect(isUrgentEvent(demo(T0), ruleset, at(10 * HOUR))).toBe(false);
  });

  it('judges conditions on the lead from what the event says about it', () => {
    const workOnly = rules(`
intent:
  intents: [b2b]
  rules:
    - { id: demo, event: form.submitted, when: [{ field: lead.free_mail, op: equals, value: false }], intent: b2b, signal: DEMO, weight: 10, tier: CRITICAL, decay_hours: 10 }
`);
    expect(isUrgentEvent(demo(T0, 'buyer@pharma.example'), workOnly, T0)).toBe(true);
    expect(isUrgentEvent(demo(T0, 'someone@gmail.com'), workOnly, T0)).toBe(false);
  });
});
