import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { assignOwner } from '../../src/engine/assignment.ts';
import { type AssignmentLedger, type AssignmentResult, emptyLedger } from '../../src/engine/assignment-model.ts';
import { absence, type MemberPresence } from '../../src/engine/presence.ts';
import { explainAssignment } from '../../src/engine/explain.ts';
import { parseRoutingSections } from '../../src/engine/routing-checks.ts';
import type { RoutingRuleset } from '../../src/engine/routing-schema.ts';

/**
 * What the ledger guarantees, and exactly what these tests assert:
 *
 * - WINDOW = a maximal run of consecutive assignments with the same set of eligible members; a
 *   join, leave, away or return ends it. With equal shares, in every window of n assignments among
 *   m members each member gets ⌊n/m⌋ or ⌈n/m⌉, i.e. |count − n/m| < 1. Why: the deficits of present
 *   members always lie within one lead of each other (a returning member is clamped into
 *   [max − 1, max] of those who stayed), so taking one lead off the most-owed member puts it behind
 *   everyone, and ties go to whoever waited longest: within a window the picks are a fixed cycle.
 *   The directed tests below fail if either clamp bound or the tie rule is removed.
 * - Cumulatively, every present member's deficit (expected − received, expected growing only while
 *   the member is eligible) stays in (−1, 1), and the present members' deficits sum to 0.
 * - With unequal weights a window cannot promise ±1 of its own ideal while history carries over: a
 *   window's error is the member's deficit at its start minus at its end. In a fixed team every
 *   prefix of a 50/30/20 split stays within ±1 lead; with churn we assert |count − ideal| < 2 per
 *   window (measured worst: 1.5 over 500 seeded runs), a regression bound rather than a proof.
 */

const TEAM = Array.from({ length: 8 }, (_, i) => `m${i + 1}`);
/** Everyone in the team section: TEAM plus a ten-person roster for the larger-team scenario. */
const ROSTER = [...TEAM, ...Array.from({ length: 10 }, (_, i) => `r${i}`)];
const T0 = new Date('2025-03-03T09:00:00Z');
const MINUTE = 60_000;

function ruleset(assignment: string): RoutingRuleset {
  const members = ROSTER.map(
    (id, i) => `    - { id: ${id}, slack_user_id: U00000${i}, name: Rep ${id.toUpperCase()}, role: rep }`,
  ).join('\n');
  const text = `
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages: [{ id: new, name: New lead }]
    assignment: ${assignment}
team:
  members:
${members}
`;
  return parseRoutingSections(parse(text), { version: 'test', intents: ['b2b'], thresholds: [] });
}

