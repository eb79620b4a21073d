import type { Sql } from '../pool.ts';

/**
 * The next chunk of leads whose score has points due to expire or whose intent signals are still
 * decaying, after `afterId`. Rows another worker holds are skipped: that worker is recomputing
 * them anyway.
 */
export function lockDueLeads(afterId: number, now: Date, limit: number): Sql {
  return {
    text: `SELECT id FROM leads
      WHERE id > $1 AND (score_expires_at <= $2 OR signals_active_until IS NOT NULL)
      ORDER BY id
      LIMIT $3
      FOR UPDATE SKIP LOCKED`,
    values: [afterId, now, limit],
  };
}
