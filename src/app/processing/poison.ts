import { run, withTransaction } from '../../db/pool.ts';
import { inTransaction } from '../../db/job-queue.ts';
import { markParkedRetried, parkEvent, type ParkedEventRow, selectParkedEvents } from '../../db/sql/parked-events.ts';
import { isLeadlineError } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import { PROCESS_EVENTS_QUEUE } from '../queues.ts';
import { processEvents, type ProcessSummary } from './process-events.ts';

/**
 * `processEvents` that lets one bad event fail alone: a batch that fails for a reason of its own
 * (not the database being away, a deadlock or a lock timeout, which the queue retries whole) is
 * split in halves and each half processed again, down to the single event that fails, which is
 * parked with its error and the ruleset version. The other events of the batch are processed.
 *
 * @example
 * await processIsolatingPoison(eventIds, ctx, { deferBusyLeads: true }) // { events: 199, … }
 */
export async function processIsolatingPoison(
  eventIds: readonly string[],
  ctx: AppContext,
  options: { deferBusyLeads?: boolean } = {},
): Promise<ProcessSummary> {
  try {
    return await processEvents(eventIds, ctx, options);
  } catch (err) {
    if (isTransient(err) || eventIds.length === 0) throw err;
    if (eventIds.length === 1) {
      const eventId = eventIds[0]!;
      const error = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 2_000) : String(err).slice(0, 2_000);
      await run(ctx.pool, parkEvent(eventId, error, ctx.ruleset.version, ctx.now()));
      ctx.metrics.eventsParked.inc();
      ctx.log.error({ err, eventId, ruleset: ctx.ruleset.version }, 'event parked: its processing fails on its own');
      return { events: 0, leads: 0, created: 0, changes: 0, routed: 0, conflicts: 0 };
    }
    const half = Math.ceil(eventIds.length / 2);
    const first = await processIsolatingPoison(eventIds.slice(0, half), ctx, options);
    const second = await processIsolatingPoison(eventIds.slice(half), ctx, options);
    return {
      events: first.events + second.events,
      leads: first.leads + second.leads,
      created: first.created + second.created,
      changes: first.changes + second.changes,
      routed: first.routed + second.routed,
      conflicts: first.conflicts + second.conflicts,
    };
  }
}

// Failures that say nothing about the events: the whole batch is tried again later.
const TRANSIENT_SQLSTATE = /^(08|40|53|57)|^55P03$/;
const TRANSIENT_NODE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

function isTransient(err: unknown): boolean {
  if (isLeadlineError(err)) return err.code === 'database_unavailable' || err.code === 'not_found';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE.has(code);
  // pg's own words when the server went away mid-query.
  return err instanceof Error && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(err.message);
}

/** Parked events, oldest first, for the operator. */
export async function listParkedEvents(ctx: Pick<AppContext, 'pool'>, limit = 100): Promise<ParkedEventRow[]> {
  return run(ctx.pool, selectParkedEvents(limit));
}

/**
 * Sends parked events (all, or those named) back to processing, after a fix; returns the ids sent.
 * An event processed meanwhile is left alone.
 *
 * @example
 * await retryParkedEvents(ctx, ['0b5f…']) // ['0b5f…']
 */
export async function retryParkedEvents(ctx: Pick<AppContext, 'pool' | 'queue' | 'now'>, eventIds: readonly string[] | null): Promise<string[]> {
  return withTransaction(ctx.pool, async (tx) => {
    const retried = (await run(tx, markParkedRetried(eventIds, ctx.now()))).map((row) => row.event_id);
    const jobs = retried.map((eventId) => ({ data: { eventId } }));
    if (jobs.length > 0) await ctx.queue.insert(PROCESS_EVENTS_QUEUE, jobs, { db: inTransaction(tx) });
    return retried;
  });
}
