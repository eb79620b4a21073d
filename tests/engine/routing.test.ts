import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { explainRouting } from '../../src/engine/explain.ts';
import type { LeadView } from '../../src/engine/facts.ts';
import { decideRouting, routeManually } from '../../src/engine/routing.ts';
import { parseRoutingSections } from '../../src/engine/routing-checks.ts';
import type { RoutingRuleset } from '../../src/engine/routing-schema.ts';
import { LeadlineError } from '../../src/errors.ts';

const NOW = new Date('2025-03-03T09:00:00Z');
const INTENTS = ['research', 'b2b', 'co_creation', 'services'];
const BASE = { version: 'v-test', intents: INTENTS, thresholds: [{ name: 'warm' }, { name: 'hot' }] };

const SECTIONS = `
pipelines:
  - id: research
    name: Academic research
    intent: research
    stages: [{ id: new, name: New enquiry }, { id: consultation, name: Project consultation }]
  - id: b2b
    name: B2B customers
    intent: b2b
    stages: [{ id: new, name: New lead }, { id: discovery, name: Discovery call }]
  - id: co_creation
    name: Co-creation partners
    intent: co_creation
    stages: [{ id: new, name: New contact }]
    manager_decides: true
routing:
  manager_decides:
    - id: key-accounts
      description: Existing key accounts are handled by their account manager
      when: [{ field: lead.company, op: in, value: [Roche, Bayer] }]
      pipelines: [b2b]
`;

function sections(text: string = SECTIONS): RoutingRuleset {
  return parseRoutingSections(parse(text), BASE);
}

const ruleset = sections();

function lead(score: number, intentWeights: Record<string, number>, extra: Partial<LeadView> = {}): LeadView {
  return { leadId: 'lead-1', score, intentWeights, ...extra };
}

describe('decideRouting thresholds', () => {
  it('routes at exactly the score threshold and exactly the minimum confidence', () => {
    const decision = decideRouting(lead(40, { b2b: 60, research: 40 }), ruleset, NOW);
    expect(decision).toEqual({
      kind: 'route',
      leadId: 'lead-1',
      pipelineId: 'b2b',
      pipelineName: 'B2B customers',
      stageId: 'new',
      stageName: 'New lead',
      reasons: {
        score: 40,
        threshold: 40,
        primaryIntent: 'b2b',
        confidence: 60,
        minConfidence: 60,
        confidences: { research: 40, b2b: 60, co_creation: 0, services: 0 },
        conflictMargin: 10,
        rule: 'pipelines.b2b',
        rulesetVersion: 'v-test',
      },
    });
  });

  it('keeps a lead one point below the score threshold in the pool', () => {
    const decision = decideRouting(lead(39, { b2b: 90, research: 10 }), ruleset, NOW);
    expect(decision).toMatchObject({
      kind: 'pool',
      cause: 'below_threshold',
      reasons: { score: 39, rule: 'routing.threshold' },
    });
  });

  it('keeps a lead one point below the minimum confidence in the pool', () => {
    const decision = decideRouting(lead(80, { b2b: 59, research: 41 }), ruleset, NOW);
    expect(decision).toMatchObject({
      kind: 'pool',
      cause: 'below_confidence',
      reasons: { confidence: 59, rule: 'routing.min_confidence', confidences: { b2b: 59, research: 41 } },
    });
  });

  it('keeps a lead without live intent in the pool, and one whose intent has no pipeline', () => {
    expect(decideRouting(lead(90, {}), ruleset, NOW)).toMatchObject({ kind: 'pool', cause: 'no_intent' });
    expect(decideRouting(lead(90, { services: 80, b2b: 20 }), ruleset, NOW)).toMatchObject({
      kind: 'pool',
      cause: 'no_pipeline',
      reasons: { primaryIntent: 'services', confidence: 80 },
    });
  });

  it('honours other thresholds from the ruleset', () => {
    const strict = { ...ruleset, routing: { ...ruleset.routing, threshold: 70, min_confidence: 80 } };
    expect(decideRouting(lead(69, { b2b: 100 }), strict, NOW).kind).toBe('pool');
    expect(decideRouting(lead(70, { b2b: 80, research: 20 }), strict, NOW).kind).toBe('route');
    expect(decideRouting(lead(70, { b2b: 79, research: 21 }), strict, NOW).kind).toBe('pool');
  });
});

