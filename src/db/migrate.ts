import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { LeadlineError } from '../errors.ts';
import { migrationSql } from './sql/migrations.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface Migration {
  name: string;
  checksum: string;
  sql: string;
}

const FILE_PATTERN = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** Reads `NNNN_name.sql` files in order, each with the SHA-256 of its text. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => FILE_PATTERN.test(file)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(path.join(dir, file), 'utf8');
      return { name: file, checksum: createHash('sha256').update(sql).digest('hex'), sql };
    }),
  );
}

/**
 * Applies pending migrations, each in its own transaction, under a session advisory lock so two
 * processes starting at once apply each file exactly once. An applied file whose text changed is
 * refused: the fix is a new migration, never an edit.
 *
 * @example
 * const applied = await migrate(pool); // ['0001_init.sql']
 */
export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  const appliedNow: string[] = [];
  try {
    await client.query(migrationSql.lock.text, migrationSql.lock.values);
    try {
      await client.query(migrationSql.createTable.text);
      const { rows } = await client.query<{ name: string; checksum: string }>(migrationSql.listApplied.text);
      const applied = new Map(rows.map((row) => [row.name, row.checksum]));
      for (const migration of migrations) {
        const known = applied.get(migration.name);
        if (known !== undefined) {
          if (known !== migration.checksum) {
            throw new LeadlineError(
              'migration_checksum_mismatch',
              `migration ${migration.name} was edited after it was applied (checksum ${known.slice(0, 12)} in the database, ${migration.checksum.slice(0, 12)} on disk); add a new migration instead`,
            );
          }
          continue;
        }
        await applyOne(client, migration);
        appliedNow.push(migration.name);
      }
    } finally {
      await client.query(migrationSql.unlock.text, migrationSql.unlock.values);
    }
  } finally {
    client.release();
  }
  return appliedNow;
}

async function applyOne(client: pg.PoolClient, migration: Migration): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(migration.sql);
    const record = migrationSql.record(migration.name, migration.checksum);
    await client.query(record.text, record.values);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw new LeadlineError(
      'migration_failed',
      `migration ${migration.name} failed: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}