function withMembers(base: RoutingRuleset, members: string[]): RoutingRuleset {
  const pipeline = base.pipelines[0]!;
  return { ...base, pipelines: [{ ...pipeline, assignment: { ...pipeline.assignment, members } }] };
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Churn = 'join' | 'leave' | 'away_status' | 'back' | 'away_until' | 'deactivate' | 'reactivate';
const CHURN: Churn[] = ['join', 'leave', 'away_status', 'back', 'away_until', 'deactivate', 'reactivate'];

interface Step {
  result: AssignmentResult;
  eligible: string[];
}

/** Runs `count` assignments with membership churn drawn from `random`. */
function simulate(base: RoutingRuleset, count: number, random: () => number, churnRate: number): Step[] {
  let members = base.pipelines[0]!.assignment.members ?? TEAM.slice(0, 4);
  const presence = new Map<string, MemberPresence>(TEAM.map((id) => [id, { memberId: id, openDeals: 0 }]));
  let ledger: AssignmentLedger = emptyLedger('b2b');
  const steps: Step[] = [];
  for (let n = 0; n < count; n++) {
    const now = new Date(T0.getTime() + n * 7 * MINUTE);
    if (random() < churnRate) {
      const kind = CHURN[Math.floor(random() * CHURN.length)]!;
      const pick = (ids: string[]) => ids[Math.floor(random() * ids.length)];
      const outside = TEAM.filter((id) => !members.includes(id));
      const target = kind === 'join' ? pick(outside) : pick(members);
      if (target !== undefined) {
        const p = presence.get(target)!;
        if (kind === 'join') members = [...members, target];
        if (kind === 'leave' && members.length > 1) members = members.filter((id) => id !== target);
        if (kind === 'away_status') p.statusEmoji = ':palm_tree:';
        if (kind === 'back') Object.assign(p, { statusEmoji: null, awayUntil: null });
        if (kind === 'away_until')
          p.awayUntil = new Date(now.getTime() + (1 + Math.floor(random() * 8)) * 60 * MINUTE);
        if (kind === 'deactivate') p.deactivated = true;
        if (kind === 'reactivate') p.deactivated = false;
      }
    }
    const result = assignOwner(
      { pipelineId: 'b2b', lead: { leadId: `lead-${n}` }, ledger, presence: [...presence.values()] },
      withMembers(base, members),
      now,
    );
    ledger = result.ledger;
    const eligible = result.candidates.filter((c) => c.share > 0).map((c) => c.memberId);
    steps.push({ result, eligible: eligible.sort() });
  }
  return steps;
}

/** Maximal runs of assignments (to a rotation member) with the same eligible set. */
function windows(steps: Step[]): { eligible: string[]; owners: string[] }[] {
  const out: { eligible: string[]; owners: string[] }[] = [];
  for (const step of steps) {
    const o = step.result.outcome;
    const last = out.at(-1);
    if (o.kind !== 'member') {
      out.push({ eligible: [], owners: [] });
      continue;
    }
    if (last !== undefined && last.eligible.join() === step.eligible.join()) last.owners.push(o.memberId);
    else out.push({ eligible: step.eligible, owners: [o.memberId] });
  }
  return out.filter((w) => w.owners.length > 0);
}

function windowErrors(steps: Step[], weights: Record<string, number> = {}): number[] {
  return windows(steps).flatMap(({ eligible, owners }) => {
    const total = eligible.reduce((sum, id) => sum + (weights[id] ?? 1), 0);
    return eligible.map(
      (id) => owners.filter((o) => o === id).length - (owners.length * (weights[id] ?? 1)) / total,
    );
  });
}

function presentDeficits(step: Step): number[] {
  return step.result.ledger.rows.filter((row) => row.present).map((row) => row.deficit);
}

describe('round robin ledger under churn (seeded, 1,000 assignments)', () => {
  const steps = simulate(ruleset('{ strategy: round_robin }'), 1000, rng(20250303), 0.06);
  const found = windows(steps);

  it('exercises joins, leaves, absences and returns', () => {
    expect(steps).toHaveLength(1000);
    expect(found.length).toBeGreaterThan(25);
    expect(new Set(found.map((w) => w.eligible.length)).size).toBeGreaterThan(2);
  });

  it('gives every member ⌊n/m⌋ or ⌈n/m⌉ of each window between membership changes', () => {
    for (const { eligible, owners } of found) {
      const n = owners.length;
      const m = eligible.length;
      for (const id of eligible) {
        const got = owners.filter((o) => o === id).length;
        expect(got, `${id} in a window of ${n} among ${m}`).toBeGreaterThanOrEqual(Math.floor(n / m));
        expect(got, `${id} in a window of ${n} among ${m}`).toBeLessThanOrEqual(Math.ceil(n / m));
      }
    }
  });

  it('keeps every present member within one lead of its cumulative share, deficits summing to 0', () => {
    for (const step of steps) {
      const deficits = presentDeficits(step);
      for (const d of deficits) expect(Math.abs(d)).toBeLessThan(1);
      expect(Math.abs(deficits.reduce((a, b) => a + b, 0))).toBeLessThan(1e-6);
    }
  });

  it('holds for any churn schedule and team size (property, seeded)', () => {
    const teams = ['[m1, m2]', '[m1, m2, m3]', '[m1, m2, m3, m4, m5, m6]'];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(...teams),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        (seed, team, rate) => {
          const run = simulate(ruleset(`{ strategy: round_robin, members: ${team} }`), 300, rng(seed), rate);
          for (const e of windowErrors(run)) expect(Math.abs(e)).toBeLessThan(1);
          for (const step of run) for (const d of presentDeficits(step)) expect(Math.abs(d)).toBeLessThan(1);
        },
      ),
      { seed: 4242, numRuns: 60 },
    );
  });
});