describe('decideRouting conflicts', () => {
  it('records a conflict when the top two intents are within the margin (inclusive)', () => {
    const decision = decideRouting(lead(70, { b2b: 55, research: 45 }), ruleset, NOW);
    expect(decision).toEqual({
      kind: 'conflict',
      leadId: 'lead-1',
      cause: 'ambiguous_intent',
      candidates: [
        { intent: 'b2b', confidence: 55, pipelineId: 'b2b' },
        { intent: 'research', confidence: 45, pipelineId: 'research' },
      ],
      conflictKey: 'lead-1:ambiguous_intent:b2b+research',
      reasons: expect.objectContaining({ rule: 'routing.conflict_margin', conflictMargin: 10 }),
    });
  });

  it('decides automatically one point outside the margin', () => {
    const wide = { ...ruleset, routing: { ...ruleset.routing, conflict_margin: 30 } };
    expect(decideRouting(lead(70, { b2b: 65, research: 35 }), wide, NOW).kind).toBe('conflict');
    expect(decideRouting(lead(70, { b2b: 65, research: 34, co_creation: 1 }), wide, NOW).kind).toBe('route');
  });

  it('does not call a single live intent ambiguous', () => {
    const margin100 = { ...ruleset, routing: { ...ruleset.routing, conflict_margin: 100 } };
    expect(decideRouting(lead(70, { b2b: 5 }), margin100, NOW).kind).toBe('route');
  });

  it('asks a manager when a manager_decides rule matches the lead', () => {
    const decision = decideRouting(
      lead(70, { b2b: 90, research: 10 }, { profile: { company: 'roche' } }),
      ruleset,
      NOW,
    );
    expect(decision).toMatchObject({
      kind: 'conflict',
      cause: 'manager_rule',
      candidates: [{ intent: 'b2b', confidence: 90, pipelineId: 'b2b' }],
      reasons: { rule: 'routing.manager_decides.key-accounts' },
    });
    // The rule is limited to b2b: a key account with research intent routes normally.
    const research = decideRouting(
      lead(70, { research: 90, b2b: 10 }, { profile: { company: 'Roche' } }),
      ruleset,
      NOW,
    );
    expect(research.kind).toBe('route');
  });

  it('asks a manager for every lead of a manager_decides pipeline', () => {
    const decision = decideRouting(lead(70, { co_creation: 80, b2b: 20 }), ruleset, NOW);
    expect(decision).toMatchObject({
      kind: 'conflict',
      cause: 'pipeline_manager_decides',
      conflictKey: 'lead-1:pipeline_manager_decides:co_creation',
      reasons: { rule: 'pipelines.co_creation.manager_decides' },
    });
  });
});

describe('one open deal per lead and pipeline', () => {
  it('keeps the existing deal instead of opening a second one', () => {
    const open = { openDeals: [{ dealId: 'deal-7', pipelineId: 'b2b' }] };
    expect(decideRouting(lead(90, { b2b: 90, research: 10 }, open), ruleset, NOW)).toMatchObject({
      kind: 'keep',
      pipelineId: 'b2b',
      dealId: 'deal-7',
    });
    // An ambiguous lead already in one of the candidate pipelines raises no new conflict.
    expect(decideRouting(lead(90, { b2b: 50, research: 50 }, open), ruleset, NOW).kind).toBe('keep');
    // A deal in another pipeline does not stop routing to this one.
    const elsewhere = { openDeals: [{ dealId: 'deal-8', pipelineId: 'research' }] };
    expect(decideRouting(lead(90, { b2b: 90, research: 10 }, elsewhere), ruleset, NOW).kind).toBe('route');
  });

  it('routes manually (conflict resolution) with the same constraint', () => {
    const manual = routeManually(lead(20, { research: 60, b2b: 40 }), 'b2b', 'manager:anna', ruleset);
    expect(manual).toMatchObject({
      kind: 'route',
      pipelineId: 'b2b',
      stageId: 'new',
      reasons: { rule: 'manager:anna' },
    });
    const again = routeManually(
      lead(20, {}, { openDeals: [{ dealId: 'd1', pipelineId: 'b2b' }] }),
      'b2b',
      'manager:anna',
      ruleset,
    );
    expect(again.kind).toBe('keep');
    expect(routeManually(lead(20, {}), 'nope', 'automation:x', ruleset)).toMatchObject({
      kind: 'pool',
      cause: 'no_pipeline',
    });
  });
});

