import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import {
  event,
  fixedClock,
  jobContext,
  ROUTING_YAML,
  storeEvents,
  testRuleset,
} from '../../support/engine-fixtures.ts';

describe('routing and assignment inside event processing', () => {
  let db: TestDatabase;
  const ruleset = testRuleset(ROUTING_YAML);
  const clock = fixedClock('2026-11-20T12:00:00Z');
  const ctx = () => jobContext(db, ruleset, clock.now);

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());
  beforeEach(async () => {
    await db.reset();
  });

  const hotB2b = (email: string) => [
    event('form.submitted', { email, metadata: { form_type: 'demo' } }),
    event('page.viewed', { email, metadata: { url: '/pricing' }, occurredAt: '2026-11-20T10:05:00Z' }),
  ];

  it('routes a lead at score 40 and confidence 100 to its pipeline with an owner and the reasons', async () => {
    await processEvents(await storeEvents(db, hotB2b('buyer@pharma.example')), ctx());
    const { rows: deals } = await db.pool.query(
      `SELECT d.pipeline_id, d.stage_id, d.owner_member_id, d.routing_reasons, l.status, l.owner_member_id AS lead_owner
       FROM deals d JOIN leads l ON l.id = d.lead_id`,
    );
    expect(deals).toHaveLength(1);
    expect(deals[0]).toMatchObject({
      pipeline_id: 'b2b',
      stage_id: 'new',
      owner_member_id: 'anna',
      status: 'routed',
      lead_owner: 'anna',
    });
    expect(deals[0].routing_reasons).toMatchObject({
      score: 40,
      threshold: 40,
      confidence: 100,
      minConfidence: 60,
      rulesetVersion: 'test-rules',
    });
    const { rows: decisions } = await db.pool.query('SELECT kind, explanation FROM routing_decisions');
    expect(decisions).toHaveLength(1);
    expect(decisions[0].kind).toBe('route');
    expect(decisions[0].explanation.join(' ')).toMatch(/B2B customers/);
    const { rows: assignments } = await db.pool.query(
      'SELECT member_id, explanation, candidates FROM assignments',
    );
    expect(assignments[0].member_id).toBe('anna');
    expect(assignments[0].explanation[0]).toMatch(/Anna/);
    expect(assignments[0].candidates.map((c: { memberId: string }) => c.memberId)).toEqual([
      'anna',
      'ben',
      'carla',
    ]);
  });

  it('leaves a lead below the threshold in the pool without storing a decision', async () => {
    await processEvents(
      await storeEvents(db, [
        event('form.submitted', { email: 'early@lab.example', metadata: { form_type: 'demo' } }),
      ]),
      ctx(),
    );
    const { rows } = await db.pool.query('SELECT status FROM leads');
    expect(rows).toEqual([{ status: 'pool' }]);
    expect((await db.pool.query('SELECT 1 FROM deals')).rowCount).toBe(0);
    expect((await db.pool.query('SELECT 1 FROM routing_decisions')).rowCount).toBe(0);
  });

  it('opens a routing conflict for a manager when two intents are too close to call', async () => {
    await processEvents(
      await storeEvents(db, [
        event('form.submitted', { email: 'torn@uni.example', metadata: { form_type: 'demo' } }),
        event('content.downloaded', {
          email: 'torn@uni.example',
          metadata: { content_type: 'protocol' },
          occurredAt: '2026-11-20T10:01:00Z',
        }),
      ]),
      ctx(),
    );
    const { rows } = await db.pool.query(
      `SELECT c.cause, c.candidates, l.status FROM routing_conflicts c JOIN leads l ON l.id = c.lead_id`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].cause).toBe('ambiguous_intent');
    expect(rows[0].status).toBe('conflict');
    expect(rows[0].candidates.map((c: { intent: string }) => c.intent).sort()).toEqual(['b2b', 'research']);
    expect((await db.pool.query('SELECT 1 FROM deals')).rowCount).toBe(0);
  });

  it('sends research leads to a manager because the pipeline says a manager decides', async () => {
    await processEvents(
      await storeEvents(db, [
        event('content.downloaded', { email: 'pi@lab.example', metadata: { content_type: 'protocol' } }),
        event('content.downloaded', {
          email: 'pi@lab.example',
          metadata: { content_type: 'protocol' },
          occurredAt: '2026-11-20T10:02:00Z',
        }),
        event('content.downloaded', {
          email: 'pi@lab.example',
          metadata: { content_type: 'protocol' },
          occurredAt: '2026-11-20T10:03:00Z',
        }),
      ]),
      ctx(),
    );
    const { rows } = await db.pool.query('SELECT cause FROM routing_conflicts');
    expect(rows).toEqual([{ cause: 'pipeline_manager_decides' }]);
  });

  it('skips a member whose Slack status says they are away, and says so', async () => {
    await db.pool.query(`INSERT INTO team_presence (member_id, status_emoji) VALUES ('anna', ':palm_tree:')`);
    await processEvents(await storeEvents(db, hotB2b('next@pharma.example')), ctx());
    const { rows } = await db.pool.query('SELECT member_id, explanation FROM assignments');
    expect(rows[0].member_id).toBe('ben');
    expect(rows[0].explanation.join(' ')).toMatch(/Anna: away/);
  });

  it('keeps the rotation fair when two workers route many leads into one pipeline at once', async () => {
    const batches = Array.from({ length: 12 }, (_, i) => hotB2b(`lead${i}@corp${i}.example`));
    const stored = await Promise.all(batches.map((batch) => storeEvents(db, batch)));
    await Promise.all([
      (async () => {
        for (const ids of stored.slice(0, 6)) await processEvents(ids, ctx());
      })(),
      (async () => {
        for (const ids of stored.slice(6)) await processEvents(ids, ctx());
      })(),
    ]);
    const { rows } = await db.pool.query(
      `SELECT owner_member_id AS member, count(*)::int AS n FROM deals GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      { member: 'anna', n: 4 },
      { member: 'ben', n: 4 },
      { member: 'carla', n: 4 },
    ]);
    const { rows: ledger } = await db.pool.query(
      `SELECT seq FROM assignment_ledgers WHERE pipeline_id = 'b2b'`,
    );
    expect(ledger[0].seq).toBe(12);
  });

  it('counts the owners it just chose when one batch routes many leads past the members capacity', async () => {
    const capped = testRuleset(
      ROUTING_YAML.replace(
        'assignment: { strategy: round_robin, members: [anna, ben, carla] }',
        'assignment: { strategy: capacity, members: [anna, ben, carla], capacity: 2, fallback_queue: "#overflow" }',
      ),
    );
    // An earlier batch gave Anna one open deal: she has room for one more.
    await processEvents(await storeEvents(db, hotB2b('earlier@corp.example')), jobContext(db, capped, clock.now));
    const { rows: before } = await db.pool.query('SELECT owner_member_id FROM deals');
    expect(before).toEqual([{ owner_member_id: 'anna' }]);
    const events = Array.from({ length: 8 }, (_, i) => hotB2b(`lead${i}@corp${i}.example`)).flat();
    await processEvents(await storeEvents(db, events), jobContext(db, capped, clock.now));
    const { rows } = await db.pool.query(
      `SELECT coalesce(owner_member_id, owner_queue) AS owner, count(*)::int AS n FROM deals GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      { owner: '#overflow', n: 3 },
      { owner: 'anna', n: 2 },
      { owner: 'ben', n: 2 },
      { owner: 'carla', n: 2 },
    ]);
    const { rows: assignments } = await db.pool.query(
      `SELECT seq, outcome_kind FROM assignments ORDER BY id`,
    );
    expect(assignments).toHaveLength(9);
    expect(new Set(assignments.map((a) => a.outcome_kind))).toEqual(new Set(['member', 'queue']));
  });
});
