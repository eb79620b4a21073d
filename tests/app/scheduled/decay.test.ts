import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBoss } from '../../../src/jobs/boss.ts';
import { runDecay } from '../../../src/app/scheduled/decay.ts';
import { explainLeadById } from '../../../src/app/queries/explain.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { DECAY_QUEUE } from '../../../src/app/queues.ts';
import { createQueues } from '../../../src/jobs/registry.ts';
import { enqueueSlot } from '../../../src/jobs/schedule.ts';
import { createLogger } from '../../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import {
  event,
  fixedClock,
  jobContext,
  leadByEmail,
  storeEvents,
  testRuleset,
} from '../../support/engine-fixtures.ts';

describe('decay job', () => {
  let db: TestDatabase;
  const ruleset = testRuleset();
  const clock = fixedClock('2026-11-20T12:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('expires points, decays intent and records the threshold crossing down once', async () => {
    const email = 'hot.lead@pharma.example';
    const ids = await storeEvents(db, [
      event('form.submitted', { email, metadata: { form_type: 'demo' }, occurredAt: '2026-11-20T09:00:00Z' }),
      event('form.submitted', { email, metadata: { form_type: 'demo' }, occurredAt: '2026-11-20T09:05:00Z' }),
      event('page.viewed', { email, metadata: { url: '/pricing' }, occurredAt: '2026-11-20T09:10:00Z' }),
    ]);
    const ctx = jobContext(db, ruleset, clock.now);
    await processEvents(ids, ctx);
    expect(await leadByEmail(db, email)).toMatchObject({ score: 70, grade: 'B', thresholds: ['warm'] });

    const why = await explainLeadById(
      db.pool,
      ruleset,
      Number((await leadByEmail(db, email))?.id),
      clock.now(),
    );
    expect(why?.breakdown.map((b) => [b.ruleId, b.points])).toEqual([
      ['demo-request', 30],
      ['demo-request', 30],
      ['pricing-page', 10],
    ]);
    expect(why?.signals.map((s) => s.signal)).toEqual(['demo_request', 'demo_request', 'pricing_view']);

    // Eight days later the pricing points (7 days) have expired: 60, still warm, nothing crosses.
    clock.set('2026-11-28T12:00:00Z');
    const first = await runDecay(ctx);
    expect(first.leads).toBeGreaterThanOrEqual(1);
    expect(await leadByEmail(db, email)).toMatchObject({ score: 60, thresholds: ['warm'] });

    // After 91 days the demo points are gone too: the lead drops below warm, reported once.
    clock.set('2027-02-20T12:00:00Z');
    await runDecay(ctx);
    await runDecay(ctx);
    expect(await leadByEmail(db, email)).toMatchObject({
      score: 0,
      grade: 'F',
      thresholds: [],
      primary_intent: null,
      intent_confidence: 0,
      score_expires_at: null,
      signals_active_until: null,
    });
    const { rows } = await db.pool.query(
      `SELECT detail FROM lead_changes WHERE kind = 'threshold_crossed' AND detail->>'direction' = 'down'`,
    );
    expect(rows.map((r) => r.detail.threshold)).toEqual(['warm']);
    // Expired score rows stay: lifetime caps count them.
    const { rows: kept } = await db.pool.query('SELECT count(*)::int AS n FROM score_rows');
    expect(kept[0].n).toBe(3);
  });

  it('enqueues one decay run per slot however many processes fire', async () => {
    const boss = await startBoss(db.url, createLogger('silent'), { supervise: false });
    try {
      await createQueues(boss);
      const sent = await Promise.all(
        Array.from({ length: 5 }, () => enqueueSlot(db.pool, boss, DECAY_QUEUE, '2026-11-21T02:00')),
      );
      expect(sent.filter(Boolean)).toHaveLength(1);
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1`, [
        DECAY_QUEUE,
      ]);
      expect(rows[0].n).toBe(1);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
});
