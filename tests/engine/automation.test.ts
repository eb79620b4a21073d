import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  dealTrigger,
  eventTrigger,
  leadTriggers,
  type PlannedAction,
  pendingActions,
  planAutomation,
  type TriggerInstance,
} from '../../src/engine/automation.ts';
import { emptyLeadState, processLeadEvents, recomputeLead } from '../../src/engine/lead-processor.ts';
import type { DealView, LeadView } from '../../src/engine/facts.ts';
import { parseRoutingSections } from '../../src/engine/routing-checks.ts';
import { at, DAY, HOUR, rules, storedEvent, T0 } from '../support/engine-rules.ts';

const engineRules = rules(`
thresholds:
  - { name: warm, score: 50 }
  - { name: hot, score: 80 }
scoring:
  rules:
    - { id: demo, event: form.submitted, points: 30, category: intent, expires_days: 2 }
`);

const ruleset = parseRoutingSections(
  parse(`
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages:
      - { id: new, name: New lead }
      - { id: discovery, name: Discovery call }
      - { id: proposal, name: Proposal }
      - { id: won, name: Won }
  - id: research
    name: Academic research
    intent: research
    stages: [{ id: new, name: New enquiry }]
team:
  members:
    - { id: anna, slack_user_id: U01ANNA, name: Anna Becker, role: rep }
    - { id: mia, slack_user_id: U02MIA, name: Mia Wolf, role: manager }
automation:
  - id: warm-alert
    trigger: { type: score_threshold, threshold: warm }
    actions:
      - { type: send_notification, channel: "#sales-warm", template: warm_lead }
      - { type: sync_moco, entity: contact }
  - id: cooled-off
    trigger: { type: score_threshold, threshold: warm, direction: down }
    actions: [{ type: send_notification, channel: "#sales-warm", template: lead_cooled }]
  - id: b2b-intent
    trigger: { type: intent_detected, intent: b2b, min_confidence: 70 }
    actions: [{ type: route_to_pipeline, pipeline: b2b }]
  - id: demo-form
    trigger:
      type: event
      event: form.submitted
      where: [{ field: metadata.form_type, op: equals, value: demo }]
    when: [{ field: lead.free_mail, op: equals, value: false }]
    actions:
      - { type: create_task, title: Call back within the hour, due_in_hours: 1, assignee: owner }
      - { type: update_field, field: deal.priority, value: high }
  - id: meeting-moves-deal
    trigger: { type: event, event: meeting.booked }
    actions: [{ type: move_to_stage, stage: discovery }, { type: assign_owner }]
  - id: proposal-stalled
    trigger: { type: time_in_stage, pipeline: b2b, stage: proposal, days: 7 }
    actions:
      - { type: send_notification, channel: owner, template: proposal_follow_up }
      - { type: create_task, title: Chase the proposal, assignee: owner }
  - id: big-discovery
    trigger: { type: stage_entered, pipeline: b2b, stage: discovery }
    when: [{ field: deal.value, op: gte, value: 10000 }]
    actions: [{ type: send_notification, channel: managers, template: big_discovery }]
  - id: won-sync
    trigger: { type: deal_won }
    actions: [{ type: sync_moco }, { type: send_notification, channel: "#wins", template: deal_won }]
  - id: lost-b2b-feedback
    trigger: { type: deal_lost, pipeline: b2b }
    actions: [{ type: create_task, title: Ask why we lost, assignee: mia }]
  - id: won-disabled
    enabled: false
    trigger: { type: deal_won }
    actions: [{ type: send_notification, channel: "#wins", template: never }]
`),
  { version: 'v7', intents: ['research', 'b2b', 'co_creation'], thresholds: engineRules.thresholds },
);

const lead = (extra: Partial<LeadView> = {}): LeadView => ({
  leadId: 'lead-1',
  score: 55,
  intentWeights: { b2b: 40 },
  email: 'jane@biotech.example',
  ...extra,
});