/** Runs one assignment per entry; an array entry sets who is present (the others are on holiday). */
function script(plan: readonly (string[] | 'lead')[], rotation = ['m1', 'm2', 'm3', 'm4']): string[] {
  const rules = withMembers(ruleset('{ strategy: round_robin }'), rotation);
  const presence = new Map(ROSTER.map((id) => [id, { memberId: id, openDeals: 0 } as MemberPresence]));
  let ledger = emptyLedger('b2b');
  const owners: string[] = [];
  for (const entry of plan) {
    if (entry !== 'lead') {
      for (const id of ROSTER) presence.get(id)!.statusEmoji = entry.includes(id) ? null : ':palm_tree:';
      continue;
    }
    const lead = { leadId: `l${owners.length}` };
    const result = assignOwner(
      { pipelineId: 'b2b', lead, ledger, presence: [...presence.values()] },
      rules,
      T0,
    );
    ledger = result.ledger;
    owners.push(result.outcome.kind === 'member' ? result.outcome.memberId : '-');
  }
  return owners;
}
const leads = (n: number): 'lead'[] => Array.from({ length: n }, () => 'lead' as const);

describe('a returning member', () => {
  it('queues up with the others instead of catching up on what it missed', () => {
    const all = ['m1', 'm2', 'm3', 'm4'];
    const owners = script([all, ...leads(8), ['m1', 'm2', 'm3'], ...leads(120), all, ...leads(8)]);
    const after = owners.slice(128);
    // A count of leads received would hand m4 the next 40 leads; the ledger gives it its quarter.
    for (const id of all) expect(after.filter((o) => o === id)).toHaveLength(2);
    expect(owners.filter((o) => o === 'm4')).toHaveLength(4);
  });

  it('carries at most one lead of debt back, so it never waits a whole extra round', () => {
    // m3 leaves right after its lead (ahead of its share) and returns while m1 and m2 have moved on.
    const owners = script(
      [
        ['m1', 'm2'],
        'lead',
        'lead',
        ['m1', 'm2', 'm3'],
        'lead',
        ['m1', 'm2'],
        'lead',
        ['m1', 'm2', 'm3'],
        ...leads(6),
      ],
      ['m1', 'm2', 'm3'],
    );
    expect(owners).toEqual(['m1', 'm2', 'm3', 'm1', 'm2', 'm3', 'm1', 'm2', 'm3', 'm1']);
  });

  it('comes back owed no more than the member who is next, so nobody waits a whole extra round', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `r${i}`);
    const others = ten.slice(0, 9);
    // r9 is next in line (owed 0.9 of a lead) when it leaves; one lead later it is back.
    const owners = script([ten, ...leads(9), others, 'lead', ten, ...leads(10)], ten);
    expect(owners.slice(0, 10)).toEqual([...others, 'r0']);
    expect([...owners.slice(10)].sort()).toEqual([...ten].sort());
  });

  it('breaks ties for whoever waited longest, not by member id', () => {
    const plan: (string[] | 'lead')[] = [
      ['m1', 'm2', 'm3'],
      'lead',
      ['m2', 'm3'],
      'lead',
      ['m1', 'm2'],
      'lead',
      'lead',
      ['m1', 'm2', 'm3'],
      'lead',
      ['m1', 'm3'],
      'lead',
      ['m1', 'm2'],
      'lead',
      'lead',
    ];
    // By id, m1 would take both of the last two leads (m1 and m2 tie after m2 waited through m1's).
    expect(script(plan, ['m1', 'm2', 'm3'])).toEqual(['m1', 'm2', 'm2', 'm1', 'm3', 'm1', 'm2', 'm1']);
  });
});

