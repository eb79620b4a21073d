import path from 'node:path';
import type { AppContext } from '../../../src/app/context.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { run } from '../../../src/db/pool.ts';
import { insertIntakeRows } from '../../../src/db/sql/intake.ts';
import { loadRulesetFile } from '../../../src/ruleset-file.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { jobContext } from '../../support/engine-fixtures.ts';

/**
 * Processes every event `db` received once, in order, in one process on a fresh database, and
 * counts the leads whose score or grade differ from `db`'s (plus any lead only one side has).
 */
export async function compareWithCleanRun(db: TestDatabase): Promise<number> {
  const clean = await createTestDatabase();
  try {
    const { ruleset } = await loadRulesetFile(path.resolve(import.meta.dirname, '../../../rules/default.yml'));
    const ctx: AppContext = jobContext(clean, ruleset, () => new Date());
    const { rows } = await db.pool.query(
      `SELECT id, source, external_id AS "externalId", scheme, received_at AS "receivedAt", payload, event, event_type AS "eventType", occurred_at AS "occurredAt"
       FROM intake_events ORDER BY received_at, external_id`,
    );
    for (let i = 0; i < rows.length; i += 500) {
      const batch = rows.slice(i, i + 500);
      await run(clean.pool, insertIntakeRows(batch));
      await processEvents(batch.map((r) => r.id as string), ctx);
    }
    const scores = (pool: TestDatabase['pool']) =>
      pool.query<{ email: string; score: number; grade: string }>('SELECT email, score, grade FROM leads ORDER BY email').then((r) => r.rows);
    const [faulted, expected] = await Promise.all([scores(db.pool), scores(clean.pool)]);
    const want = new Map(expected.map((r) => [r.email, `${r.score}/${r.grade}`]));
    return faulted.filter((r) => want.get(r.email) !== `${r.score}/${r.grade}`).length + Math.abs(faulted.length - expected.length);
  } finally {
    await clean.drop();
  }
}