const deal = (extra: Partial<DealView> = {}): DealView => ({
  dealId: 'deal-1',
  leadId: 'lead-1',
  pipelineId: 'b2b',
  stageId: 'new',
  ownerId: 'anna',
  status: 'open',
  createdAt: T0,
  stageEnteredAt: T0,
  ...extra,
});

const MINUTE = 60_000;

const plan = (trigger: TriggerInstance, l: LeadView = lead(), d: DealView | null = deal(), now = T0) =>
  planAutomation(ruleset, trigger, l, d, now);
const keys = (actions: readonly PlannedAction[]) => actions.map((a) => a.actionKey);

describe('event triggers', () => {
  const demo = storedEvent({ id: 'evt-demo', type: 'form.submitted', metadata: { form_type: 'demo' } });

  it('fire on the event type, event conditions and lead facts, keyed by rule, lead and event', () => {
    const result = plan(eventTrigger('lead-1', demo));
    expect(result.firedRules).toEqual(['demo-form']);
    expect(
      result.actions.map((a) => ({ key: a.idempotencyKey, actionKey: a.actionKey, type: a.action.type })),
    ).toEqual([
      {
        key: 'demo-form:lead-1:event:evt-demo',
        actionKey: 'demo-form:lead-1:event:evt-demo#0',
        type: 'create_task',
      },
      {
        key: 'demo-form:lead-1:event:evt-demo',
        actionKey: 'demo-form:lead-1:event:evt-demo#1',
        type: 'update_field',
      },
    ]);
    expect(result.actions[0]).toMatchObject({ rulesetVersion: 'v7', dealId: 'deal-1', triggerType: 'event' });
  });

  it('do not fire when an event or lead condition fails', () => {
    const contact = storedEvent({ type: 'form.submitted', metadata: { form_type: 'contact' } });
    expect(plan(eventTrigger('lead-1', contact)).firedRules).toEqual([]);
    expect(plan(eventTrigger('lead-1', demo), lead({ email: 'jane@gmail.com' })).firedRules).toEqual([]);
  });

  it('skip actions that need a deal or an owner when there is none', () => {
    const result = plan(eventTrigger('lead-1', demo), lead(), null);
    expect(result.actions).toEqual([]);
    expect(result.skipped.map((s) => [s.action.type, s.reason])).toEqual([
      ['create_task', 'no_owner'],
      ['update_field', 'no_deal'],
    ]);
    const meeting = storedEvent({ id: 'evt-m', type: 'meeting.booked' });
    const inDiscovery = plan(eventTrigger('lead-1', meeting), lead(), deal({ stageId: 'discovery' }));
    expect(inDiscovery.skipped.map((s) => s.reason)).toEqual(['already_in_stage']);
    expect(keys(inDiscovery.actions)).toEqual(['meeting-moves-deal:lead-1:event:evt-m#1']);
    const closed = plan(eventTrigger('lead-1', meeting), lead(), deal({ status: 'won' }));
    expect(closed.skipped.map((s) => s.reason)).toEqual(['deal_closed', 'deal_closed']);
  });
});

