import { run } from '../../db/pool.ts';
import { deleteOldAssignments, deleteOldAudit, deleteOldRoutingDecisions } from '../../db/sql/retention.ts';
import type { Sql } from '../../db/pool.ts';
import type { AppContext } from '../context.ts';

/** How long decisions are kept when nothing else is configured (`LEADLINE_AUDIT_DAYS`). */
export const DEFAULT_AUDIT_DAYS = 400;

export interface RetentionOptions {
  /** Decisions older than this many days go. Default DEFAULT_AUDIT_DAYS. */
  auditDays?: number;
  /** Rows per delete statement. Default 5,000. */
  batch?: number;
}

export interface RetentionSummary {
  routingDecisions: number;
  assignments: number;
  audit: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

// Each batch commits on its own: a large first purge never holds one long transaction, and a run
// cut short leaves nothing half done (the next run carries on).
async function purge(ctx: AppContext, statement: (batch: number) => Sql<{ deleted: number }>, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const [row] = await run(ctx.pool, statement(batch));
    const deleted = row?.deleted ?? 0;
    total += deleted;
    if (deleted < batch) return total;
  }
}

/**
 * Deletes routing decisions, assignment history and audit rows older than `auditDays`, keeping
 * what still explains current state (each lead's latest routing decision, each open deal's latest
 * assignment, the audit of live alerts). Idempotent: a second run finds nothing more.
 *
 * @example
 * await purgeOldDecisions(ctx, { auditDays: 400 }); // { routingDecisions: 120, assignments: 95, audit: 310 }
 */
export async function purgeOldDecisions(ctx: AppContext, options: RetentionOptions = {}): Promise<RetentionSummary> {
  const days = options.auditDays ?? DEFAULT_AUDIT_DAYS;
  const batch = options.batch ?? 5_000;
  const cutoff = new Date(ctx.now().getTime() - days * DAY_MS);
  return {
    routingDecisions: await purge(ctx, (n) => deleteOldRoutingDecisions(cutoff, n), batch),
    assignments: await purge(ctx, (n) => deleteOldAssignments(cutoff, n), batch),
    audit: await purge(ctx, (n) => deleteOldAudit(cutoff, n), batch),
  };
}
