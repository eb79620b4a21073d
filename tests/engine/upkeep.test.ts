import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { DealView } from '../../src/engine/facts.ts';
import { parseRoutingSections } from '../../src/engine/routing-checks.ts';
import { findUpkeep, type UpkeepInput, type UpkeepLead } from '../../src/engine/upkeep.ts';

const T0 = new Date('2025-03-03T09:00:00Z');
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0.getTime() + ms);

const ruleset = parseRoutingSections(
  parse(`
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages: [{ id: new, name: New }, { id: proposal, name: Proposal }, { id: negotiation, name: Negotiation }]
team:
  members:
    - { id: anna, slack_user_id: U01ANNA, name: Anna Becker, role: rep }
    - { id: ben, slack_user_id: U02BEN, name: Ben Ortiz, role: rep, active: false }
    - { id: carla, slack_user_id: U03CARLA, name: Carla Diaz, role: rep }
upkeep:
  stalled_deal_days: 14
  stale_lead_days: 30
  ghost_risk_days: 10
  conflict_max_age_hours: 24
  unowned_deal_hours: 4
  stages: [{ pipeline: b2b, stage: negotiation, stalled_days: 21 }]
`),
  { version: 'v1', intents: ['b2b'], thresholds: [] },
);

const deal = (extra: Partial<DealView> = {}): DealView => ({
  dealId: 'deal-1',
  leadId: 'lead-1',
  pipelineId: 'b2b',
  stageId: 'new',
  ownerId: 'anna',
  status: 'open',
  createdAt: T0,
  stageEnteredAt: T0,
  lastActivityAt: T0,
  ...extra,
});

const routedLead = (extra: Partial<UpkeepLead> = {}): UpkeepLead => ({
  leadId: 'lead-1',
  status: 'routed',
  createdAt: T0,
  lastActivityAt: T0,
  ...extra,
});

const run = (input: Partial<UpkeepInput>, now: Date) =>
  findUpkeep({ leads: [], deals: [], conflicts: [], ...input }, ruleset, now);
const kinds = (input: Partial<UpkeepInput>, now: Date) => run(input, now).map((f) => f.kind);

describe('stalled deals', () => {
  it('flag a deal once its time in stage exceeds the threshold, not at it', () => {
    const fresh = deal({ lastActivityAt: at(14 * DAY) });
    expect(kinds({ deals: [fresh], leads: [routedLead()] }, at(14 * DAY))).toEqual([]);
    const findings = run({ deals: [fresh], leads: [routedLead()] }, at(14 * DAY + 1));
    expect(findings).toEqual([
      {
        kind: 'deal.stalled',
        key: `deal.stalled:deal-1:new:${T0.toISOString()}`,
        severity: 'warning',
        leadId: 'lead-1',
        dealId: 'deal-1',
        detail: { pipelineId: 'b2b', stageId: 'new', daysInStage: 14, thresholdDays: 14 },
      },
    ]);
  });

  it('use per-stage thresholds and ignore closed deals', () => {
    const negotiating = deal({ stageId: 'negotiation', lastActivityAt: at(20 * DAY) });
    expect(kinds({ deals: [negotiating] }, at(20 * DAY))).toEqual([]);
    expect(kinds({ deals: [negotiating] }, at(21 * DAY + 1))).toEqual(['deal.stalled']);
    expect(kinds({ deals: [deal({ status: 'won' })] }, at(90 * DAY))).toEqual([]);
  });

  it('keep the same key on every run until the deal changes stage', () => {
    const stuck = deal({ lastActivityAt: at(29 * DAY) });
    const first = run({ deals: [stuck] }, at(15 * DAY))[0]!;
    const later = run({ deals: [stuck] }, at(29 * DAY))[0]!;
    expect(later.key).toBe(first.key);
    const moved = run(
      { deals: [{ ...stuck, stageId: 'proposal', stageEnteredAt: at(2 * DAY) }] },
      at(29 * DAY),
    );
    expect(moved[0]!.key).not.toBe(first.key);
  });
});

