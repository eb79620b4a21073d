import { createMetrics } from '../../../src/metrics.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackApi, type SlackApi } from '../../../src/clients/slack-api.ts';
import { withOutboxMetadata } from '../../../src/slack/outbox/reconcile.ts';
import { createPool, withTransaction } from '../../../src/db/pool.ts';
import { startBoss } from '../../../src/jobs/boss.ts';
import type { AppContext } from '../../../src/app/context.ts';
import { type DeliveryDeps, deliverDue, retryDelayMs } from '../../../src/slack/outbox/deliver.ts';
import { kickSlackDelivery, listenForSlackKicks, SLACK_DELIVERY_QUEUE } from '../../../src/slack/outbox/kick.ts';
import { createSlackDeliveryJob } from '../../../src/jobs/slack-delivery.ts';
import {
  enqueueSlack,
  listDeadDeliveries,
  type OutboxMessage,
  retryDeadDelivery,
} from '../../../src/slack/outbox/enqueue.ts';
import { createLogger } from '../../../src/log.ts';
import { checkMessage, checkView } from '../../support/block-kit-limits.ts';
import { createTestDatabase, type TestDatabase, waitFor } from '../../support/db.ts';
import { type FakeCall, type FakeSlack, startFakeSlack } from '../../support/fake-slack.ts';

const START = Date.parse('2026-11-20T12:00:00Z');

