import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/app/context.ts';
import { listParkedEvents, processIsolatingPoison, retryParkedEvents } from '../../../src/app/processing/poison.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { createPool } from '../../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { event, fixedClock, jobContext, storeEvents, testRuleset } from '../../support/engine-fixtures.ts';

describe('a poison event in a processing batch', () => {
  let db: TestDatabase;
  let ctx: AppContext;
  const clock = fixedClock('2026-11-20T10:05:00Z');

  beforeAll(async () => {
    db = await createTestDatabase();
    ctx = jobContext(db, testRuleset(), clock.now);
  });
  afterAll(() => db.drop());
  beforeEach(() => db.reset());

  const processed = async () =>
    (await db.pool.query('SELECT count(*)::int AS n FROM intake_events WHERE processed_at IS NOT NULL')).rows[0].n as number;

  it('parks only the failing event, with its error and ruleset version, and processes the other 199', async () => {
    const ids = await storeEvents(
      db,
      Array.from({ length: 200 }, (_, i) => event('page.viewed', { email: `visitor${i}@lab.example`, metadata: { url: '/pricing' } })),
    );
    // A stored event the engine cannot read (a row written by an older version, say).
    const poison = ids[137]!;
    await db.pool.query(`UPDATE intake_events SET event = jsonb_set(event, '{lead}', 'null') WHERE id = $1`, [poison]);

    await expect(processEvents(ids, ctx)).rejects.toThrow();
    const summary = await processIsolatingPoison(ids, ctx);
    expect(summary.events).toBe(199);
    expect(await processed()).toBe(199);
    const parked = await listParkedEvents(ctx);
    expect(parked).toEqual([
      expect.objectContaining({ event_id: poison, ruleset_version: 'test-rules', attempts: 1, error: expect.stringContaining('TypeError') }),
    ]);
    expect(await ctx.metrics.registry.getSingleMetricAsString('leadline_events_parked_total')).toMatch(/^leadline_events_parked_total 1$/m);

    // Fixed, then retried by the operator: processed once; a second retry finds nothing to send.
    await db.pool.query(`UPDATE intake_events SET event = jsonb_set(event, '{lead}', '{"email": "visitor137@lab.example", "ids": {}}') WHERE id = $1`, [poison]);
    expect(await retryParkedEvents(ctx, null)).toEqual([poison]);
    const { rows: jobs } = await db.pool.query(`SELECT data->>'eventId' AS id FROM pgboss.job WHERE name = 'process-events'`);
    expect(jobs).toEqual([{ id: poison }]);
    await processIsolatingPoison([poison], ctx);
    expect(await processed()).toBe(200);
    expect(await retryParkedEvents(ctx, null)).toEqual([]);
    expect(await listParkedEvents(ctx)).toEqual([]);
  });

  it('leaves a batch whole when the database itself is the problem', async () => {
    const ids = await storeEvents(db, [event('page.viewed'), event('page.viewed')]);
    // A real pool to a port nothing listens on.
    const away = createPool('postgres://leadline@127.0.0.1:1/leadline', 1);
    try {
      await expect(processIsolatingPoison(ids, { ...ctx, pool: away })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await away.end();
    }
    expect(await listParkedEvents(ctx)).toEqual([]);
  });
});
