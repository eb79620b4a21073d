import type { Sql } from '../pool.ts';

export interface QueueStatsRow {
  name: string;
  waiting: number;
  oldest_seconds: number | null;
}

/** Jobs waiting per queue (created or retrying, due now) and how long the oldest has waited. */
export function selectQueueStats(): Sql<QueueStatsRow> {
  return {
    text: `SELECT name, count(*)::int AS waiting,
        extract(epoch FROM now() - min(created_on))::float8 AS oldest_seconds
      FROM pgboss.job WHERE state IN ('created', 'retry') AND start_after <= now()
      GROUP BY name`,
    values: [],
  };
}

/** Slack outbox rows by state (pending, sent, dead). */
export function selectOutboxStates(): Sql<{ state: string; n: number }> {
  return { text: `SELECT state, count(*)::int AS n FROM slack_outbox WHERE state <> 'sent' GROUP BY state`, values: [] };
}