describe('ghost risk and stale leads', () => {
  it('flag an open deal silent for more than ghost_risk_days, keyed by the last activity', () => {
    const quiet = deal({ stageEnteredAt: at(5 * DAY), lastActivityAt: at(2 * DAY) });
    expect(kinds({ deals: [quiet] }, at(12 * DAY))).toEqual([]);
    const findings = run({ deals: [quiet] }, at(12 * DAY + HOUR));
    expect(findings).toMatchObject([
      {
        kind: 'deal.ghost_risk',
        key: `deal.ghost_risk:deal-1:${at(2 * DAY).toISOString()}`,
        detail: { ownerId: 'anna', daysSilent: 10, thresholdDays: 10 },
      },
    ]);
    // No activity yet: silence counts from the deal's creation.
    expect(
      kinds({ deals: [deal({ lastActivityAt: null, stageEnteredAt: at(11 * DAY) })] }, at(11 * DAY)),
    ).toEqual(['deal.ghost_risk']);
  });

  it('flag leads without an open deal and without activity for more than stale_lead_days', () => {
    const pool: UpkeepLead = { leadId: 'lead-2', status: 'pool', createdAt: T0, lastActivityAt: at(DAY) };
    expect(kinds({ leads: [pool] }, at(31 * DAY))).toEqual([]);
    expect(run({ leads: [pool] }, at(31 * DAY + 1))).toMatchObject([
      {
        kind: 'lead.stale',
        key: `lead.stale:lead-2:${at(DAY).toISOString()}`,
        severity: 'info',
        detail: { daysInactive: 30 },
      },
    ]);
    expect(kinds({ leads: [{ ...pool, status: 'archived' }] }, at(90 * DAY))).toEqual([]);
    // A lead whose deal is open is watched through the deal instead.
    const busy = deal({ leadId: 'lead-2', lastActivityAt: at(40 * DAY), stageEnteredAt: at(40 * DAY) });
    expect(kinds({ leads: [{ ...pool, status: 'routed' }], deals: [busy] }, at(41 * DAY))).toEqual([]);
  });
});

describe('integrity', () => {
  it('finds routed leads without an open deal', () => {
    expect(run({ leads: [routedLead()], deals: [deal({ status: 'lost' })] }, at(HOUR))).toMatchObject([
      {
        kind: 'integrity.routed_without_deal',
        key: 'integrity.routed_without_deal:lead-1',
        severity: 'error',
      },
    ]);
  });

  it('finds deals owned by inactive, unknown or deactivated members', () => {
    const deals = [
      deal({ dealId: 'd-ben', ownerId: 'ben' }),
      deal({ dealId: 'd-gone', ownerId: 'zoe' }),
      deal({ dealId: 'd-carla', ownerId: 'carla' }),
      deal({ dealId: 'd-anna', ownerId: 'anna', leadId: 'lead-9' }),
    ];
    const presence = [{ memberId: 'carla', openDeals: 1, deactivated: true }];
    const found = run({ deals, presence }, at(HOUR)).filter((f) => f.kind === 'integrity.owner_inactive');
    expect(found.map((f) => [f.dealId, f.detail])).toEqual([
      ['d-ben', { ownerId: 'ben', why: 'inactive' }],
      ['d-carla', { ownerId: 'carla', why: 'slack_deactivated' }],
      ['d-gone', { ownerId: 'zoe', why: 'not_in_team' }],
    ]);
  });

  it('finds unowned deals after unowned_deal_hours, overdue conflicts, duplicates and unknown stages', () => {
    const findings = run(
      {
        deals: [
          deal({ dealId: 'd-unowned', ownerId: null }),
          deal({ dealId: 'd-dup', leadId: 'lead-1' }),
          deal({ dealId: 'd-old-stage', leadId: 'lead-3', stageId: 'pilot' }),
        ],
        conflicts: [
          { conflictId: 'c-old', leadId: 'lead-4', createdAt: T0 },
          { conflictId: 'c-new', leadId: 'lead-5', createdAt: at(2 * HOUR) },
        ],
      },
      at(24 * HOUR + 1),
    );
    expect(findings.map((f) => f.key)).toEqual([
      'integrity.conflict_overdue:c-old',
      'integrity.deal_unowned:d-unowned',
      'integrity.duplicate_open_deal:lead-1:b2b',
      'integrity.unknown_stage:d-old-stage:b2b:pilot',
    ]);
    expect(findings[2]!.detail).toEqual({ pipelineId: 'b2b', dealIds: ['d-dup', 'd-unowned'] });
    expect(kinds({ deals: [deal({ ownerId: null })] }, at(4 * HOUR))).toEqual([]);
    expect(kinds({ conflicts: [{ conflictId: 'c', leadId: 'l', createdAt: T0 }] }, at(24 * HOUR))).toEqual(
      [],
    );
  });
});
