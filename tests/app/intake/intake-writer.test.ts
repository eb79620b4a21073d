import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../../src/db/pool.ts';
import type { Boss } from '../../../src/jobs/boss.ts';
import { type IntakeItem, IntakeWriter } from '../../../src/app/intake/intake-writer.ts';
import { createTestApp, type TestApp } from '../../support/app.ts';

function item(externalId: string, type = 'page.viewed'): IntakeItem {
  const occurredAt = new Date().toISOString();
  return {
    source: 'website',
    scheme: 'standard',
    externalId,
    receivedAt: new Date(),
    payload: { id: externalId, type },
    event: { id: externalId, type, source: 'website', occurredAt, lead: { email: 'ada@lab.example', ids: {} } },
    eventType: type,
    occurredAt,
  };
}

describe('intake writer group commits', () => {
  let t: TestApp;

  beforeAll(async () => {
    // A second commit starts for any backlog, so requests for one key land in commits that overlap.
    t = await createTestApp({ intake: { maxInFlight: 4, minRowsForParallel: 1 } });
  });
  afterAll(() => t.stop());

  it('stores a key sent by many overlapping requests once, and every request gets its id', async () => {
    const outcomes = (await Promise.all(Array.from({ length: 40 }, () => t.intake.write([item('evt_same')])))).flat();
    const ids = new Set(outcomes.map((o) => o.id));
    expect(ids.size).toBe(1);
    expect(outcomes.filter((o) => !o.duplicate)).toHaveLength(1);
    const { rows } = await t.db.pool.query<{ id: string; jobs: number }>(
      `SELECT e.id, (SELECT count(*)::int FROM pgboss.job j WHERE j.id = e.id) AS jobs
       FROM intake_events e WHERE e.external_id = 'evt_same'`,
    );
    expect(rows).toEqual([{ id: [...ids][0], jobs: 1 }]);
  });

  it('commits a batch in one statement, pg-boss job inserts included', async () => {
    const texts: string[] = [];
    const pool = t.db.pool;
    // Records what the writer sends; statements run on the real pool.
    const recording = new Proxy(pool, {
      get(target, property) {
        if (property === 'query') {
          return (config: { text: string }, values?: unknown[]) => {
            texts.push(typeof config === 'string' ? config : config.text);
            return values === undefined ? target.query(config) : target.query(config as never, values);
          };
        }
        if (property === 'connect') texts.push('connect');
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Pool;
    const writer = new IntakeWriter(recording, t.boss, { urgent: (i) => i.eventType === 'meeting.booked' });
    await writer.write([item('evt_one_1'), item('evt_one_2', 'meeting.booked')]);
    expect(texts).toHaveLength(1);
    expect(texts[0]).toMatch(/^WITH input/);
    const { rows } = await pool.query<{ name: string }>(
      `SELECT j.name FROM pgboss.job j JOIN intake_events e ON e.id = j.id
       WHERE e.external_id LIKE 'evt_one_%' ORDER BY e.external_id`,
    );
    expect(rows.map((r) => r.name)).toEqual(['process-events', 'process-events-urgent']);
  });

  it('falls back to a stepwise transaction for a pg-boss statement of unknown shape', async () => {
    type Db = { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> };
    // Same statement, spelled so it no longer matches the shape the one-statement commit expects.
    const reshaped = new Proxy(t.boss, {
      get(target, property) {
        if (property === 'insert') {
          return (queue: string, jobs: never, options: { db: Db }) =>
            target.insert(queue, jobs, {
              db: { executeSql: (text, values) => options.db.executeSql(text.replace('WITH ins', 'WITH  ins'), values) },
            });
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Boss;
    let transactions = 0;
    const counting = new Proxy(t.db.pool, {
      get(target, property) {
        if (property === 'connect') transactions += 1;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const writer = new IntakeWriter(counting, reshaped);
    const [stored] = await writer.write([item('evt_steps')]);
    expect(transactions).toBe(1);
    const [again] = await writer.write([item('evt_steps')]);
    expect(again).toEqual({ id: stored?.id, duplicate: true });
    const { rows } = await t.db.pool.query(`SELECT 1 FROM pgboss.job WHERE id = $1`, [stored?.id]);
    expect(rows).toHaveLength(1);
  });

  it('answers a request in one commit per item, duplicates within the request included', async () => {
    const [first, again, other] = await t.intake.write([item('evt_a'), item('evt_a'), item('evt_b')]);
    expect(first?.duplicate).toBe(false);
    expect(again).toEqual({ id: first?.id, duplicate: true });
    expect(other?.duplicate).toBe(false);
  });

  it('fails only the request carrying a value the database refuses', async () => {
    const bad = { ...item('evt_bad'), occurredAt: 'not a time' };
    const [good, refused] = await Promise.allSettled([t.intake.write([item('evt_good')]), t.intake.write([bad])]);
    expect(good.status).toBe('fulfilled');
    expect(refused.status).toBe('rejected');
  });

  it('fails only the request whose row cannot even be written', async () => {
    // A value JSON cannot express slipped past the edge: the commit it shares is retried without it.
    const bad = { ...item('evt_unwritable'), payload: { amount: 10n } };
    // One commit at a time, so the three requests share it.
    const shared = new IntakeWriter(t.db.pool, t.boss, { maxInFlight: 1 });
    const writes = [shared.write([item('evt_ok_0')]), shared.write([item('evt_ok_1')]), shared.write([bad]), shared.write([item('evt_ok_2')])];
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const { rows } = await t.db.pool.query(`SELECT external_id FROM intake_events WHERE external_id LIKE 'evt_ok_%' ORDER BY 1`);
    expect(rows).toEqual([{ external_id: 'evt_ok_0' }, { external_id: 'evt_ok_1' }, { external_id: 'evt_ok_2' }]);
  });
});