describe('score_threshold triggers', () => {
  it('fire once per crossing, using the engine’s threshold_crossed changes', () => {
    const fired: string[] = [];
    let state = emptyLeadState('lead-1');
    const run = (events: ReturnType<typeof storedEvent>[], now: Date) => {
      const before = state;
      const outcome =
        events.length > 0
          ? processLeadEvents(state, events, engineRules, now)
          : recomputeLead(state, engineRules, now);
      state = outcome.state;
      const causeId = events.at(-1)?.id ?? `decay:${now.toISOString()}`;
      for (const trigger of leadTriggers({
        leadId: 'lead-1',
        causeId,
        changes: outcome.changes,
        before,
        after: state,
      })) {
        for (const action of plan(trigger, lead({ score: state.score })).actions)
          fired.push(action.actionKey);
      }
    };
    const e1 = storedEvent({ id: 'e1', type: 'form.submitted', occurredAt: T0 });
    const e2 = storedEvent({ id: 'e2', type: 'form.submitted', occurredAt: at(HOUR) });
    const e3 = storedEvent({ id: 'e3', type: 'form.submitted', occurredAt: at(2 * HOUR) });
    run([e1], at(HOUR / 2)); // 30: below warm
    run([e2], at(HOUR)); // 60: crosses warm
    run([e3], at(2 * HOUR)); // 90: crosses hot (no rule), still above warm
    run([e2, e3], at(3 * HOUR)); // replayed batch: no change, nothing fires
    run([], at(2 * DAY + 90 * MINUTE)); // e1 and e2 expire: 30, warm crossed down
    const e4 = storedEvent({ id: 'e4', type: 'form.submitted', occurredAt: at(3 * DAY) });
    const e5 = storedEvent({ id: 'e5', type: 'form.submitted', occurredAt: at(3 * DAY) });
    run([e4, e5], at(3 * DAY)); // 60 again: a second crossing fires again
    expect(fired).toEqual([
      'warm-alert:lead-1:threshold:warm:up:e2#0',
      'warm-alert:lead-1:threshold:warm:up:e2#1',
      `cooled-off:lead-1:threshold:warm:down:decay:${at(2 * DAY + 90 * MINUTE).toISOString()}#0`,
      'warm-alert:lead-1:threshold:warm:up:e5#0',
      'warm-alert:lead-1:threshold:warm:up:e5#1',
    ]);
  });
});

describe('intent_detected triggers', () => {
  const intent = (before: [string | null, number], after: [string | null, number]) =>
    leadTriggers({
      leadId: 'lead-1',
      causeId: 'e9',
      changes: [],
      before: { primaryIntent: before[0], intentConfidence: before[1] },
      after: { primaryIntent: after[0], intentConfidence: after[1] },
    });

  it('fire when the intent reaches the rule’s confidence, once per crossing', () => {
    const fires = (triggers: TriggerInstance[]) => triggers.flatMap((t) => plan(t, lead(), null).firedRules);
    expect(fires(intent(['b2b', 60], ['b2b', 70]))).toEqual(['b2b-intent']);
    expect(fires(intent(['research', 80], ['b2b', 75]))).toEqual(['b2b-intent']);
    expect(fires(intent(['b2b', 75], ['b2b', 90]))).toEqual([]);
    expect(fires(intent(['b2b', 60], ['b2b', 69]))).toEqual([]);
    expect(fires(intent(['b2b', 60], ['b2b', 60]))).toEqual([]);
    expect(intent(['b2b', 60], ['b2b', 60])).toEqual([]);
  });

  it('skip routing to a pipeline the lead already has an open deal in', () => {
    const [trigger] = intent(['b2b', 60], ['b2b', 75]);
    const result = plan(trigger!, lead({ openDeals: [{ dealId: 'deal-1', pipelineId: 'b2b' }] }), null);
    expect(result.skipped.map((s) => s.reason)).toEqual(['already_in_pipeline']);
  });
});

