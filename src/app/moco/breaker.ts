import { run } from '../../db/pool.ts';
import { claimOutageAnnouncement, closeOutage, openOutage, recordOutageFailure, selectOutage } from '../../db/sql/moco-sync.ts';
import { LeadlineError } from '../../errors.ts';
import { notifyAdmins } from '../commands/notify-admins.ts';
import type { AppContext } from '../context.ts';

/** Consecutive syncs that could not reach MOCO before the breaker opens. */
const FAILURES_TO_OPEN = 3;
const FIRST_PAUSE_MS = 5 * 60_000;
const MAX_PAUSE_MS = 30 * 60_000;

/**
 * The circuit breaker in front of MOCO, shared by every process through Postgres: after three
 * syncs in a row that could not reach MOCO no process calls it until the pause ends (5 min,
 * doubling up to 30 while MOCO stays down); the admins are told once per outage, and once more
 * when a sync gets through again. Waiting syncs are retried by the queue, so they complete after
 * the recovery.
 */

/**
 * Throws `moco_paused` while the breaker is open, without calling MOCO (the job retries later).
 *
 * @example
 * await assertMocoReachable(ctx, 'acme.mocoapp.com');
 */
export async function assertMocoReachable(ctx: AppContext, account: string): Promise<void> {
  const [outage] = await run(ctx.pool, selectOutage(account));
  if (outage?.retry_at != null && outage.retry_at > ctx.now()) {
    throw new LeadlineError('moco_paused', `MOCO is unreachable; syncs resume after ${outage.retry_at.toISOString()}`);
  }
}

/**
 * Counts a sync that could not reach MOCO; opens the breaker at the threshold and tells the admins
 * once.
 *
 * @example
 * await recordMocoUnreachable(ctx, 'acme.mocoapp.com', 'MOCO answered 503 five times');
 */
export async function recordMocoUnreachable(
  ctx: AppContext,
  account: string,
  reason: string,
  options: { keyRejected?: boolean } = {},
): Promise<void> {
  const now = ctx.now();
  // A rejected key will not fix itself: stop at once rather than after three tries.
  const floor = options.keyRejected === true ? FAILURES_TO_OPEN : 1;
  const [outage] = await run(ctx.pool, recordOutageFailure(account, now, floor));
  if (outage === undefined || outage.failures < FAILURES_TO_OPEN) return;
  // Each probe after a pause that fails again doubles the next pause.
  const pause = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (outage.failures - FAILURES_TO_OPEN));
  await run(ctx.pool, openOutage(account, now, new Date(now.getTime() + pause)));
  const [claimed] = await run(ctx.pool, claimOutageAnnouncement(account, now));
  if (claimed === undefined) return;
  const text =
    options.keyRejected === true
      ? `⚠️ MOCO rejected Leadline's API key (${reason.slice(0, 300)}). Syncs are paused: check MOCO_API_KEY, then Retry the failed syncs.`
      : `⚠️ MOCO cannot be reached (${reason.slice(0, 300)}). Leadline pauses syncs and retries them; won deals wait, nothing is lost.`;
  await tellAdmins(ctx, `outage:${claimed.opened_at.getTime()}`, text);
}

/**
 * A sync got through: closes the breaker, and tells the admins MOCO is back when they were told
 * it was down.
 *
 * @example
 * await recordMocoReachable(ctx, 'acme.mocoapp.com');
 */
export async function recordMocoReachable(ctx: AppContext, account: string): Promise<void> {
  const [closed] = await run(ctx.pool, closeOutage(account));
  if (closed?.announced_at == null || closed.opened_at === null) return;
  await tellAdmins(ctx, `recovered:${closed.opened_at.getTime()}`, '✅ MOCO answers again: the waiting syncs are completing.');
}

function tellAdmins(ctx: AppContext, key: string, text: string): Promise<number> {
  return notifyAdmins(ctx, { kind: 'moco', key: `moco:${key}`, text });
}
