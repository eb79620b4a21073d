import type { Sql } from '../pool.ts';

/** Claims a scheduled slot; returns a row only for the first process to claim it. */
export function claimJobSlot(job: string, slot: string): Sql {
  return {
    text: 'INSERT INTO job_slots (job, slot) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING slot',
    values: [job, slot],
  };
}
