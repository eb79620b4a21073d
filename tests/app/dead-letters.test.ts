import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.ts';
import {
  type DeadLetterRef,
  describeOutcome,
  discardDeadLetter,
  listDeadLetters,
  parseDeadLetterRef,
  retryDeadLetter,
} from '../../src/app/dead-letters.ts';
import { listInvalidDeliveries, parkDelivery } from '../../src/app/intake/invalid-deliveries.ts';
import { listParkedEvents } from '../../src/app/processing/poison.ts';
import { processEvents } from '../../src/app/processing/process-events.ts';
import { DECAY_QUEUE, MOCO_SYNC_QUEUE, PROCESS_EVENTS_QUEUE } from '../../src/app/queues.ts';
import { type Boss, startBoss } from '../../src/jobs/boss.ts';
import { createQueues } from '../../src/jobs/registry.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { enqueueSlack, listDeadDeliveries } from '../../src/slack/outbox/enqueue.ts';
import { SLACK_DELIVERY_QUEUE } from '../../src/slack/outbox/kick.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { event, fixedClock, storeEvents, testRuleset } from '../support/engine-fixtures.ts';

describe('dead letters', () => {
  let db: TestDatabase;
  let boss: Boss;
  let ctx: AppContext;
  const clock = fixedClock('2026-11-20T10:00:00Z');
  const advance = (ms: number) => clock.set(new Date(clock.now().getTime() + ms).toISOString());

  beforeAll(async () => {
    db = await createTestDatabase();
    boss = await startBoss(db.url, createLogger('silent'), { supervise: false });
    await createQueues(boss);
    ctx = { pool: db.pool, queue: boss, ruleset: testRuleset(), log: createLogger('silent'), metrics: createMetrics({ defaults: false }), now: clock.now };
  });
  afterAll(async () => {
    await boss.stop({ graceful: false, close: true });
    await db.drop();
  });
  beforeEach(async () => {
    clock.set('2026-11-20T10:00:00Z');
    await db.reset();
    // pg-boss's tables survive a reset: each test starts with no jobs at all.
    await db.pool.query('DELETE FROM pgboss.job');
  });

  const one = async <T>(sql: string, values: unknown[] = []) => (await db.pool.query(sql, values)).rows[0] as T;
  const jobs = async (queue: string) => (await one<{ n: number }>('SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1', [queue])).n;
  const listed = async () => (await listDeadLetters(ctx)).items.map((item) => `${item.kind}:${item.id}`);

  /** Retry (or discard) twice: the second finds nothing and changes no row of the kind's table. */
  async function twice(action: 'retry' | 'discard', ref: DeadLetterRef, table: string, expected: string) {
    const act = () => (action === 'retry' ? retryDeadLetter(ctx, ref) : discardDeadLetter(ctx, ref));
    expect(await act()).toEqual({ status: expected });
    const after = await one<{ rows: unknown }>(`SELECT jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text) AS rows FROM ${table} t`);
    const jobsAfter = await one<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name <> $1`, [SLACK_DELIVERY_QUEUE]);
    advance(60_000);
    expect(await act()).toEqual({ status: 'gone' });
    expect(await one(`SELECT jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text) AS rows FROM ${table} t`)).toEqual(after);
    expect(await one(`SELECT count(*)::int AS n FROM pgboss.job WHERE name <> $1`, [SLACK_DELIVERY_QUEUE])).toEqual(jobsAfter);
  }

  async function deadSlack(key = 'alert:lead:400'): Promise<DeadLetterRef> {
    const { id } = await enqueueSlack(db.pool, { key, kind: 'alert', method: 'chat.postMessage', channel: 'C0GONE', payload: { text: 'Ada' } }, clock.now());
    await db.pool.query(`UPDATE slack_outbox SET state = 'dead', attempts = 1, last_error = 'channel_not_found' WHERE id = $1`, [id]);
    return { kind: 'slack', id: String(id) };
  }

  async function failedSync(): Promise<DeadLetterRef> {
    const lead = { email: 'ada@lab.example', firstName: 'Ada', lastName: '<!channel> Lovelace', ids: {} };
    await processEvents(await storeEvents(db, [event('page.viewed', { lead })]), ctx);
    const { id } = await one<{ id: string }>(
      `INSERT INTO moco_sync_requests (source_key, entity, lead_id, state, last_error, attempts, updated_at)
       SELECT 'won:1', 'deal', id, 'failed', 'MOCO refused the company', 3, $1 FROM leads RETURNING id::text`,
      [clock.now()],
    );
    return { kind: 'moco', id };
  }

  async function parkedEvent(): Promise<DeadLetterRef> {
    const [id] = await storeEvents(db, [event('form.submitted')]);
    await db.pool.query(`INSERT INTO parked_events (event_id, error, ruleset_version, parked_at) VALUES ($1, 'TypeError: lead is null', 'test-rules', $2)`, [id, clock.now()]);
    return { kind: 'event', id: id! };
  }

  async function parkedDelivery(body = 'not json at all'): Promise<DeadLetterRef> {
    const parked = { source: 'website', deliveryId: null, receivedAt: clock.now(), contentType: 'application/json', reason: 'invalid_json', detail: 'Unexpected token' };
    return { kind: 'delivery', id: await parkDelivery(db.pool, { ...parked, body: new TextEncoder().encode(body) }) };
  }

  /** A job that used up its retries, the way pg-boss fails one. */
  async function failedJob(): Promise<DeadLetterRef> {
    await boss.send(DECAY_QUEUE, { slot: 'x' }, { retryLimit: 0 });
    const [job] = await boss.fetch(DECAY_QUEUE);
    await boss.fail(DECAY_QUEUE, job!.id, new Error('decay exploded'));
    return { kind: 'job', id: job!.id };
  }

  it('lists every kind in one shape, newest first, with the total', async () => {
    const slack = await deadSlack();
    advance(1_000);
    const moco = await failedSync();
    advance(1_000);
    const parked = await parkedEvent();
    advance(1_000);
    const delivery = await parkedDelivery();
    const job = await failedJob();
    const { total, items } = await listDeadLetters(ctx);
    expect(total).toBe(5);
    expect(items.map((i) => i.kind).sort()).toEqual(['delivery', 'event', 'job', 'moco', 'slack']);
    // The job failed on the database's own clock, the others on the test's: order those four.
    const ours = items.filter((i) => i.kind !== 'job').map((i) => `${i.kind}:${i.id}`);
    expect(ours).toEqual([delivery, parked, moco, slack].map((r) => `${r.kind}:${r.id}`));
    expect(items.find((i) => i.kind === 'job')?.id).toBe(job.id);
    expect(items.find((i) => i.kind === 'slack')).toEqual({ kind: 'slack', id: slack.id, when: new Date('2026-11-20T10:00:00Z'), what: 'alert (chat.postMessage to C0GONE)', error: 'channel_not_found', tries: 1 });
    expect(items.find((i) => i.kind === 'moco')).toMatchObject({ what: 'MOCO deal sync for Ada <!channel> Lovelace', error: 'MOCO refused the company', tries: 3 });
    expect(items.find((i) => i.kind === 'event')).toMatchObject({ what: 'website form.submitted event', error: 'TypeError: lead is null', tries: 1 });
    expect(items.find((i) => i.kind === 'delivery')).toMatchObject({ what: 'website delivery (15 bytes)', error: 'invalid_json: Unexpected token', tries: 1 });
    expect(items.find((i) => i.kind === 'job')).toMatchObject({ what: 'decay-scores job', error: 'decay exploded', tries: 0 });
    expect((await listDeadLetters(ctx, 2)).items).toHaveLength(2);
    expect((await listDeadLetters(ctx, 2)).total).toBe(5);
  });

  it('retries a dead Slack delivery once, waking the dispatcher; discarding hides it for good', async () => {
    const ref = await deadSlack();
    await twice('retry', ref, 'slack_outbox', 'retried');
    expect(await one('SELECT state, attempts FROM slack_outbox')).toEqual({ state: 'pending', attempts: 0 });
    expect(await jobs(SLACK_DELIVERY_QUEUE)).toBeGreaterThan(0);

    const other = await deadSlack('alert:lead:401');
    await twice('discard', other, 'slack_outbox', 'discarded');
    expect(await listed()).toEqual([]);
    expect(await listDeadDeliveries(db.pool)).toEqual([]);
    expect(await retryDeadLetter(ctx, other)).toEqual({ status: 'gone' });
    // New content under the key is a new message: when it dies too, it is listed again.
    await enqueueSlack(db.pool, { key: 'alert:lead:401', kind: 'alert', method: 'chat.postMessage', channel: 'C0GONE', payload: { text: 'Ada, again' } }, clock.now());
    await db.pool.query(`UPDATE slack_outbox SET state = 'dead' WHERE key = 'alert:lead:401'`);
    expect(await listed()).toEqual([`slack:${other.id}`]);
  });

  it('retries a failed MOCO sync once, with its job; a discarded one is no longer retried', async () => {
    const ref = await failedSync();
    await twice('retry', ref, 'moco_sync_requests', 'retried');
    expect(await one('SELECT state FROM moco_sync_requests')).toEqual({ state: 'pending' });
    expect(await jobs(MOCO_SYNC_QUEUE)).toBe(1);

    await db.pool.query(`UPDATE moco_sync_requests SET state = 'failed'`);
    await twice('discard', ref, 'moco_sync_requests', 'discarded');
    expect(await listed()).toEqual([]);
    expect(await retryDeadLetter(ctx, ref)).toEqual({ status: 'gone' });
    expect(await jobs(MOCO_SYNC_QUEUE)).toBe(1);
  });

  it('sends a parked event back to processing once; a discarded one stays out of events:parked too', async () => {
    const ref = await parkedEvent();
    await twice('retry', ref, 'parked_events', 'retried');
    expect(await one(`SELECT data->>'eventId' AS id FROM pgboss.job WHERE name = $1`, [PROCESS_EVENTS_QUEUE])).toEqual({ id: ref.id });
    // The fault gone (here: there was none in the event itself), the job the retry queued processes it.
    expect(await processEvents([ref.id], ctx)).toMatchObject({ events: 1 });
    expect(await one('SELECT processed_at IS NOT NULL AS processed FROM intake_events WHERE id = $1', [ref.id])).toEqual({ processed: true });

    const other = await parkedEvent();
    await twice('discard', other, 'parked_events', 'discarded');
    expect(await listed()).toEqual([]);
    expect(await listParkedEvents(ctx)).toEqual([]);
    expect(await retryDeadLetter(ctx, other)).toEqual({ status: 'gone' });
  });

  it('reads a parked delivery again: still unreadable it stays listed, fixed it is stored once', async () => {
    const ref = await parkedDelivery();
    const still = await retryDeadLetter(ctx, ref);
    expect(still).toMatchObject({ status: 'still_failing' });
    expect(describeOutcome(ref, still)).toMatch(new RegExp(`^delivery:${ref.id} still cannot be read: `));
    expect(await listed()).toEqual([`delivery:${ref.id}`]);

    // The operator's fix: the body corrected in place, as after fixing a sender's template.
    await db.pool.query(`UPDATE invalid_deliveries SET body = convert_to($1, 'UTF8')`, [JSON.stringify({ type: 'page.viewed', lead: { email: 'ada@lab.example' } })]);
    await twice('retry', ref, 'invalid_deliveries', 'retried');
    expect(await one('SELECT count(*)::int AS n FROM intake_events')).toEqual({ n: 1 });

    const other = await parkedDelivery('{"still": "broken"}');
    await twice('discard', other, 'invalid_deliveries', 'discarded');
    expect(await listed()).toEqual([]);
    expect(await listInvalidDeliveries(db.pool)).toEqual([]);
    expect(await retryDeadLetter(ctx, other)).toEqual({ status: 'gone' });
  });

  it('hands a failed job back to pg-boss once; a discarded one is recorded and no longer listed', async () => {
    const ref = await failedJob();
    await twice('retry', ref, 'discarded_jobs', 'retried');
    expect(await one('SELECT state::text FROM pgboss.job WHERE id = $1', [ref.id])).toEqual({ state: 'retry' });

    const other = await failedJob();
    await twice('discard', other, 'discarded_jobs', 'discarded');
    expect(await one('SELECT queue FROM discarded_jobs WHERE job_id = $1', [other.id])).toEqual({ queue: DECAY_QUEUE });
    expect(await listed()).toEqual([]);
    expect(await retryDeadLetter(ctx, other)).toEqual({ status: 'gone' });
    expect(await one('SELECT state::text FROM pgboss.job WHERE id = $1', [other.id])).toEqual({ state: 'failed' });
  });

  it('reads <kind>:<id> strictly, so nothing malformed reaches SQL', () => {
    expect(parseDeadLetterRef('slack:12')).toEqual({ kind: 'slack', id: '12' });
    expect(parseDeadLetterRef('JOB:0b5f')).toBeNull();
    for (const bad of ['slack', 'slack:', 'slack:0', 'slack:1x', 'moco:99999999999999999999', 'event:12', 'mail:1', 'job:not-a-uuid']) {
      expect(parseDeadLetterRef(bad), bad).toBeNull();
    }
    const uuid = '0B5F6C1E-1111-4222-8333-944445555666';
    expect(parseDeadLetterRef(`event:${uuid}`)).toEqual({ kind: 'event', id: uuid.toLowerCase() });
  });
});
