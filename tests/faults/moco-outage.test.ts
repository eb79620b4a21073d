import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDeal } from '../../src/app/changes/deal.ts';
import type { AppContext } from '../../src/app/context.ts';
import { createMocoLimiter } from '../../src/app/moco/rate-limit.ts';
import { type MocoConnection, syncToMoco } from '../../src/app/moco/sync.ts';
import { createMocoClient } from '../../src/clients/moco.ts';
import { withTransaction } from '../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { jobContext, testRuleset } from '../support/engine-fixtures.ts';
import { type FakeMoco, startFakeMoco } from '../support/fake-moco.ts';
import { MOCO_ANNA, MOCO_SAM, mocoRulesYaml } from '../support/moco-rules.ts';
import { report } from './support/report.ts';

const MINUTE = 60_000;
const DEALS = 12;
// How the moco-sync queue retries a sync that failed (src/jobs/moco-sync.ts: 30 s, backing off).
const RETRY_STEP_MS = 30_000;

const RULES_YAML = mocoRulesYaml('moco-outage', [MOCO_ANNA, MOCO_SAM, '{ id: lena, slack_user_id: U0LENAAD6, name: Lena, role: admin }']);

/**
 * MOCO misbehaving for six minutes on an injected clock while deals are won: two minutes of 503s,
 * two of 429s, two of calls that never answer. The breaker stops the calls, the admins hear of it
 * once (and once that it is back), and afterwards every sync completes with one record each.
 */
describe('MOCO outage', () => {
  let db: TestDatabase;
  let fake: FakeMoco;
  let ctx: AppContext;
  let connection: MocoConnection;
  let t = Date.parse('2026-12-03T09:00:00Z');
  const now = () => new Date(t);

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await startFakeMoco({ rateLimit: null, clock: now });
    fake.seed('users', { firstname: 'Anna', lastname: 'Becker', email: 'anna@leadline.example' });
    ctx = jobContext(db, testRuleset(RULES_YAML), now);
    // Waits (the account's budget, backoff, Retry-After) pass on the clock; a hung call costs its
    // real 100 ms timeout.
    const sleep = async (ms: number) => void (t += ms);
    const limiter = createMocoLimiter({ pool: db.pool, limit: 120, now, sleep });
    const client = createMocoClient({ baseUrl: fake.baseUrl, apiKey: fake.apiKey, limiter, timeoutMs: 100, sleep });
    connection = { client, webUrl: 'https://acme.mocoapp.com' };
  });
  afterAll(async () => {
    await fake.close();
    await db.drop();
  });

  const query = async (text: string, values: unknown[] = []) => (await db.pool.query(text, values)).rows;

  async function winDeal(i: number): Promise<void> {
    const [lead] = await query(
      `INSERT INTO leads (email, first_name, full_name, company, score, grade, created_at)
       VALUES ($1, 'Ada', $2, $3, 60, 'B', $4) RETURNING id`,
      [`ada${i}@lab${i}.example`, `Ada Lovelace ${i}`, `Genomics Lab ${i}`, now()],
    );
    const [deal] = await query(
      `INSERT INTO deals (lead_id, pipeline_id, stage_id, owner_member_id, ruleset_version, created_at, stage_entered_at)
       VALUES ($1, 'b2b', 'new', 'anna', 'test', $2, $2) RETURNING id`,
      [lead.id, now()],
    );
    await withTransaction(db.pool, (tx) =>
      closeDeal(tx, ctx, { dealId: deal.id, outcome: 'won', actor: 'slack:U0ANNA001', now: now(), close: { value: 12_000 } }),
    );
  }

  it('503s, then 429s, then hung calls for two minutes each: admins told once, every sync completes once', async () => {
    const start = t;
    fake.failUntil(new Date(start + 2 * MINUTE), { status: 503 });
    fake.failUntil(new Date(start + 4 * MINUTE), { status: 429, retryAfter: 20 });
    fake.failUntil(new Date(start + 6 * MINUTE), { hang: true });
    for (let i = 0; i < DEALS; i += 1) await winDeal(i);
    // The queue's view of it: every sync still pending is tried again after its retry delay.
    let attempts = 0;
    let paused = 0;
    for (let round = 0; round < 200; round += 1) {
      const pending = await query(`SELECT id FROM moco_sync_requests WHERE state = 'pending' ORDER BY id`);
      if (pending.length === 0) break;
      for (const { id } of pending) {
        attempts += 1;
        await syncToMoco(ctx, connection, id as number).catch((err: unknown) => {
          if ((err as { code?: string }).code === 'moco_paused') paused += 1;
        });
      }
      t += RETRY_STEP_MS;
    }
    const states = await query(`SELECT state, count(*)::int AS n FROM moco_sync_requests GROUP BY state`);
    const dms = await query(`SELECT channel, payload->>'text' AS text FROM slack_outbox WHERE kind = 'moco' AND channel LIKE 'U%' ORDER BY id`);
    const told = (phrase: string) => dms.filter((d) => String(d.text).includes(phrase));
    const records = { companies: fake.records('companies').length, people: fake.records('people').length, deals: fake.records('deals').length, offers: fake.records('offers').length };
    const failedCalls = fake.requests().filter((r) => r.status !== 200 && r.status !== 201);
    const lastSynced = Math.max(...(await query(`SELECT synced_at FROM moco_sync_requests`)).map((r) => new Date(r.synced_at as string).getTime()));
    report('MOCO 503 → 429 → hang, two minutes each', {
      'deals won during the outage': DEALS,
      'sync attempts / refused by the open breaker (no call)': `${attempts} / ${paused}`,
      'calls MOCO failed or left unanswered': failedCalls.length,
      'syncs by state': JSON.stringify(Object.fromEntries(states.map((s) => [s.state, s.n]))),
      'MOCO records (companies / people / deals / offers)': `${records.companies} / ${records.people} / ${records.deals} / ${records.offers}`,
      'admins told “cannot be reached” / “answers again”': `${told('cannot be reached').length} / ${told('answers again').length}`,
      'last sync done after the outage began (virtual min)': ((lastSynced - start) / MINUTE).toFixed(1),
    });
    expect(states).toEqual([{ state: 'synced', n: DEALS }]);
    expect(records).toEqual({ companies: DEALS, people: DEALS, deals: DEALS, offers: DEALS });
    expect(told('cannot be reached').map((d) => d.channel).sort()).toEqual(['U0LENAAD6', 'U0SAMADM5']);
    expect(told('answers again').map((d) => d.channel).sort()).toEqual(['U0LENAAD6', 'U0SAMADM5']);
    expect(paused).toBeGreaterThan(0);
    expect(lastSynced).toBeGreaterThanOrEqual(start + 6 * MINUTE);
  });
});
