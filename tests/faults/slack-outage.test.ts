import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackApi } from '../../src/clients/slack-api.ts';
import { withTransaction } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { deliverDue } from '../../src/slack/outbox/deliver.ts';
import { enqueueSlack } from '../../src/slack/outbox/enqueue.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.ts';
import { report } from './support/report.ts';

const MINUTE = 60_000;

/**
 * Slack misbehaving for six minutes on an injected clock: two minutes of 429s, two of 500s, two
 * of calls that never answer. Afterwards every alert is delivered exactly once, nothing is dead,
 * and posts to one channel stay a second apart.
 */
describe('Slack outage', () => {
  let db: TestDatabase;
  let fake: FakeSlack;
  let t = Date.parse('2026-12-03T09:00:00Z');
  const now = () => new Date(t);

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await startFakeSlack({ clock: now });
  });
  afterAll(async () => {
    await fake.close();
    await db.drop();
  });

  it('429s, then 500s, then hung calls for two minutes each: every alert delivered once afterwards, paced', async () => {
    const start = t;
    fake.failUntil('*', new Date(start + 2 * MINUTE), { status: 429, retryAfter: 20 });
    fake.failUntil('*', new Date(start + 4 * MINUTE), { status: 500 });
    fake.failUntil('*', new Date(start + 6 * MINUTE), { hang: true });
    const channels = ['C0HOTLEAD1', 'C0ROUTING1', 'C0MANAGER1'];
    const keys: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      const key = `alert:lead:${i}`;
      keys.push(key);
      await withTransaction(db.pool, (tx) =>
        enqueueSlack(tx, { key, kind: 'alert', method: 'chat.postMessage', channel: channels[i % 3]!, payload: { text: `Hot lead ${i}` } }, now()),
      );
    }
    // A hung call costs real time (the client's timeout); everything else runs on the clock.
    const slack = createSlackApi({ baseUrl: fake.baseUrl, token: fake.token, timeoutMs: 150 });
    const deps = { pool: db.pool, slack, now, log: createLogger('silent') };
    let rounds = 0;
    for (; rounds < 2_000; rounds += 1) {
      const summary = await deliverDue(deps);
      if (summary.nextDueAt === null) break;
      t = Math.max(t + 1, summary.nextDueAt.getTime());
    }
    const posted = fake.succeeded('chat.postMessage');
    const byKey = new Map<string, number>();
    for (const call of posted) {
      const key = (call.body['metadata'] as { event_payload: { key: string } }).event_payload.key;
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
    }
    const gaps: number[] = [];
    for (const channel of channels) {
      const times = posted.filter((c) => c.body['channel'] === channel).map((c) => c.receivedAt.getTime());
      for (let i = 1; i < times.length; i += 1) gaps.push(times[i]! - times[i - 1]!);
    }
    const { rows } = await db.pool.query(`SELECT state, count(*)::int AS n FROM slack_outbox GROUP BY state`);
    report('Slack 429 → 500 → hang, two minutes each', {
      'alerts queued': keys.length,
      'calls Slack failed': fake.calls().filter((c) => c.status !== 200).length,
      'delivered / delivered twice': `${byKey.size} / ${[...byKey.values()].filter((n) => n > 1).length}`,
      'dead letters': rows.find((r) => r.state === 'dead')?.n ?? 0,
      'last delivery after the outage began (virtual min)': ((Math.max(...posted.map((c) => c.receivedAt.getTime())) - start) / MINUTE).toFixed(1),
      'smallest gap between posts to one channel (ms)': Math.min(...gaps),
    });
    expect(rows).toEqual([{ state: 'sent', n: 30 }]);
    expect([...byKey.keys()].sort()).toEqual([...keys].sort());
    expect([...byKey.values()].every((n) => n === 1)).toBe(true);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1_000);
    expect(posted.every((c) => c.receivedAt.getTime() >= start + 6 * MINUTE)).toBe(true);
  });
});