describe('weighted shares', () => {
  const weighted = '{ strategy: weighted, members: [m1, m2, m3], weights: { m1: 50, m2: 30, m3: 20 } }';

  it('splits 50/30/20 within ±1 lead of every prefix of 1,000 picks, exactly at the end', () => {
    const steps = simulate(ruleset(weighted), 1000, rng(1), 0);
    const counts: Record<string, number> = { m1: 0, m2: 0, m3: 0 };
    steps.forEach((step, i) => {
      const o = step.result.outcome;
      if (o.kind === 'member') counts[o.memberId]! += 1;
      const n = i + 1;
      expect(Math.abs(counts.m1! - n * 0.5)).toBeLessThanOrEqual(1);
      expect(Math.abs(counts.m2! - n * 0.3)).toBeLessThanOrEqual(1);
      expect(Math.abs(counts.m3! - n * 0.2)).toBeLessThanOrEqual(1);
    });
    expect(counts).toEqual({ m1: 500, m2: 300, m3: 200 });
  });

  it('stays within 2 leads of each window’s weighted ideal while members come and go', () => {
    const base = ruleset('{ strategy: weighted }');
    const weights = Object.fromEntries(TEAM.map((id, i) => [id, [5, 3, 2, 1, 4, 2, 3, 1][i]!]));
    const rules: RoutingRuleset = {
      ...base,
      team: { ...base.team, members: base.team.members.map((m) => ({ ...m, weight: weights[m.id]! })) },
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const run = simulate(rules, 400, rng(seed), 0.08);
        for (const e of windowErrors(run, weights)) expect(Math.abs(e)).toBeLessThan(2);
      }),
      { seed: 77, numRuns: 30 },
    );
  });
});

describe('capacity', () => {
  it('never exceeds a member’s capacity and falls back when everyone is full (seeded, 1,000 leads)', () => {
    const rules = ruleset(
      '{ strategy: capacity, capacity: 5, fallback_owner: m8, members: [m1, m2, m3, m4] }',
    );
    const team = rules.team.members.map((m) => (m.id === 'm2' ? { ...m, capacity: 10 } : m));
    const withTeam = { ...rules, team: { ...rules.team, members: team } };
    const random = rng(99);
    const open = new Map<string, number>(TEAM.map((id) => [id, 0]));
    let ledger = emptyLedger('b2b');
    let fallbacks = 0;
    for (let n = 0; n < 1000; n++) {
      // Owners close deals now and then, freeing room.
      for (const id of TEAM) if (open.get(id)! > 0 && random() < 0.1) open.set(id, open.get(id)! - 1);
      const presence = TEAM.map((id) => ({ memberId: id, openDeals: open.get(id)! }));
      const result = assignOwner(
        { pipelineId: 'b2b', lead: { leadId: `l${n}` }, ledger, presence },
        withTeam,
        T0,
      );
      ledger = result.ledger;
      const o = result.outcome;
      if (o.kind === 'member') open.set(o.memberId, open.get(o.memberId)! + 1);
      else {
        expect(o).toMatchObject({ kind: 'fallback_owner', memberId: 'm8', why: 'all_full' });
        fallbacks += 1;
      }
      for (const id of ['m1', 'm3', 'm4']) expect(open.get(id)!).toBeLessThanOrEqual(5);
      expect(open.get('m2')!).toBeLessThanOrEqual(10);
    }
    expect(fallbacks).toBeGreaterThan(0);
    expect(fallbacks).toBeLessThan(1000);
  });

  it('prefers the member with the most room, and says why the others lost', () => {
    const rules = ruleset('{ strategy: capacity, capacity: 10, members: [m1, m2, m3] }');
    const presence = [
      { memberId: 'm1', openDeals: 6 },
      { memberId: 'm2', openDeals: 2 },
      { memberId: 'm3', openDeals: 10 },
    ];
    const result = assignOwner(
      { pipelineId: 'b2b', lead: { leadId: 'l1' }, ledger: emptyLedger('b2b'), presence },
      rules,
      T0,
    );
    expect(result.outcome).toMatchObject({ kind: 'member', memberId: 'm2' });
    expect(result.candidates.map((c) => [c.memberId, c.status, c.reason?.kind ?? null])).toEqual([
      ['m1', 'skipped', 'less_room'],
      ['m2', 'chosen', null],
      ['m3', 'skipped', 'at_capacity'],
    ]);
  });

  it('uses the queue when the fallback owner is away too, and unassigned without either', () => {
    const full = TEAM.map((id) => ({
      memberId: id,
      openDeals: 99,
      statusEmoji: id === 'm8' ? ':airplane:' : null,
    }));
    const queued = ruleset(
      '{ capacity: 3, fallback_owner: m8, fallback_queue: "#sales-unassigned", members: [m1, m2] }',
    );
    const lead = { leadId: 'l1' };
    expect(
      assignOwner({ pipelineId: 'b2b', lead, ledger: emptyLedger('b2b'), presence: full }, queued, T0)
        .outcome,
    ).toEqual({
      kind: 'queue',
      queue: '#sales-unassigned',
      why: 'all_full',
    });
    const bare = ruleset('{ capacity: 3, members: [m1, m2] }');
    const result = assignOwner(
      { pipelineId: 'b2b', lead, ledger: emptyLedger('b2b'), presence: full },
      bare,
      T0,
    );
    expect(result.outcome).toEqual({ kind: 'unassigned', why: 'all_full' });
    expect(result.ledger.seq).toBe(0);
  });
});