describe('decision order (property, seeded)', () => {
  it('routes exactly when score ≥ threshold, the intent is clear and confident, and no manager rule applies', () => {
    const weight = fc.integer({ min: 0, max: 60 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), weight, weight, weight, (score, research, b2b, co) => {
        const weights = { research, b2b, co_creation: co };
        const decision = decideRouting(lead(score, weights), ruleset, NOW);
        const total = research + b2b + co;
        const shares = [
          ['research', research],
          ['b2b', b2b],
          ['co_creation', co],
        ]
          .map(([intent, w]) => ({
            intent: intent as string,
            w: w as number,
            share: total > 0 ? Math.round((100 * (w as number)) / total) : 0,
          }))
          .sort((x, y) => y.w - x.w);
        const [first, second] = shares;
        let expected: string;
        if (score < 40) expected = 'pool:below_threshold';
        else if (total === 0) expected = 'pool:no_intent';
        else if (second!.w > 0 && first!.share - second!.share <= 10) expected = 'conflict:ambiguous_intent';
        else if (first!.share < 60) expected = 'pool:below_confidence';
        else if (first!.intent === 'co_creation') expected = 'conflict:pipeline_manager_decides';
        else expected = `route:${first!.intent}`;
        const actual =
          decision.kind === 'route'
            ? `route:${decision.pipelineId}`
            : decision.kind === 'keep'
              ? 'keep'
              : `${decision.kind}:${decision.cause}`;
        expect(actual).toBe(expected);
        expect(decision.reasons.rulesetVersion).toBe('v-test');
      }),
      { seed: 20250303, numRuns: 500 },
    );
  });
});

describe('explainRouting', () => {
  it('explains a route', () => {
    const decision = decideRouting(lead(72, { b2b: 68, research: 22, co_creation: 10 }), ruleset, NOW);
    expect(explainRouting(decision, ruleset)).toEqual([
      'Score 72 meets the routing threshold of 40.',
      'Primary intent b2b at 68% confidence meets the minimum of 60% (research 22%, co_creation 10%, services 0%).',
      'Routed to B2B customers, stage New lead.',
      'Rule pipelines.b2b, ruleset v-test.',
    ]);
  });

  it('explains the pool', () => {
    expect(explainRouting(decideRouting(lead(39, { b2b: 1 }), ruleset, NOW))).toEqual([
      'Score 39 is below the routing threshold of 40, so the lead stays in the pool.',
      'Rule routing.threshold, ruleset v-test.',
    ]);
    expect(explainRouting(decideRouting(lead(50, { b2b: 59, research: 41 }), ruleset, NOW))).toEqual([
      'Score 50 meets the routing threshold of 40.',
      'Primary intent b2b at 59% confidence is below the minimum of 60% (research 41%, co_creation 0%, services 0%). The lead stays in the pool.',
      'Rule routing.min_confidence, ruleset v-test.',
    ]);
  });

  it('explains conflicts', () => {
    expect(
      explainRouting(
        decideRouting(lead(70, { b2b: 48, research: 44, co_creation: 8 }), ruleset, NOW),
        ruleset,
      ),
    ).toEqual([
      'Score 70 meets the routing threshold of 40.',
      'b2b (48%) and research (44%) are within 10 points of each other (co_creation 8%, services 0%), so a manager decides between B2B customers and Academic research.',
      'Rule routing.conflict_margin, ruleset v-test.',
    ]);
    const keyAccount = decideRouting(lead(70, { b2b: 100 }, { profile: { company: 'Bayer' } }), ruleset, NOW);
    expect(explainRouting(keyAccount, ruleset).slice(1)).toEqual([
      'Primary intent b2b at 100% confidence meets the minimum of 60% (research 0%, co_creation 0%, services 0%).',
      'Rule key-accounts says a manager decides leads like this one for B2B customers.',
      'Rule routing.manager_decides.key-accounts, ruleset v-test.',
    ]);
  });

  it('explains keep and manual routes', () => {
    const kept = decideRouting(
      lead(90, { b2b: 90, research: 10 }, { openDeals: [{ dealId: 'deal-7', pipelineId: 'b2b' }] }),
      ruleset,
      NOW,
    );
    expect(explainRouting(kept, ruleset)[1]).toBe(
      'The lead already has an open deal in B2B customers (deal deal-7); a lead has at most one open deal per pipeline.',
    );
    expect(explainRouting(routeManually(lead(10, {}), 'research', 'manager:anna', ruleset))).toEqual([
      'Routed to Academic research, stage New enquiry by manager:anna.',
      'Rule manager:anna, ruleset v-test.',
    ]);
  });
});

