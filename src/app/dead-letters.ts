/**
 * Dead letters: work that gave up and waits for an admin, in one list whatever gave up — a Slack
 * delivery (`slack`), a MOCO sync (`moco`), a poison event (`event`), a signed delivery that could
 * not be read (`delivery`) or a job that used up its retries (`job`). Each can be retried (through
 * the retry that kind already has) or discarded (kept for the record, no longer listed or retried).
 * Both are idempotent: the second press finds nothing to do and changes nothing.
 */
import { type Queryable, run, type Sql } from '../db/pool.ts';
import {
  type DeadLetterKind,
  discardDeadOutbox,
  discardFailedJob,
  discardFailedSync,
  discardInvalidDelivery,
  discardParkedEvent,
  selectDeadLetters,
  selectFailedJob,
} from '../db/sql/dead-letters.ts';
import { retryDeadDelivery } from '../slack/outbox/enqueue.ts';
import { kickSlackDelivery } from '../slack/outbox/kick.ts';
import type { AppContext } from './context.ts';
import { retryInvalidDeliveries } from './intake/invalid-deliveries.ts';
import { IntakeWriter } from './intake/intake-writer.ts';
import { retryMocoSync } from './moco/request.ts';
import { retryParkedEvents } from './processing/poison.ts';

export type { DeadLetterKind } from '../db/sql/dead-letters.ts';

export const DEAD_LETTER_KINDS: readonly DeadLetterKind[] = ['slack', 'moco', 'event', 'delivery', 'job'];

/** One dead letter as admins see it, whatever its kind. */
export interface DeadLetter {
  kind: DeadLetterKind;
  id: string;
  /** When it gave up (for a signed delivery: when it arrived). */
  when: Date;
  /** What it was, in a few words; may hold lead- or sender-supplied text (escape it). */
  what: string;
  error: string | null;
  tries: number;
}

/** Which dead letter: `<kind>:<id>` on the command line and in button values. */
export interface DeadLetterRef {
  kind: DeadLetterKind;
  id: string;
}

