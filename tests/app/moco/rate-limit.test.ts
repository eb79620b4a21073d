import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMocoLimiter } from '../../../src/app/moco/rate-limit.ts';
import type { MocoLimiter } from '../../../src/clients/moco.ts';
import { createPool, type Pool } from '../../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase, waitFor } from '../../support/db.ts';

const WINDOW_MS = 120_000;

/**
 * A clock that moves only when the test says so, and a sleep that resolves when the clock passes
 * its wake-up time: a test of two minutes' budget runs in no wall time.
 */
function manualTime(start: number) {
  let now = start;
  let sleepers: { at: number; wake: () => void }[] = [];
  return {
    now: () => new Date(now),
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ at: now + ms, wake })),
    sleeping: () => sleepers.length,
    /** Moves to the earliest wake-up and wakes everyone due by then. */
    advance: () => {
      now = Math.max(now, Math.min(...sleepers.map((s) => s.at)));
      const due = sleepers.filter((s) => s.at <= now);
      sleepers = sleepers.filter((s) => s.at > now);
      for (const sleeper of due) sleeper.wake();
    },
  };
}

type Time = ReturnType<typeof manualTime>;

/**
 * Starts every take at once, then lets time pass whenever all unfinished takers sleep, until all
 * are through. Answers the clock reading at which each take got its slot.
 */
async function takeAll(time: Time, takers: { limiter: MocoLimiter; count: number }[]): Promise<number[]> {
  const granted: number[] = [];
  const total = takers.reduce((sum, t) => sum + t.count, 0);
  const all = takers.flatMap(({ limiter, count }) =>
    Array.from({ length: count }, () => limiter.take().then(() => granted.push(time.now().getTime()))),
  );
  while (granted.length < total) {
    await waitFor(async () => granted.length + time.sleeping() === total);
    if (granted.length < total) time.advance();
  }
  await Promise.all(all);
  return granted;
}

/** The most takes any window of `windowMs` (half-open, ending at a take) holds. */
function busiestWindow(granted: readonly number[], windowMs: number): number {
  const sorted = [...granted].sort((a, b) => a - b);
  let busiest = 0;
  for (const end of sorted) {
    busiest = Math.max(busiest, sorted.filter((t) => t > end - windowMs && t <= end).length);
  }
  return busiest;
}

describe('shared MOCO rate limit', () => {
  let db: TestDatabase;
  let otherPool: Pool;
  let time: Time;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A second process: its own connections to the same database.
    otherPool = createPool(db.url, 5, 'leadline-test-other');
    db.onDrop(() => otherPool.end());
  });
  afterAll(() => db.drop());
  beforeEach(async () => {
    await db.reset();
    time = manualTime(Date.parse('2025-11-20T09:00:00Z'));
  });

  it('lets no more than the limit through in any window when 300 take at once', async () => {
    const limiter = createMocoLimiter({ pool: db.pool, limit: 50, windowMs: WINDOW_MS, now: time.now, sleep: time.sleep });
    const granted = await takeAll(time, [{ limiter, count: 300 }]);
    expect(granted).toHaveLength(300);
    expect(busiestWindow(granted, WINDOW_MS)).toBe(50);
    // The budget is used, not wasted: six windows for six times the limit.
    const start = Math.min(...granted);
    expect(Math.max(...granted) - start).toBeLessThan(6 * WINDOW_MS);
    expect(Math.max(...granted) - start).toBeGreaterThanOrEqual(5 * WINDOW_MS);
  });

  it('shares one budget between two limiters on the same database', async () => {
    const options = { limit: 40, windowMs: WINDOW_MS, account: 'acme.mocoapp.com', now: time.now, sleep: time.sleep };
    const first = createMocoLimiter({ ...options, pool: db.pool });
    const second = createMocoLimiter({ ...options, pool: otherPool });
    const granted = await takeAll(time, [
      { limiter: first, count: 100 },
      { limiter: second, count: 100 },
    ]);
    expect(granted).toHaveLength(200);
    expect(busiestWindow(granted, WINDOW_MS)).toBe(40);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM moco_rate_slots');
    expect(rows[0].n).toBe(40);
  });

  it('keeps a budget per account', async () => {
    const limiter = (account: string) =>
      createMocoLimiter({ pool: db.pool, limit: 2, account, now: time.now, sleep: time.sleep });
    const granted = await takeAll(time, [
      { limiter: limiter('a.mocoapp.com'), count: 2 },
      { limiter: limiter('b.mocoapp.com'), count: 2 },
    ]);
    expect(new Set(granted).size).toBe(1);
  });

  it('frees a slot exactly one window after its use', async () => {
    const limiter = createMocoLimiter({ pool: db.pool, limit: 1, windowMs: WINDOW_MS, now: time.now, sleep: time.sleep });
    const granted = await takeAll(time, [{ limiter, count: 3 }]);
    const start = granted[0]!;
    expect(granted.map((t) => t - start)).toEqual([0, WINDOW_MS, 2 * WINDOW_MS]);
  });

  it('lays the slots out again when they are gone, and follows a lowered limit', async () => {
    const limiter = createMocoLimiter({ pool: db.pool, limit: 3, now: time.now, sleep: time.sleep });
    await limiter.take();
    await db.reset();
    await limiter.take();
    expect(time.sleeping()).toBe(0);
    await createMocoLimiter({ pool: db.pool, limit: 2, now: time.now, sleep: time.sleep }).take();
    const { rows } = await db.pool.query('SELECT slot FROM moco_rate_slots ORDER BY slot');
    expect(rows.map((r: { slot: number }) => r.slot)).toEqual([1, 2]);
  });
});