describe('territory', () => {
  const text = `
pipelines:
  - id: b2b
    name: B2B
    intent: b2b
    stages: [{ id: new, name: New }]
    assignment:
      strategy: territory
      territories: { dach: [DE, AT, CH], nordics: [SE, NO, DK, FI] }
      within: round_robin
      fallback_queue: "#sales"
team:
  members:
    - { id: anna, slack_user_id: U01, name: Anna, role: rep, region: dach }
    - { id: ben, slack_user_id: U02, name: Ben, role: rep, countries: [DE] }
    - { id: carla, slack_user_id: U03, name: Carla, role: rep, region: nordics }
    - { id: dev, slack_user_id: U04, name: Dev, role: rep }
`;
  const rules = parseRoutingSections(parse(text), { version: 'test', intents: ['b2b'], thresholds: [] });
  const presence: MemberPresence[] = [];
  const assign = (lead: { country?: string; region?: string }, ledger = emptyLedger('b2b'), rs = rules) =>
    assignOwner({ pipelineId: 'b2b', lead: { leadId: 'l', ...lead }, ledger, presence }, rs, T0);

  it('routes by country, by region derived from the country, and rotates inside the territory', () => {
    const first = assign({ country: 'de' });
    expect(first.territory).toEqual({ country: 'de', region: 'dach', matched: true });
    expect(first.outcome).toMatchObject({ memberId: 'anna' });
    expect(assign({ country: 'DE' }, first.ledger).outcome).toMatchObject({ memberId: 'ben' });
    expect(assign({ country: 'AT' }).outcome).toMatchObject({ memberId: 'anna' });
    expect(assign({ country: 'Sweden', region: 'Nordics' }).outcome).toMatchObject({ memberId: 'carla' });
    expect(first.candidates.find((c) => c.memberId === 'dev')?.reason).toEqual({ kind: 'out_of_territory' });
  });

  it('lets anyone take an unmatched lead, or sends it to the fallback when configured', () => {
    const open = assign({ country: 'US' });
    expect(open.territory?.matched).toBe(false);
    expect(open.outcome.kind).toBe('member');
    const strict = parseRoutingSections(
      parse(text.replace('within: round_robin', 'within: round_robin\n      unmatched: fallback')),
      {
        version: 'test',
        intents: ['b2b'],
        thresholds: [],
      },
    );
    expect(assign({ country: 'US' }, emptyLedger('b2b'), strict).outcome).toEqual({
      kind: 'queue',
      queue: '#sales',
      why: 'no_territory_match',
    });
  });
});

