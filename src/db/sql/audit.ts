import type { Sql } from '../pool.ts';

/** One audit row: who (`slack:U…`, `manager:U…`, `leadline:sla`, …) did what to which lead. */
export interface AuditEntry {
  actor: string;
  action: string;
  leadId: number | null;
  /** What the action changed; never personal data of the lead (erasure does not rewrite the log). */
  detail: object;
  now: Date;
}

/** The one insert into `audit_log`, for every path that records a decision. */
export function insertAudit(entry: AuditEntry): Sql {
  return {
    text: 'INSERT INTO audit_log (actor, action, lead_id, detail, created_at) VALUES ($1, $2, $3, $4, $5)',
    values: [entry.actor, entry.action, entry.leadId, JSON.stringify(entry.detail), entry.now],
  };
}