export type DeadLetterOutcome =
  | { status: 'retried' }
  | { status: 'discarded' }
  /** Not a dead letter (any more): retried, discarded, or never there. */
  | { status: 'gone' }
  /** A signed delivery that still cannot be read; it stays listed with this reason. */
  | { status: 'still_failing'; detail: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Row ids are bigints: more digits than 18 could not be one, and would fail in PostgreSQL instead.
const ROW_ID = /^[1-9][0-9]{0,17}$/;
const ID_SHAPE: Record<DeadLetterKind, RegExp> = { slack: ROW_ID, moco: ROW_ID, event: UUID, delivery: ROW_ID, job: UUID };

/**
 * Reads `<kind>:<id>`, checking the id's shape for its kind, so nothing malformed reaches SQL.
 *
 * @example
 * parseDeadLetterRef('slack:12')   // { kind: 'slack', id: '12' }
 * parseDeadLetterRef('event:nope') // null
 */
export function parseDeadLetterRef(text: string): DeadLetterRef | null {
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const kind = text.slice(0, colon) as DeadLetterKind;
  const id = text.slice(colon + 1).trim();
  if (!DEAD_LETTER_KINDS.includes(kind) || !ID_SHAPE[kind].test(id)) return null;
  return { kind, id: kind === 'event' || kind === 'job' ? id.toLowerCase() : id };
}

export function formatDeadLetterRef(ref: DeadLetterRef): string {
  return `${ref.kind}:${ref.id}`;
}

/**
 * Dead letters of every kind, newest first, and how many there are in all.
 *
 * @example
 * await listDeadLetters(ctx, 10) // { total: 3, items: [{ kind: 'slack', id: '12', what: 'alert (chat.postMessage to C0HOT)', … }] }
 */
export async function listDeadLetters(ctx: Pick<AppContext, 'pool'>, limit = 50): Promise<{ total: number; items: DeadLetter[] }> {
  const rows = await run(ctx.pool, selectDeadLetters(limit));
  return {
    total: rows[0]?.total ?? 0,
    items: rows.map((row) => ({ kind: row.kind, id: row.id, when: row.at, what: row.what, error: row.error, tries: row.tries })),
  };
}

export interface RetryOptions {
  /** The web role's intake writer (urgent lane and all); a plain one is made when absent. */
  intake?: IntakeWriter;
}

/**
 * Retries one dead letter with the retry its kind already has: the Slack delivery queued again with
 * fresh attempts (and the dispatcher woken), the MOCO sync queued, the event sent back to
 * processing, the delivery read again with the current ruleset's mappers, the job handed back to
 * pg-boss. `gone` when it is not (any more) a dead letter.
 *
 * @example
 * await retryDeadLetter(ctx, { kind: 'moco', id: '12' }) // { status: 'retried' }
 */
export async function retryDeadLetter(ctx: AppContext, ref: DeadLetterRef, options: RetryOptions = {}): Promise<DeadLetterOutcome> {
  const retried = { status: 'retried' } as const;
  const gone = { status: 'gone' } as const;
  switch (ref.kind) {
    case 'slack': {
      if (!(await retryDeadDelivery(ctx.pool, Number(ref.id), ctx.now()))) return gone;
      await kickSlackDelivery(ctx.queue);
      return retried;
    }
    case 'moco':
      return (await retryMocoSync(ctx, Number(ref.id))) ? retried : gone;
    case 'event':
      return (await retryParkedEvents(ctx, [ref.id])).length > 0 ? retried : gone;
    case 'delivery':
      return retryDelivery(ctx, ref.id, options.intake);
    case 'job':
      return retryJob(ctx, ref.id);
  }
}

async function retryDelivery(ctx: AppContext, id: string, given: IntakeWriter | undefined): Promise<DeadLetterOutcome> {
  const intake = given ?? new IntakeWriter(ctx.pool, ctx.queue);
  // Read at the press, so a reloaded ruleset's mappers are the ones used.
  const sources = new Map(ctx.ruleset.sources.map((source) => [source.name, source]));
  const result = await retryInvalidDeliveries({ pool: ctx.pool, intake, sources, now: ctx.now }, [id]);
  if (given === undefined) await intake.drain();
  if (result.stored.includes(id)) return { status: 'retried' };
  const still = result.stillInvalid.find((row) => row.id === id);
  return still === undefined ? { status: 'gone' } : { status: 'still_failing', detail: still.detail };
}

async function retryJob(ctx: AppContext, jobId: string): Promise<DeadLetterOutcome> {
  const [job] = await run(ctx.pool, selectFailedJob(jobId));
  if (job === undefined) return { status: 'gone' };
  const response: { affected?: unknown } = await ctx.queue.retry(job.name, jobId);
  // pg-boss counts the jobs it moved back; another admin's retry in between moved this one already.
  return typeof response.affected === 'number' && response.affected === 0 ? { status: 'gone' } : { status: 'retried' };
}

const DISCARD: Record<DeadLetterKind, (id: string, now: Date) => Sql<{ id: string }>> = {
  slack: discardDeadOutbox,
  moco: discardFailedSync,
  event: discardParkedEvent,
  delivery: discardInvalidDelivery,
  job: discardFailedJob,
};

/**
 * Discards one dead letter: it stays in its table for the record, marked, and is no longer listed
 * or retried. `gone` when it was not listed.
 *
 * @example
 * await discardDeadLetter(ctx, { kind: 'job', id: '0b5f…' }) // { status: 'discarded' }
 */
export async function discardDeadLetter(
  ctx: { pool: Queryable; now: () => Date },
  ref: DeadLetterRef,
): Promise<DeadLetterOutcome> {
  const rows = await run(ctx.pool, DISCARD[ref.kind](ref.id, ctx.now()));
  return rows.length > 0 ? { status: 'discarded' } : { status: 'gone' };
}

/**
 * The outcome in one line, for the command line and the Home tab.
 *
 * @example
 * describeOutcome({ kind: 'moco', id: '12' }, { status: 'retried' }) // 'moco:12 retried'
 */
export function describeOutcome(ref: DeadLetterRef, outcome: DeadLetterOutcome): string {
  const name = formatDeadLetterRef(ref);
  switch (outcome.status) {
    case 'retried':
      return `${name} retried`;
    case 'discarded':
      return `${name} discarded`;
    case 'gone':
      return `${name} is not a dead letter (any more): nothing changed`;
    case 'still_failing':
      return `${name} still cannot be read: ${outcome.detail.split('\n')[0] ?? ''}`;
  }
}