describe('away detection', () => {
  const away = ruleset('{}').team.away;
  const member = { active: true };
  const now = T0;

  it('reads Slack status emoji and text until the status expires', () => {
    expect(absence(member, { memberId: 'a', openDeals: 0, statusEmoji: 'palm_tree' }, away, now)).toEqual({
      kind: 'away',
      via: 'status_emoji',
      value: ':palm_tree:',
    });
    expect(
      absence(member, { memberId: 'a', openDeals: 0, statusText: 'Out of office till Monday' }, away, now),
    ).toMatchObject({
      via: 'status_text',
    });
    expect(
      absence(member, { memberId: 'a', openDeals: 0, statusText: 'Urlaub 🌴' }, away, now),
    ).toMatchObject({ via: 'status_text' });
    expect(
      absence(
        member,
        { memberId: 'a', openDeals: 0, statusText: 'in a meeting', statusEmoji: ':calendar:' },
        away,
        now,
      ),
    ).toBeNull();
    const expired = {
      memberId: 'a',
      openDeals: 0,
      statusEmoji: ':palm_tree:',
      statusExpiresAt: new Date(now.getTime() - 1),
    };
    expect(absence(member, expired, away, now)).toBeNull();
  });

  it('honours awayUntil strictly in the future, and inactive members', () => {
    expect(
      absence(member, { memberId: 'a', openDeals: 0, awayUntil: new Date(now.getTime() + 1) }, away, now),
    ).toMatchObject({
      via: 'away_until',
    });
    expect(absence(member, { memberId: 'a', openDeals: 0, awayUntil: now }, away, now)).toBeNull();
    expect(absence({ active: false }, undefined, away, now)).toEqual({ kind: 'inactive', source: 'team' });
    expect(absence(member, { memberId: 'a', openDeals: 0, deactivated: true }, away, now)).toEqual({
      kind: 'inactive',
      source: 'slack',
    });
  });
});

describe('explainAssignment', () => {
  it('says who got the lead and why each other member did not', () => {
    const rules = ruleset('{ strategy: round_robin, capacity: 4, members: [m1, m2, m3, m4] }');
    const presence: MemberPresence[] = [
      { memberId: 'm1', openDeals: 0 },
      { memberId: 'm2', openDeals: 0, statusEmoji: ':palm_tree:' },
      { memberId: 'm3', openDeals: 4 },
      { memberId: 'm4', openDeals: 1 },
    ];
    const first = assignOwner(
      { pipelineId: 'b2b', lead: { leadId: 'l1' }, ledger: emptyLedger('b2b'), presence },
      rules,
      T0,
    );
    expect(explainAssignment(first)).toEqual([
      'Assigned to Rep M1: next in the round robin (owed 0.50 of a lead, share 50%).',
      'Rep M2: away (Slack status :palm_tree:).',
      'Rep M3: at capacity (4 of 4 open deals).',
      'Rep M4: tied with Rep M1, who goes first by member id.',
    ]);
    const second = assignOwner(
      { pipelineId: 'b2b', lead: { leadId: 'l2' }, ledger: first.ledger, presence },
      rules,
      T0,
    );
    expect(explainAssignment(second)).toEqual([
      'Assigned to Rep M4: next in the round robin (owed 1.00 of a lead, share 50%).',
      'Rep M1: even with their share; Rep M4 was owed more.',
      'Rep M2: away (Slack status :palm_tree:).',
      'Rep M3: at capacity (4 of 4 open deals).',
    ]);
  });
});
