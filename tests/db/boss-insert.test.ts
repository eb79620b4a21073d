import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCESS_EVENTS_QUEUE, PROCESS_URGENT_EVENTS_QUEUE } from '../../src/app/queues.ts';
import { captureJobInsert, jobInsertCtes, RESHAPED_PG_BOSS_VERSION } from '../../src/db/boss-insert.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { jobContext, testRuleset } from '../support/engine-fixtures.ts';

describe('reshaping pg-boss job inserts', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('was checked against the installed pg-boss', async () => {
    const manifest = path.resolve(import.meta.dirname, '../../node_modules/pg-boss/package.json');
    const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
    // A new pg-boss may write its insert differently: check the one-statement commit still applies
    // (the intake writer falls back to pg-boss's own statement when it does not), then move the pin.
    expect(version, 'pg-boss changed: re-check src/db/boss-insert.ts').toBe(RESHAPED_PG_BOSS_VERSION);
  });

  it.each([PROCESS_EVENTS_QUEUE, PROCESS_URGENT_EVENTS_QUEUE])(
    'reshapes the statement the installed pg-boss runs for %s',
    async (queue) => {
      const ctx = jobContext(db, testRuleset(), () => new Date('2026-12-03T00:00:00Z'));
      const bossSql = await captureJobInsert(ctx.queue, queue);
      expect(bossSql).toContain('INSERT INTO');
      const reshaped = jobInsertCtes(bossSql!, 'lane0', "'[]'::json");
      expect(reshaped).not.toBeNull();
      expect(reshaped!.ctes).toMatch(/^lane0_ins AS \(/);
      expect(reshaped!.ctes).not.toContain('$1');
    },
  );

  it('refuses a statement of a shape it does not know', () => {
    expect(jobInsertCtes('SELECT $1::text::json, $2', 'lane0', "'[]'")).toBeNull();
    expect(jobInsertCtes('WITH x AS (SELECT 1) INSERT INTO job SELECT * FROM json_array_elements($1::text::json)', 'lane0', "'[]'")).toBeNull();
  });
});
