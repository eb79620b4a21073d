import type { Sql } from '../pool.ts';

// Any fixed 64-bit number works; it only has to be the same in every Leadline process.
const MIGRATION_LOCK_KEY = '7311448016281620481';

export const migrationSql = {
  lock: { text: 'SELECT pg_advisory_lock($1::bigint)', values: [MIGRATION_LOCK_KEY] } satisfies Sql,
  unlock: { text: 'SELECT pg_advisory_unlock($1::bigint)', values: [MIGRATION_LOCK_KEY] } satisfies Sql,
  createTable: {
    text: `CREATE TABLE IF NOT EXISTS leadline_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`,
    values: [],
  } satisfies Sql,
  listApplied: {
    text: 'SELECT name, checksum FROM leadline_migrations ORDER BY name',
    values: [],
  } satisfies Sql,
  record: (name: string, checksum: string): Sql => ({
    text: 'INSERT INTO leadline_migrations (name, checksum) VALUES ($1, $2)',
    values: [name, checksum],
  }),
};