describe('slack delivery', () => {
  let db: TestDatabase;
  let fake: FakeSlack;
  let slack: SlackApi;
  let t = START;
  const clock = {
    now: () => new Date(t),
    set: (at: Date) => {
      t = Math.max(t, at.getTime());
    },
  };
  const log = createLogger('silent');
  const deps = (overrides: Partial<DeliveryDeps> = {}): DeliveryDeps => ({
    pool: db.pool,
    slack,
    now: clock.now,
    log,
    ...overrides,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await startFakeSlack();
    // Short enough that the storm's hung call costs a second, long enough that a loaded test machine
    // never times out a call the fake did answer (that would be a genuine duplicate post).
    slack = createSlackApi({ baseUrl: fake.baseUrl, token: fake.token, timeoutMs: 1_000 });
  });
  afterAll(async () => {
    await fake.close();
    await db.drop();
  });
  beforeEach(async () => {
    t = START;
    fake.reset();
    fake.setClock(clock.now);
    await db.reset();
  });

  const enqueue = (message: OutboxMessage) =>
    withTransaction(db.pool, (tx) => enqueueSlack(tx, message, clock.now()));
  const post = (key: string, channel: string, text: string): OutboxMessage => ({
    key,
    kind: 'alert',
    method: 'chat.postMessage',
    channel,
    payload: { text },
  });
  const row = async (key: string) =>
    (await db.pool.query('SELECT * FROM slack_outbox WHERE key = $1', [key])).rows[0];

  /** Runs the dispatcher, moving the injected clock to each next due time, until nothing is pending. */
  async function drain(options: Partial<DeliveryDeps> = {}, maxSteps = 400): Promise<void> {
    for (let step = 0; step < maxSteps; step += 1) {
      const summary = await deliverDue(deps(options));
      if (summary.nextDueAt === null) return;
      clock.set(summary.nextDueAt);
    }
    throw new Error('outbox did not drain');
  }

  function expectPaced(calls: FakeCall[]): void {
    const byChannel = new Map<string, number[]>();
    for (const call of calls) {
      const channel = String(call.body['channel']);
      byChannel.set(channel, [...(byChannel.get(channel) ?? []), call.receivedAt.getTime()]);
    }
    for (const [channel, times] of byChannel) {
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i += 1) {
        expect(times[i]! - times[i - 1]!, `gap in ${channel}`).toBeGreaterThanOrEqual(1_000);
      }
    }
  }

  it('posts once, keeps the ts, and turns new content into one chat.update', async () => {
    const first = await enqueue(post('alert:lead:1', 'C1', 'Ada Lovelace is now an A lead'));
    expect(first).toMatchObject({ version: 1, changed: true });

    expect(await deliverDue(deps())).toEqual({ sent: 1, retried: 0, rateLimited: 0, dead: 0, nextDueAt: null });
    const posted = fake.succeeded('chat.postMessage');
    expect(posted).toHaveLength(1);
    const ts = posted[0]!.response!['ts'];
    expect(await row('alert:lead:1')).toMatchObject({ state: 'sent', ts, posted_channel: 'C1', attempts: 0 });

    // A job retry runs the dispatcher again, and enqueues the same content again: nothing is sent.
    expect(await deliverDue(deps())).toMatchObject({ sent: 0, nextDueAt: null });
    expect(await enqueue(post('alert:lead:1', 'C1', 'Ada Lovelace is now an A lead'))).toMatchObject({
      changed: false,
      version: 1,
    });
    expect(await deliverDue(deps())).toMatchObject({ sent: 0, nextDueAt: null });

    // Two quick changes coalesce into one update of the posted message.
    await enqueue(post('alert:lead:1', 'C1', 'Ada Lovelace: A, claimed by Grace'));
    expect(await enqueue(post('alert:lead:1', 'C1', 'Ada Lovelace: A, claimed by Grace, met'))).toMatchObject(
      {
        version: 3,
        changed: true,
      },
    );
    await drain();
    const updates = fake.succeeded('chat.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.body).toMatchObject({
      channel: 'C1',
      ts,
      text: 'Ada Lovelace: A, claimed by Grace, met',
    });
    expect(fake.calls('chat.postMessage')).toHaveLength(1);
    expect(fake.messages('C1')).toEqual([expect.objectContaining({ ts, updates: 1 })]);
    expectPaced(fake.calls());
  });

  it('updates a bot DM in the D… channel Slack answered with', async () => {
    const { rows } = await db.pool.query(
      `INSERT INTO leads (email) VALUES ('dm.lead@lab.example') RETURNING id`,
    );
    const leadId: number = rows[0].id;
    await enqueue({
      key: 'dm:lead:7:U0SALES',
      kind: 'dm',
      leadId,
      method: 'chat.postMessage',
      channel: 'U0SALES',
      payload: { text: 'Yours: lead 7' },
    });
    await drain();
    expect(await row('dm:lead:7:U0SALES')).toMatchObject({
      posted_channel: 'D0SALES',
      state: 'sent',
      lead_id: leadId,
    });
    await enqueue({
      key: 'dm:lead:7:U0SALES',
      kind: 'dm',
      leadId,
      method: 'chat.postMessage',
      channel: 'U0SALES',
      payload: { text: 'Yours: lead 7 (hot)' },
    });
    await drain();
    expect(fake.succeeded('chat.update')[0]!.body).toMatchObject({
      channel: 'D0SALES',
      text: 'Yours: lead 7 (hot)',
    });
  });

  it('sends content changed during the post as an update of the new ts', async () => {
    await enqueue(post('alert:lead:2', 'C1', 'v1'));
    fake.onCall(async (call) => {
      if (call.method === 'chat.postMessage') await enqueue(post('alert:lead:2', 'C1', 'v2'));
    });
    await drain();
    expect(fake.succeeded('chat.postMessage').map((c) => c.body['text'])).toEqual(['v1']);
    const ts = fake.succeeded('chat.postMessage')[0]!.response!['ts'];
    expect(fake.succeeded('chat.update').map((c) => [c.body['text'], c.body['ts']])).toEqual([['v2', ts]]);
    expect(await row('alert:lead:2')).toMatchObject({ state: 'sent', version: 2, ts });
  });

  it('delivers every message exactly once through a 429/500/timeout storm, one post per second per channel', async () => {
    // Ten failures in a row: 429 (Retry-After 2) and 500 alternating, one call that never answers.
    for (let i = 0; i < 10; i += 1) {
      fake.failNext(
        'chat.postMessage',
        1,
        i === 5 ? { hang: true } : i % 2 === 0 ? { status: 429, retryAfter: 2 } : { status: 500 },
      );
    }
    const channels = ['C0SALES', 'C0MARKETING', 'C0PARTNERS'];
    for (let i = 0; i < 30; i += 1) {
      await enqueue(post(`alert:lead:${100 + i}`, channels[i % 3]!, `lead ${100 + i}`));
    }
    await drain();

    const posted = fake.succeeded('chat.postMessage').map((c) => c.body['text']);
    expect(posted).toHaveLength(30);
    expect(new Set(posted).size).toBe(30);
    expect(fake.calls('chat.postMessage').filter((c) => c.status === null)).toHaveLength(1);
    const { rows } = await db.pool.query(`SELECT state, count(*)::int AS n FROM slack_outbox GROUP BY state`);
    expect(rows).toEqual([{ state: 'sent', n: 30 }]);

    const calls = fake.calls('chat.postMessage');
    expect(calls.filter((c) => c.status === 429)).toHaveLength(5);
    expect(calls.filter((c) => c.status === 500)).toHaveLength(4);
    expectPaced(calls);
    // After a 429 the channel stays quiet for Retry-After (2 s, injected time).
    for (const limited of calls.filter((c) => c.status === 429)) {
      const next = calls.find(
        (c) => c.body['channel'] === limited.body['channel'] && c.receivedAt > limited.receivedAt,
      );
      expect(next!.receivedAt.getTime() - limited.receivedAt.getTime()).toBeGreaterThanOrEqual(2_000);
    }
  });

  it('loses nothing while Slack is down and delivers everything once it is back', async () => {
    fake.setDown(true);
    await enqueue(post('alert:lead:300', 'C1', 'down 1'));
    await enqueue(post('alert:lead:301', 'C2', 'down 2'));
    await enqueue({
      key: 'ephemeral:abc',
      kind: 'ephemeral',
      method: 'chat.postEphemeral',
      channel: 'C1',
      payload: { user: 'U1', text: 'only you' },
    });
    await enqueue({
      key: 'home:U9',
      kind: 'home',
      method: 'views.publish',
      channel: 'U9',
      payload: { view: { type: 'home', blocks: [] } },
    });
    await enqueue({
      key: 'reply:xyz',
      kind: 'reply',
      method: 'response_url',
      responseUrl: fake.responseUrl('xyz'),
      payload: { text: 'done' },
    });
    // Every message fails a few times (with backoff), and none is given up on.
    for (let step = 0; step < 50; step += 1) {
      const summary = await deliverDue(deps());
      expect(summary).toMatchObject({ sent: 0, dead: 0 });
      clock.set(summary.nextDueAt!);
      const { rows } = await db.pool.query('SELECT min(attempts)::int AS n FROM slack_outbox');
      if (rows[0].n >= 3) break;
    }
    const { rows } = await db.pool.query(
      `SELECT state, min(attempts)::int AS attempts FROM slack_outbox GROUP BY state`,
    );
    expect(rows).toEqual([{ state: 'pending', attempts: 3 }]);

    fake.setDown(false);
    await drain();
    expect(
      fake
        .succeeded()
        .map((c) => c.method)
        // Posts that failed ambiguously (503) first look for themselves in the channel.
        .filter((m) => m !== 'conversations.history')
        .sort(),
    ).toEqual([
      'chat.postEphemeral',
      'chat.postMessage',
      'chat.postMessage',
      'response_url',
      'views.publish',
    ]);
    expect(fake.succeeded('views.publish')[0]!.body).toMatchObject({ user_id: 'U9' });
    // The bot token is never sent to a response_url.
    expect(fake.calls('response_url').every((c) => c.authorization === undefined)).toBe(true);
  });

  it('dead-letters a permanent error after one try; an admin can list and retry it', async () => {
    fake.failNext('chat.postMessage', 1, { slackError: 'channel_not_found' });
    const { id } = await enqueue(post('alert:lead:400', 'C0GONE', 'nowhere'));
    expect(await deliverDue(deps())).toEqual({ sent: 0, retried: 0, rateLimited: 0, dead: 1, nextDueAt: null });
    expect(fake.calls('chat.postMessage')).toHaveLength(1);
    expect(await listDeadDeliveries(db.pool, 10)).toEqual([
      expect.objectContaining({ id, key: 'alert:lead:400', last_error: 'channel_not_found', attempts: 1 }),
    ]);

    expect(await retryDeadDelivery(db.pool, id, clock.now())).toBe(true);
    expect(await retryDeadDelivery(db.pool, id, clock.now())).toBe(false);
    await drain();
    expect(fake.succeeded('chat.postMessage')).toHaveLength(1);
    expect(await listDeadDeliveries(db.pool, 10)).toEqual([]);
  });

  it('dead-letters after the attempt cap, backing off 2^n seconds with deterministic jitter', async () => {
    fake.failNext('chat.postMessage', 10, { status: 500 });
    const { id } = await enqueue(post('alert:lead:500', 'C1', 'never'));
    await drain({ maxAttempts: 3 });
    const calls = fake.calls('chat.postMessage');
    expect(calls).toHaveLength(3);
    const gaps = calls.slice(1).map((c, i) => c.receivedAt.getTime() - calls[i]!.receivedAt.getTime());
    expect(gaps).toEqual([retryDelayMs(id, 1), retryDelayMs(id, 2)]);
    expect(await row('alert:lead:500')).toMatchObject({
      state: 'dead',
      attempts: 3,
      last_error: 'server: http_500',
    });
  });

  it('never gives up on a message for being rate limited, however long the limit lasts', async () => {
    // Sixty 429s in a row (a whole hour of Retry-After: 60), then Slack takes it: delivered once.
    fake.failNext('chat.postMessage', 60, { status: 429, retryAfter: 60 });
    await enqueue(post('alert:lead:501', 'C1', 'limited'));
    await drain();
    expect(fake.succeeded('chat.postMessage')).toHaveLength(1);
    expect(fake.calls('chat.postMessage')).toHaveLength(61);
    expect(await row('alert:lead:501')).toMatchObject({ state: 'sent', attempts: 0 });
  });

  it('records the post an interrupted delivery made instead of posting it again', async () => {
    const { id } = await enqueue(post('alert:lead:700', 'C7', 'posted, then the process died'));
    // What the dying process did: marked the attempt, and Slack accepted the post.
    await db.pool.query('UPDATE slack_outbox SET post_attempted_at = $2 WHERE id = $1', [id, clock.now()]);
    const accepted = await slack.call('chat.postMessage', {
      ...withOutboxMetadata({ text: 'posted, then the process died' }, 'alert:lead:700'),
      channel: 'C7',
    });
    clock.set(new Date(clock.now().getTime() + 120_000));
    await drain();
    expect(fake.succeeded('chat.postMessage')).toHaveLength(1);
    expect(await row('alert:lead:700')).toMatchObject({ state: 'sent', ts: accepted.ok ? accepted.data['ts'] : null });
    // Without such a post in the channel, the retry posts.
    const other = await enqueue(post('alert:lead:701', 'C7', 'never reached Slack'));
    await db.pool.query('UPDATE slack_outbox SET post_attempted_at = $2 WHERE id = $1', [other.id, clock.now()]);
    clock.set(new Date(clock.now().getTime() + 120_000));
    await drain();
    expect(fake.succeeded('chat.postMessage')).toHaveLength(2);
    expect(await row('alert:lead:701')).toMatchObject({ state: 'sent' });
  });

  it('two dispatchers on two pools deliver each message once', async () => {
    const poolA = createPool(db.url, 4, 'dispatcher-a');
    const poolB = createPool(db.url, 4, 'dispatcher-b');
    try {
      fake.failNext('*', 3, { status: 500 });
      for (let i = 0; i < 24; i += 1)
        await enqueue(post(`alert:lead:${600 + i}`, `C${i % 4}`, `lead ${600 + i}`));
      for (let i = 0; i < 6; i += 1) {
        await enqueue({
          key: `reply:${i}`,
          kind: 'reply',
          method: 'response_url',
          responseUrl: fake.responseUrl(`r${i}`),
          payload: { text: `reply ${i}` },
        });
      }
      for (let step = 0; step < 400; step += 1) {
        await Promise.all([
          deliverDue(deps({ pool: poolA, batchSize: 5 })),
          deliverDue(deps({ pool: poolB, batchSize: 5 })),
        ]);
        const { rows } = await db.pool.query(
          `SELECT min(next_attempt_at) AS at FROM slack_outbox WHERE state = 'pending'`,
        );
        if (rows[0].at === null) break;
        clock.set(rows[0].at);
      }
      const texts = fake
        .succeeded()
        .filter((c) => c.method !== 'conversations.history')
        .map((c) => c.body['text']);
      expect(texts).toHaveLength(30);
      expect(new Set(texts).size).toBe(30);
      expectPaced(fake.calls('chat.postMessage'));
    } finally {
      await Promise.all([poolA.end(), poolB.end()]);
    }
  });

  it('rejects what Slack would reject: the fake checks Block Kit limits', async () => {
    const oversize = { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3_001) } };
    const duplicate = [
      { type: 'section', block_id: 'lead', text: { type: 'mrkdwn', text: 'a' } },
      {
        type: 'actions',
        block_id: 'lead',
        elements: [{ type: 'button', action_id: 'claim', text: { type: 'plain_text', text: 'Claim' } }],
      },
    ];
    expect(checkMessage({ text: 'x', blocks: [oversize] }).map((v) => v.rule)).toEqual(['section_text']);
    expect(checkMessage({ text: 'x', blocks: duplicate }).map((v) => [v.rule, v.path])).toEqual([
      ['block_id_unique', 'blocks.1.block_id'],
    ]);
    expect(checkMessage({ blocks: [] }).map((v) => v.rule)).toEqual(['text_fallback']);
    expect(
      checkView({
        type: 'modal',
        title: { type: 'plain_text', text: 'A title far longer than allowed' },
        blocks: [],
      }).map((v) => v.rule),
    ).toEqual(['modal_title']);

    await enqueue({
      key: 'alert:lead:700',
      kind: 'alert',
      method: 'chat.postMessage',
      channel: 'C1',
      payload: { text: 'big', blocks: [oversize] },
    });
    expect(await deliverDue(deps())).toMatchObject({ dead: 1 });
    expect(await row('alert:lead:700')).toMatchObject({ state: 'dead', last_error: 'invalid_blocks' });
    expect(fake.violations()).toEqual([
      expect.objectContaining({ method: 'chat.postMessage', rule: 'section_text' }),
    ]);
  });

  it('classifies timeouts and unreachable hosts without throwing', async () => {
    fake.failNext('auth.test', 1, { hang: true });
    const quick = createSlackApi({ baseUrl: fake.baseUrl, token: fake.token, timeoutMs: 200 });
    expect(await quick.call('auth.test', {})).toEqual({ ok: false, kind: 'timeout', error: 'timeout' });
    expect(await slack.call('auth.test', {})).toMatchObject({ ok: true, data: { user_id: 'U0LEADBOT' } });
    const nowhere = createSlackApi({ baseUrl: 'http://127.0.0.1:1/api/', token: 'x', timeoutMs: 500 });
    expect(await nowhere.call('auth.test', {})).toMatchObject({ ok: false, kind: 'network' });
    const wrongToken = createSlackApi({ baseUrl: fake.baseUrl, token: 'xoxb-wrong', timeoutMs: 500 });
    expect(await wrongToken.call('chat.postMessage', { channel: 'C1', text: 'x' })).toEqual({
      ok: false,
      kind: 'slack_error',
      error: 'invalid_auth',
    });
  });

  it('runs as a pg-boss job woken by kicks, with at most one wake-up waiting', async () => {
    fake.setClock(() => new Date());
    const boss = await startBoss(db.url, log, { supervise: false });
    try {
      const job = createSlackDeliveryJob(slack);
      await boss.createQueue(job.name, job.queue);
      const ctx = { pool: db.pool, boss, log, now: () => new Date(), metrics: createMetrics({ defaults: false }) } as unknown as AppContext;
      // A wake-up deferred an hour (as the handler leaves one after a long backoff), then kicks: they
      // collapse into that one waiting wake-up and pull it forward to now.
      await boss.send(
        SLACK_DELIVERY_QUEUE,
        {},
        {
          singletonKey: 'slack-delivery',
          startAfter: new Date(Date.now() + 3_600_000),
        },
      );
      await Promise.all(Array.from({ length: 5 }, () => kickSlackDelivery(boss)));
      const { rows } = await db.pool.query(
        `SELECT count(*)::int AS n, bool_and(start_after <= now()) AS due
         FROM pgboss.job WHERE name = $1 AND state = 'created'`,
        [SLACK_DELIVERY_QUEUE],
      );
      expect(rows[0]).toEqual({ n: 1, due: true });

      // In production every delivering process listens; kicks inside a transaction arrive as NOTIFY.
      const kicks = await listenForSlackKicks(db.url, boss, log);
      await boss.work(job.name, job.work, (jobs) =>
        job.handler(
          jobs.map((j) => ({ id: j.id, data: {} })),
          ctx,
        ),
      );
      await withTransaction(db.pool, async (tx) => {
        await enqueueSlack(tx, post('alert:lead:800', 'C1', 'via the job'), new Date());
        await kickSlackDelivery(boss, { db: tx });
      });
      await waitFor(async () => fake.succeeded('chat.postMessage').length === 1);
      expect(await row('alert:lead:800')).toMatchObject({ state: 'sent' });

      // A failure backs off ~2 s, longer than the handler waits in place: it leaves a deferred
      // wake-up, which alone (no further kick) brings the retry.
      fake.failNext('chat.postMessage', 1, { status: 500 });
      await withTransaction(db.pool, async (tx) => {
        await enqueueSlack(tx, post('alert:lead:801', 'C2', 'after a retry'), new Date());
        await kickSlackDelivery(boss, { db: tx });
      });
      await waitFor(async () => fake.succeeded('chat.postMessage').length === 2, 100);
      expect(await row('alert:lead:801')).toMatchObject({ state: 'sent' });
      expect(fake.calls('chat.postMessage')).toHaveLength(3);
      await kicks.stop();
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });

  it('keeps a run that sent everything waiting for the next kick, until the process stops', async () => {
    fake.setClock(() => new Date());
    const boss = await startBoss(db.url, log, { supervise: false });
    const stopping = new AbortController();
    try {
      const job = createSlackDeliveryJob(slack, { stopping: stopping.signal, lingerMs: 600_000 });
      await boss.createQueue(job.name, job.queue);
      const ctx = { pool: db.pool, boss, log, now: () => new Date(), metrics: createMetrics({ defaults: false }) } as unknown as AppContext;
      const kicks = await listenForSlackKicks(db.url, boss, log);
      let runs = 0;
      let finished = 0;
      await boss.work(job.name, job.work, async (jobs) => {
        runs += 1;
        await job.handler(
          jobs.map((j) => ({ id: j.id, data: {} })),
          ctx,
        );
        finished += 1;
      });
      for (const [i, channel] of ['C1', 'C2', 'C3'].entries()) {
        await withTransaction(db.pool, async (tx) => {
          await enqueueSlack(tx, post(`alert:lead:90${i}`, channel, `alert ${i}`), new Date());
          await kickSlackDelivery(boss, { db: tx });
        });
        await waitFor(async () => fake.succeeded('chat.postMessage').length === i + 1);
      }
      // One run took all three: the later kicks woke it where it waited instead of starting runs.
      expect({ runs, finished }).toEqual({ runs: 1, finished: 0 });
      stopping.abort();
      await waitFor(async () => finished === runs);
      await kicks.stop();
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
});
