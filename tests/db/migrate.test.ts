import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import { dumpSchema } from '../../src/db/schema-dump.ts';
import { isLeadlineError } from '../../src/errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

describe('migrations', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'leadline-migrations-'));
  });
  afterAll(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('records every shipped migration with its checksum', async () => {
    const { rows } = await db.pool.query('SELECT name, checksum FROM leadline_migrations ORDER BY name');
    const files = await readMigrations();
    expect(rows).toEqual(files.map((m) => ({ name: m.name, checksum: m.checksum })));
  });

  it('applies each file once even when two processes migrate at the same time', async () => {
    await writeFile(path.join(dir, '0001_first.sql'), 'CREATE TABLE race_probe (id int);');
    await writeFile(path.join(dir, '0002_second.sql'), 'INSERT INTO race_probe VALUES (1);');
    const pools = [createPool(db.url, 2), createPool(db.url, 2), createPool(db.url, 2)];
    const results = await Promise.all(pools.map((pool) => migrate(pool, dir)));
    await Promise.all(pools.map((pool) => pool.end()));
    expect(results.flat().sort()).toEqual(['0001_first.sql', '0002_second.sql']);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM race_probe');
    expect(rows[0].n).toBe(1);
  });

  it('refuses an applied migration that was edited', async () => {
    await writeFile(path.join(dir, '0002_second.sql'), 'INSERT INTO race_probe VALUES (2);');
    const error = await migrate(db.pool, dir).catch((err: unknown) => err);
    expect(isLeadlineError(error, 'migration_checksum_mismatch')).toBe(true);
    expect((error as Error).message).toContain('0002_second.sql');
  });

  it('rolls back a failing migration whole and names it', async () => {
    await writeFile(path.join(dir, '0002_second.sql'), 'INSERT INTO race_probe VALUES (1);');
    await writeFile(
      path.join(dir, '0003_broken.sql'),
      'CREATE TABLE half_done (id int); SELECT no_such_column FROM race_probe;',
    );
    const error = await migrate(db.pool, dir).catch((err: unknown) => err);
    expect(isLeadlineError(error, 'migration_failed')).toBe(true);
    expect((error as Error).message).toContain('0003_broken.sql');
    const { rows } = await db.pool.query(`SELECT to_regclass('half_done') AS t`);
    expect(rows[0].t).toBeNull();
  });

  it('keeps schema.sql in step with migrations/ (run `npm run db:dump` when this fails)', async () => {
    const fresh = await createTestDatabase();
    try {
      const committed = await readFile(new URL('../../schema.sql', import.meta.url), 'utf8');
      expect(await dumpSchema(fresh.pool)).toBe(committed);
    } finally {
      await fresh.drop();
    }
  });
});
