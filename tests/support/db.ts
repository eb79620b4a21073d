import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { databaseUrl } from '../../src/db/embedded.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { SLACK_KICK_CHANNEL } from '../../src/slack/outbox/kick.ts';

const TEMPLATE_DB = 'leadline_template';

export interface TestDatabase {
  url: string;
  name: string;
  pool: Pool;
  /** Runs `cleanup` before the database is dropped (e.g. stopping a job queue on it). */
  onDrop(cleanup: () => Promise<void>): void;
  /** Drops the database (running cleanups and closing the pool first). */
  drop(): Promise<void>;
  /**
   * Empties every Leadline table but the migration record and the stored rulesets, so a test starts
   * from the migrated schema without each file keeping its own list of tables (which goes stale as
   * tables are added). pg-boss's schema is left alone.
   */
  reset(): Promise<void>;
}

// Kept across resets: what migrate() and start-up write once per database.
const KEPT_TABLES = new Set(['leadline_migrations', 'rulesets']);

/**
 * A fresh database cloned from the migrated template: isolated per test file, created in
 * milliseconds, dropped by `drop()`.
 *
 * @example
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase(); });
 * afterAll(() => db.drop());
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('pgServerUrl');
  const name = `leadline_test_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
  const url = databaseUrl(serverUrl, name);
  const pool = createPool(url, 10, 'leadline-test');
  const cleanups: (() => Promise<void>)[] = [];
  return {
    url,
    name,
    pool,
    onDrop: (cleanup) => {
      cleanups.push(cleanup);
    },
    reset: async () => {
      const { rows } = await pool.query<{ name: string }>(
        `SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
      );
      const tables = rows.map((r) => r.name).filter((name) => !KEPT_TABLES.has(name));
      if (tables.length > 0) await pool.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
    },
    drop: async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
      await pool.end().catch(() => {});
      await admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function admin(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Polls `check` until it returns a truthy value; the test's own timeout bounds the wait. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false>,
  intervalMs = 20,
): Promise<T> {
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Counts the Slack wake-ups committed transactions send (NOTIFY on the kick channel), for tests
 * that check a step woke delivery exactly once.
 */
export async function countSlackKicks(db: TestDatabase): Promise<{ kicks: unknown[]; stop(): Promise<void> }> {
  const kicks: unknown[] = [];
  const listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (note) => kicks.push(note));
  await listener.query(`LISTEN ${SLACK_KICK_CHANNEL}`);
  return { kicks, stop: () => listener.end() };
}