describe('deal triggers', () => {
  const inProposal = deal({ stageId: 'proposal', stageEnteredAt: T0 });

  it('time_in_stage fires once the deal has spent the days in the stage, with a key per stage visit', () => {
    const trigger = dealTrigger('time_in_stage', inProposal);
    expect(trigger.id).toBe(`time_in_stage:deal-1:proposal:${T0.toISOString()}`);
    expect(plan(trigger, lead(), inProposal, at(7 * DAY - 1)).firedRules).toEqual([]);
    const due = plan(trigger, lead(), inProposal, at(7 * DAY));
    expect(keys(due.actions)).toEqual([
      `proposal-stalled:lead-1:time_in_stage:deal-1:proposal:${T0.toISOString()}#0`,
      `proposal-stalled:lead-1:time_in_stage:deal-1:proposal:${T0.toISOString()}#1`,
    ]);
    // The nightly job evaluates again and again: same keys, so the executor does nothing twice.
    expect(plan(trigger, lead(), inProposal, at(9 * DAY))).toEqual(due);
    // The deal moved on since the trigger was built: the old stage no longer fires.
    expect(
      plan(trigger, lead(), deal({ stageId: 'won', stageEnteredAt: at(DAY) }), at(9 * DAY)).firedRules,
    ).toEqual([]);
    // A second visit to the stage is a new trigger.
    const back = deal({ stageId: 'proposal', stageEnteredAt: at(20 * DAY) });
    expect(dealTrigger('time_in_stage', back).id).not.toBe(trigger.id);
  });

  it('stage_entered matches pipeline, stage and deal facts', () => {
    const discovery = deal({ stageId: 'discovery', stageEnteredAt: at(HOUR), value: 25_000 });
    expect(plan(dealTrigger('stage_entered', discovery), lead(), discovery).firedRules).toEqual([
      'big-discovery',
    ]);
    const small = { ...discovery, value: 5_000 };
    expect(plan(dealTrigger('stage_entered', small), lead(), small).firedRules).toEqual([]);
    const other = deal({ stageId: 'proposal' });
    expect(plan(dealTrigger('stage_entered', other), lead(), other).firedRules).toEqual([]);
  });

  it('deal_won fires for any pipeline, deal_lost only for its pipeline, disabled rules never', () => {
    const won = deal({ status: 'won', stageId: 'won' });
    expect(plan(dealTrigger('deal_won', won, at(DAY)), lead(), won).firedRules).toEqual(['won-sync']);
    const lost = deal({ status: 'lost' });
    expect(plan(dealTrigger('deal_lost', lost, at(DAY)), lead(), lost).firedRules).toEqual([
      'lost-b2b-feedback',
    ]);
    const lostResearch = deal({ status: 'lost', pipelineId: 'research' });
    expect(plan(dealTrigger('deal_lost', lostResearch, at(DAY)), lead(), lostResearch).firedRules).toEqual(
      [],
    );
  });
});

describe('idempotency', () => {
  it('plans the same keys when the same trigger is evaluated again, at any later time', () => {
    const trigger = eventTrigger(
      'lead-1',
      storedEvent({ id: 'evt-x', type: 'form.submitted', metadata: { form_type: 'demo' } }),
    );
    const first = plan(trigger, lead(), deal(), T0);
    const again = plan(trigger, lead({ score: 70 }), deal(), at(5 * DAY));
    expect(keys(again.actions)).toEqual(keys(first.actions));
    expect(again.actions).toEqual(first.actions);
  });

  it('models each action independently: one failing action is retried alone', () => {
    const won = deal({ status: 'won', stageId: 'won' });
    const trigger = dealTrigger('deal_won', won, at(DAY));
    const done = new Set<string>();
    const attempts: string[] = [];
    let mocoDown = true;
    const execute = (action: PlannedAction) => {
      attempts.push(action.actionKey);
      if (action.action.type === 'sync_moco' && mocoDown) throw new Error('moco unavailable');
      done.add(action.actionKey);
    };
    const runJob = () => {
      for (const action of pendingActions(plan(trigger, lead(), won), done)) {
        try {
          execute(action);
        } catch {
          // recorded as failed for this action only; the next action still runs
        }
      }
    };
    runJob();
    const key = `won-sync:lead-1:deal_won:deal-1:${at(DAY).toISOString()}`;
    expect(attempts).toEqual([`${key}#0`, `${key}#1`]);
    expect([...done]).toEqual([`${key}#1`]);
    mocoDown = false;
    runJob();
    expect(attempts).toEqual([`${key}#0`, `${key}#1`, `${key}#0`]);
    runJob();
    expect(attempts).toHaveLength(3);
    expect(pendingActions(plan(trigger, lead(), won), done)).toEqual([]);
  });
});
