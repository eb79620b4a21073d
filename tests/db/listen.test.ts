import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from '../../src/db/embedded.ts';
import { listen, notify } from '../../src/db/listen.ts';
import { createTestDatabase, type TestDatabase, waitFor } from '../support/db.ts';

// The Slack wake-up listener must outlive a database that is away for longer than one retry.
describe('a LISTEN connection of its own', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('keeps reconnecting while the database refuses connections, and hears notifications again after', async () => {
    let heard = 0;
    let retries = 0;
    const listener = await listen(db.url, 'leadline_listen_test', () => (heard += 1), 'leadline-listen-test', () => (retries += 1));
    const name = new URL(db.url).pathname.slice(1);
    // Allowing connections is switched from another database of the same server.
    const admin = new pg.Client({ connectionString: databaseUrl(db.url, 'postgres') });
    await admin.connect();
    const listening = async () =>
      (await db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'leadline-listen-test'`)).rows[0].n === 1;
    try {
      await notify(db.pool, 'leadline_listen_test');
      await waitFor(async () => (heard === 1 ? true : undefined));
      // The database goes away: no new connection is allowed, and the listener's is cut.
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'leadline-listen-test'`);
      await waitFor(async () => (retries >= 2 ? true : undefined), 100);
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await waitFor(async () => ((await listening()) ? true : undefined), 100);
      // Reconnected: it wakes once for what it may have missed, then hears new notifications.
      await waitFor(async () => (heard === 2 ? true : undefined));
      await notify(db.pool, 'leadline_listen_test');
      await waitFor(async () => (heard === 3 ? true : undefined));
      expect(retries).toBeGreaterThanOrEqual(2);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
      await listener.stop();
    }
  }, 30_000);
});
