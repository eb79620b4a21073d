import type { PgBoss } from 'pg-boss';
import type { Queryable } from './pool.ts';

/**
 * What the application layer may do with the job queue: enqueue (`send`, `insert`, inside a
 * transaction with `{ db: inTransaction(tx) }`), move the one Slack wake-up earlier (`upsert`) and
 * give a job that used up its retries another go (`retry`, an admin's dead-letter Retry).
 * Workers, queue creation and shutdown stay with `src/jobs` and the runtime.
 */
export type JobQueue = Pick<PgBoss, 'send' | 'insert' | 'upsert' | 'retry'>;

/**
 * Lets pg-boss statements join a transaction Leadline already holds.
 *
 * @example
 * await ctx.queue.send('process-events', { eventId }, { db: inTransaction(tx) });
 */
export function inTransaction(tx: Queryable): {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
} {
  return {
    executeSql: async (text, values) => {
      const result = await tx.query(text, values);
      return { rows: result.rows };
    },
  };
}

/**
 * Reaches the queue's own database connection (readiness: the queue may sit on another pool).
 *
 * @example
 * await probeQueueDb(boss) // throws when pg-boss cannot reach its database
 */
export async function probeQueueDb(boss: Pick<PgBoss, 'getDb'>): Promise<void> {
  await boss.getDb().executeSql('SELECT 1');
}
