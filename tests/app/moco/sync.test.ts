import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeDeal } from '../../../src/app/changes/deal.ts';
import type { AppContext } from '../../../src/app/context.ts';
import { createMocoLimiter } from '../../../src/app/moco/rate-limit.ts';
import { retryMocoSync } from '../../../src/app/moco/request.ts';
import { type MocoConnection, syncToMoco } from '../../../src/app/moco/sync.ts';
import { createMocoClient, type MocoClient } from '../../../src/clients/moco.ts';
import { withTransaction } from '../../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { fixedClock, jobContext, testRuleset } from '../../support/engine-fixtures.ts';
import { type FakeMoco, startFakeMoco } from '../../support/fake-moco.ts';
import { MOCO_ANNA, MOCO_SAM, mocoRulesYaml } from '../../support/moco-rules.ts';

const RULES_YAML = mocoRulesYaml('moco-sync-test', [MOCO_ANNA, '{ id: ben, slack_user_id: U0BEN0002, name: Ben, role: rep }', MOCO_SAM]);

const NOW = '2026-11-20T12:00:00.000Z';

describe('syncing won deals to MOCO', () => {
  let db: TestDatabase;
  let ctx: AppContext;
  let fake: FakeMoco;
  let connection: MocoConnection;
  const clock = fixedClock(NOW);

  beforeAll(async () => {
    db = await createTestDatabase();
    ctx = jobContext(db, testRuleset(RULES_YAML), clock.now);
    fake = await startFakeMoco({ rateLimit: null });
    const limiter = createMocoLimiter({ pool: db.pool, limit: 120 });
    const client = createMocoClient({ baseUrl: fake.baseUrl, apiKey: fake.apiKey, limiter, sleep: async () => {} });
    connection = { client, webUrl: 'https://acme.mocoapp.com' };
  });
  afterAll(async () => {
    await fake.close();
    await db.drop();
  });
  beforeEach(async () => {
    clock.set(NOW);
    await db.reset();
    fake.reset();
    fake.seed('users', { firstname: 'Anna', lastname: 'Becker', email: 'anna@leadline.example' });
  });

  const query = async (text: string, values: unknown[] = []) => (await db.pool.query(text, values)).rows;
  const counts = () => ({
    companies: fake.records('companies').length,
    people: fake.records('people').length,
    deals: fake.records('deals').length,
    offers: fake.records('offers').length,
  });

  async function wonDeal(owner = 'anna'): Promise<{ dealId: number; requestIds: number[] }> {
    const [lead] = await query(
      `INSERT INTO leads (email, first_name, full_name, company, title, score, grade, created_at)
       VALUES ($1, 'Ada', 'Ada Lovelace', 'Genomics Lab', 'Head of Research', 60, 'B', $2) RETURNING id`,
      [`ada-${randomUUID().slice(0, 6)}@genomics-lab.example`, clock.now()],
    );
    const [deal] = await query(
      `INSERT INTO deals (lead_id, pipeline_id, stage_id, owner_member_id, ruleset_version, created_at, stage_entered_at)
       VALUES ($1, 'b2b', 'new', $2, 'test', $3, $3) RETURNING id`,
      [lead.id, owner, clock.now()],
    );
    // Twenty people marking it won at the same moment: one close, one sync request.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withTransaction(db.pool, (tx) =>
          closeDeal(tx, ctx, { dealId: deal.id, outcome: 'won', actor: 'slack:U0ANNA001', now: clock.now(), close: { value: 12_000 } }),
        ),
      ),
    );
    const requests = await query('SELECT id FROM moco_sync_requests WHERE deal_id = $1', [deal.id]);
    return { dealId: deal.id, requestIds: requests.map((r) => r.id as number) };
  }

  it('creates one company, person, deal and offer however many syncs run at once, and says so in Slack', async () => {
    const { dealId, requestIds } = await wonDeal();
    expect(requestIds).toHaveLength(1);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => syncToMoco(ctx, connection, requestIds[0]!)));
    // The ones that found the sync running are retried by the queue: run them again.
    for (let i = 0; i < 5; i += 1) await syncToMoco(ctx, connection, requestIds[0]!);
    expect(outcomes.some((o) => o.status === 'fulfilled' && o.value.status === 'synced')).toBe(true);
    expect(counts()).toEqual({ companies: 1, people: 1, deals: 1, offers: 1 });
    const [mocoDeal] = fake.records('deals');
    expect(mocoDeal).toMatchObject({ status: 'won', money: 12_000, currency: 'EUR' });
    expect(await query('SELECT moco_deal_id, moco_offer_id FROM deals WHERE id = $1', [dealId])).toEqual([
      { moco_deal_id: mocoDeal!['id'], moco_offer_id: fake.records('offers')[0]!['id'] },
    ]);
    const [post] = await query(`SELECT payload->>'text' AS text FROM slack_outbox WHERE kind = 'moco'`);
    expect(post.text).toBe('Won — customer, contact, deal and offer created in MOCO: Ada Lovelace');
    // Create invoice, later: one invoice from the offer, however often asked.
    const invoice = await query(
      `INSERT INTO moco_sync_requests (source_key, entity, lead_id, deal_id) SELECT 'invoice:' || id, 'invoice', lead_id, id FROM deals WHERE id = $1 RETURNING id`,
      [dealId],
    );
    expect(await syncToMoco(ctx, connection, invoice[0].id)).toMatchObject({ status: 'synced', invoiceId: expect.any(Number) });
    expect(await syncToMoco(ctx, connection, invoice[0].id)).toEqual({ status: 'already_synced' });
    expect(fake.records('invoices')).toHaveLength(1);
    expect(fake.records('invoices')[0]).toMatchObject({ offer_id: fake.records('offers')[0]!['id'] });
    // MOCO's webhooks about the person find this lead by the contact id.
    const person = String(fake.records('people')[0]!['id']);
    expect(await query(`SELECT kind, value FROM lead_identifiers WHERE kind = 'moco_contact_id'`)).toEqual([
      { kind: 'moco_contact_id', value: person },
    ]);
  });

  it('finds the deal it created when a sync died between MOCO’s answer and storing the id', async () => {
    const { requestIds } = await wonDeal();
    // A client that loses every answer to createDeal, as a crash right after MOCO answered would.
    const dying: MocoClient = {
      ...connection.client,
      createDeal: async (input) => {
        await connection.client.createDeal(input);
        throw new Error('worker killed');
      },
    };
    await expect(syncToMoco(ctx, { ...connection, client: dying }, requestIds[0]!)).rejects.toThrow('worker killed');
    expect(await syncToMoco(ctx, connection, requestIds[0]!)).toMatchObject({ status: 'synced' });
    expect(counts()).toEqual({ companies: 1, people: 1, deals: 1, offers: 1 });
  });

  it('finds the offer and the invoice it created when a sync died after MOCO answered', async () => {
    const { dealId, requestIds } = await wonDeal();
    const lose = <T>(create: (input: T) => Promise<unknown>) => async (input: T): Promise<never> => {
      await create(input);
      throw new Error('worker killed');
    };
    const dying: MocoClient = {
      ...connection.client,
      createOffer: lose(connection.client.createOffer),
      createInvoice: lose(connection.client.createInvoice),
    };
    await expect(syncToMoco(ctx, { ...connection, client: dying }, requestIds[0]!)).rejects.toThrow('worker killed');
    expect(await syncToMoco(ctx, connection, requestIds[0]!)).toMatchObject({ status: 'synced', offerId: fake.records('offers')[0]!['id'] });
    const invoice = await query(
      `INSERT INTO moco_sync_requests (source_key, entity, lead_id, deal_id) SELECT 'invoice:' || id, 'invoice', lead_id, id FROM deals WHERE id = $1 RETURNING id`,
      [dealId],
    );
    await expect(syncToMoco(ctx, { ...connection, client: dying }, invoice[0].id)).rejects.toThrow('worker killed');
    expect(await syncToMoco(ctx, connection, invoice[0].id)).toMatchObject({ status: 'synced', invoiceId: fake.records('invoices')[0]!['id'] });
    expect({ ...counts(), invoices: fake.records('invoices').length }).toEqual({ companies: 1, people: 1, deals: 1, offers: 1, invoices: 1 });
  });

  it('fails with what to configure when the owner has no MOCO user, without creating a deal', async () => {
    const { requestIds } = await wonDeal('ben');
    const outcome = await syncToMoco(ctx, connection, requestIds[0]!);
    expect(outcome).toEqual({
      status: 'failed',
      error: "no MOCO user for the deal's owner: give ben an email MOCO knows in team.members, or set moco.default_user_id",
    });
    expect(counts().deals).toBe(0);
    expect(await query('SELECT state, last_error FROM moco_sync_requests')).toEqual([
      { state: 'failed', last_error: outcome.status === 'failed' ? outcome.error : '' },
    ]);
    // The deals channel hears why, with a Retry button; Retry queues it once, however often clicked.
    const [post] = await query(`SELECT payload FROM slack_outbox WHERE kind = 'moco'`);
    expect(JSON.stringify(post.payload)).toContain('"action_id":"moco.retry"');
    const jobs = async () => (await query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'moco-sync'`))[0].n as number;
    const before = await jobs();
    expect(await retryMocoSync(ctx, requestIds[0]!)).toBe(true);
    expect(await retryMocoSync(ctx, requestIds[0]!)).toBe(false);
    expect(await jobs()).toBe(before + 1);
  });

  it('surfaces MOCO’s own reason when it refuses a record', async () => {
    const { requestIds } = await wonDeal();
    fake.failNext(1, { status: 422, body: { message: 'name has already been taken' } }, { method: 'POST', path: '/companies' });
    const outcome = await syncToMoco(ctx, connection, requestIds[0]!);
    expect(outcome.status).toBe('failed');
    expect(outcome.status === 'failed' && outcome.error).toContain('name has already been taken');
  });

  it('stops calling MOCO while it is down, tells the admins once, and completes the syncs after', async () => {
    const requests: number[] = [];
    for (let i = 0; i < 4; i += 1) requests.push(...(await wonDeal()).requestIds);
    fake.failNext(100, { status: 503 });
    for (const id of requests.slice(0, 3)) {
      await expect(syncToMoco(ctx, connection, id)).rejects.toThrow();
    }
    const seen = fake.requests().length;
    await expect(syncToMoco(ctx, connection, requests[3]!)).rejects.toThrow('MOCO is unreachable');
    expect(fake.requests().length).toBe(seen);
    const told = async () =>
      (await query(`SELECT channel, payload->>'text' AS text FROM slack_outbox WHERE key LIKE 'moco:%:%' AND kind = 'moco' AND channel LIKE 'U%'`)).map((r) => r.text as string);
    expect(await told()).toEqual([expect.stringContaining('MOCO cannot be reached')]);
    fake.reset();
    fake.seed('users', { firstname: 'Anna', lastname: 'Becker', email: 'anna@leadline.example' });
    clock.set('2026-11-20T12:06:00.000Z');
    for (const id of requests) expect(await syncToMoco(ctx, connection, id)).toMatchObject({ status: 'synced' });
    expect(await told()).toEqual([expect.stringContaining('MOCO cannot be reached'), expect.stringContaining('MOCO answers again')]);
  });

  it('stops syncing and tells the admins once when MOCO rejects the API key', async () => {
    const { requestIds } = await wonDeal();
    fake.failNext(1, { status: 401 });
    expect(await syncToMoco(ctx, connection, requestIds[0]!)).toMatchObject({ status: 'failed' });
    const dms = await query(`SELECT payload->>'text' AS text FROM slack_outbox WHERE kind = 'moco' AND channel = 'U0SAMADM5'`);
    expect(dms).toEqual([{ text: expect.stringContaining("MOCO rejected Leadline's API key") }]);
    const { requestIds: next } = await wonDeal();
    const seen = fake.requests().length;
    await expect(syncToMoco(ctx, connection, next[0]!)).rejects.toThrow('MOCO is unreachable');
    expect(fake.requests().length).toBe(seen);
  });
});