describe('routing sections schema', () => {
  function issuesOf(text: string): { path: string; message: string }[] {
    try {
      sections(text);
    } catch (err) {
      expect(err).toBeInstanceOf(LeadlineError);
      return [...(err as LeadlineError).issues];
    }
    throw new Error('expected the sections to be rejected');
  }
  const TEAM = `
team:
  members:
    - { id: anna, slack_user_id: U01ANNA, name: Anna Becker, role: rep, capacity: 20 }
    - { id: ben, slack_user_id: U02BEN, name: Ben Ortiz, role: rep }
    - { id: mia, slack_user_id: U03MIA, name: Mia Manager, role: manager }
`;
  const pipeline = (assignment: string) => `
pipelines:
  - id: b2b
    name: B2B
    intent: b2b
    stages: [{ id: new, name: New }, { id: won, name: Won }]
    assignment: ${assignment}
${TEAM}`;

  it('fills defaults', () => {
    const parsed = sections(pipeline('{}'));
    expect(parsed.routing).toEqual({
      threshold: 40,
      min_confidence: 60,
      conflict_margin: 10,
      manager_decides: [],
    });
    expect(parsed.pipelines[0]!.assignment).toEqual({
      strategy: 'round_robin',
      within: 'round_robin',
      unmatched: 'any',
    });
    expect(parsed.pipelines[0]!.manager_decides).toBe(false);
    expect(parsed.upkeep).toMatchObject({ stalled_deal_days: 14, stale_lead_days: 30, ghost_risk_days: 10 });
    expect(parsed.team.away.status_emoji).toContain(':palm_tree:');
    expect(parsed.team.members[0]!.active).toBe(true);
  });

  it('reports unknown members, weights that do not add up and missing capacities at their paths', () => {
    expect(
      issuesOf(pipeline('{ strategy: weighted, members: [anna, bob], weights: { anna: 60, ben: 30 } }')),
    ).toEqual([
      {
        path: 'pipelines.0.assignment.members.1',
        message: 'unknown team member; expected one of anna, ben, mia',
      },
      { path: 'pipelines.0.assignment.weights.ben', message: 'not in this rotation' },
      {
        path: 'pipelines.0.assignment.weights',
        message: 'weights are percentages and must add up to 100 (not 90)',
      },
    ]);
    expect(issuesOf(pipeline('{ strategy: capacity, fallback_owner: zoe }'))).toEqual([
      {
        path: 'pipelines.0.assignment.fallback_owner',
        message: 'unknown team member; expected one of anna, ben, mia',
      },
      {
        path: 'pipelines.0.assignment.capacity',
        message:
          'strategy capacity needs a capacity for every member (here or in team.members); missing for ben',
      },
    ]);
    expect(
      issuesOf(
        pipeline('{ strategy: round_robin, weights: { anna: 100 }, territories: { dach: [DE] } }'),
      ).map((i) => i.path),
    ).toEqual([
      'pipelines.0.assignment.territories',
      'pipelines.0.assignment.weights',
      'pipelines.0.assignment.weights',
    ]);
  });

  it('reports typos, bad enums and bad Slack ids at the key', () => {
    const issues = issuesOf(`${pipeline('{ stratgy: weighted }')}
    - { id: zoe, slack_user_id: zoe, name: Zoe, role: intern }
`);
    expect(issues.map((i) => i.path)).toEqual([
      'pipelines.0.assignment.stratgy',
      'team.members.3.slack_user_id',
      'team.members.3.role',
    ]);
    expect(issues[0]!.message).toBe('unknown key (check the spelling)');
  });

  it('checks automation references against pipelines, stages, thresholds, intents and members', () => {
    const issues = issuesOf(`${pipeline('{}')}
automation:
  - id: a
    trigger: { type: score_threshold, threshold: boiling }
    actions: [{ type: send_notification, channel: "#sales", template: hot_lead }]
  - id: b
    trigger: { type: time_in_stage, pipeline: b2b, stage: proposal, days: 7 }
    when: [{ field: deal.colour, op: equals, value: red }]
    actions:
      - { type: move_to_stage, stage: negotiation }
      - { type: assign_owner, member: zoe }
      - { type: update_field, field: lead.score, value: 100 }
      - { type: update_field, field: deal.value, value: lots }
  - id: a
    trigger: { type: intent_detected, intent: shopping }
    actions: [{ type: route_to_pipeline, pipeline: retail }, { type: create_task, title: Call, assignee: zoe }]
routing:
  manager_decides:
    - { id: m, when: [{ field: deal.stage, op: equals, value: new }], pipelines: [retail] }
upkeep:
  stages: [{ pipeline: b2b, stage: limbo, stalled_days: 3 }]
`);
    expect(issues.map((i) => i.path)).toEqual([
      'automation.1.when.0.field',
      'automation.1.actions.2.field',
      'automation.1.actions.3.value',
    ]);
    const cross = issuesOf(
      `${pipeline('{}')}
automation:
  - id: a
    trigger: { type: score_threshold, threshold: boiling }
    actions: [{ type: send_notification, channel: "#sales", template: hot_lead }]
  - id: b
    trigger: { type: time_in_stage, pipeline: b2b, stage: proposal, days: 7 }
    actions: [{ type: move_to_stage, stage: negotiation }, { type: assign_owner, member: zoe }]
  - id: a
    trigger: { type: intent_detected, intent: shopping }
    actions: [{ type: route_to_pipeline, pipeline: retail }, { type: create_task, title: Call, assignee: zoe }]
routing:
  manager_decides:
    - { id: m, when: [{ field: deal.stage, op: equals, value: new }], pipelines: [retail] }
upkeep:
  stages: [{ pipeline: b2b, stage: limbo, stalled_days: 3 }]
`,
    );
    expect(cross).toEqual([
      { path: 'automation.2.id', message: 'duplicate automation id' },
      { path: 'routing.manager_decides.0.pipelines.0', message: 'unknown pipeline; expected one of b2b' },
      {
        path: 'routing.manager_decides.0.when.0.field',
        message: 'routing happens before a deal exists; use lead.* fields',
      },
      { path: 'automation.0.trigger.threshold', message: 'unknown threshold; expected one of warm, hot' },
      { path: 'automation.1.trigger.stage', message: 'unknown stage of b2b; expected one of new, won' },
      { path: 'automation.1.actions.0.stage', message: 'unknown stage of b2b; expected one of new, won' },
      { path: 'automation.1.actions.1.member', message: 'unknown team member' },
      {
        path: 'automation.2.trigger.intent',
        message: 'unknown intent; expected one of research, b2b, co_creation, services',
      },
      { path: 'automation.2.actions.0.pipeline', message: 'unknown pipeline; expected one of b2b' },
      { path: 'automation.2.actions.1.assignee', message: 'unknown team member' },
      { path: 'upkeep.stages.0.stage', message: 'unknown stage of b2b; expected one of new, won' },
    ]);
  });
});
