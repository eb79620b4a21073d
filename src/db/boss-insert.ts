// How Leadline joins pg-boss's own job insert to its intake insert, in one statement. Everything
// that depends on the shape of pg-boss's SQL is in this file; tests/db/boss-insert.test.ts checks
// it against the installed pg-boss.
import { randomUUID } from 'node:crypto';
import type { JobQueue } from './job-queue.ts';

/** The pg-boss version whose insert statement this file was last checked against. */
export const RESHAPED_PG_BOSS_VERSION = '12.38.0';

/**
 * The statement pg-boss runs to insert jobs into `queue` (its only parameter, `$1`, the jobs as
 * JSON): pg-boss hands its statement to the `db` it is given, and this one keeps it instead of
 * running it. Null when pg-boss ran nothing.
 *
 * @example
 * const bossSql = await captureJobInsert(boss, 'process-events');
 */
export async function captureJobInsert(queue: JobQueue, name: string): Promise<string | null> {
  let captured: string | null = null;
  const sample = randomUUID();
  await queue.insert(name, [{ id: sample, data: { eventId: sample } }], {
    db: {
      executeSql: async (text: string) => {
        captured = text;
        return { rows: [] };
      },
    },
  });
  return captured;
}

/**
 * A queue's job insert as pg-boss writes it, reshaped into CTEs that can share one statement with
 * the intake insert: `ctes` to put in a WITH list, `gate` a condition the final SELECT must
 * evaluate (it runs pg-boss's wake-up NOTIFY, which PostgreSQL only evaluates when referenced).
 */
export interface JobInsertCtes {
  ctes: string;
  gate: string;
}

const JOBS_PARAM = '$1::text::json';
const NOTIFY_SHAPE =
  /^\s*WITH ins AS \(([\s\S]+)\),\s*notified AS \(([\s\S]+)\)\s*SELECT id FROM ins WHERE \(SELECT count\(\*\) FROM notified\) (?:>= 0|< 0)\s*$/;

/**
 * Reshapes pg-boss's insert statement for one queue (its only parameter, `$1`, the jobs as JSON)
 * into CTEs named after `alias` whose jobs come from `jobsJson`, a SQL expression. Null when the
 * statement does not have a shape this knows; the caller then runs pg-boss's statement as it is.
 */
export function jobInsertCtes(bossSql: string, alias: string, jobsJson: string): JobInsertCtes | null {
  if (bossSql.split(JOBS_PARAM).length !== 2 || /\$[2-9]/.test(bossSql)) return null;
  const withJobs = bossSql.replace(JOBS_PARAM, () => `(${jobsJson})::text::json`);
  const notifying = NOTIFY_SHAPE.exec(withJobs);
  if (notifying !== null) {
    const [, insert, notify] = notifying;
    if (!/^\s*INSERT INTO /.test(insert!) || !/\bFROM ins WHERE\b/.test(notify!)) return null;
    return {
      ctes: `${alias}_ins AS (${insert}), ${alias}_notified AS (${notify!.replace(/\bFROM ins WHERE\b/, `FROM ${alias}_ins WHERE`)})`,
      gate: `(SELECT count(*) FROM ${alias}_notified) >= 0`,
    };
  }
  if (/^\s*INSERT INTO /.test(withJobs) && !/\bWITH\b/.test(withJobs)) {
    return { ctes: `${alias}_ins AS (${withJobs})`, gate: 'true' };
  }
  return null;
}

