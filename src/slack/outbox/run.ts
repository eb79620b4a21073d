// One delivery run: what the slack-delivery job does each time it is woken.
import type { SlackApi } from '../../clients/slack-api.ts';
import type { JobQueue } from '../../db/job-queue.ts';
import type { Pool } from '../../db/pool.ts';
import type { Logger } from '../../log.ts';
import { type DeliverySummary, deliverDue } from './deliver.ts';
import { SLACK_DELIVERY_QUEUE, WAKE_UP_KEY, waitOrWake } from './kick.ts';

export interface DeliveryRunOptions {
  maxAttempts?: number;
  /** Waits up to this long in the run for the next due row (pacing gaps) instead of rescheduling. */
  inlineWaitMs?: number;
  /** How long one run may keep delivering before it hands over to a fresh wake-up. */
  runBudgetMs?: number;
  /**
   * How long a run that delivered everything stays for the next kick (run time in all), so the
   * next alert goes out without waiting for a new job run to be created and fetched.
   */
  lingerMs?: number;
  /** Aborted when the process stops: a lingering run ends at once. Without it, runs never linger. */
  stopping?: AbortSignal;
}

export interface DeliveryRunDeps {
  pool: Pool;
  queue: JobQueue;
  slack: SlackApi;
  now: () => Date;
  log: Logger;
  /** Told what each pass delivered (for the metrics). */
  onDelivered?: (summary: DeliverySummary) => void;
}

/**
 * Delivers what is due, then schedules its own next wake-up for the next due row. Short pacing gaps
 * are waited out in place so a backlog drains at one post per second per channel; longer waits
 * (backoff, Retry-After) become a deferred wake-up. Given a `stopping` signal, a run with nothing
 * left to send stays (up to `lingerMs`) for the next kick, which then costs no job round trip: that
 * is most of an alert's way to Slack under steady traffic.
 *
 * Singleton choice: the queue is `stately` and every wake-up carries one singletonKey, so at most one
 * wake-up waits and one runs. Kicks upsert that waiting job to start now (never later); the run's
 * reschedule is a plain send, which is dropped when a wake-up already waits: while this run is the
 * only active one, a waiting job can only come from a kick, which is due sooner anyway.
 *
 * @example
 * await runDelivery({ pool, queue, slack, now: () => new Date(), log }, { stopping: signal });
 */
export async function runDelivery(deps: DeliveryRunDeps, options: DeliveryRunOptions = {}): Promise<void> {
  const inlineWaitMs = options.inlineWaitMs ?? 1_500;
  // Within the default shutdown timeout, so a stopping worker is not cut off mid-run.
  const runBudgetMs = options.runBudgetMs ?? 10_000;
  const lingerMs = options.lingerMs ?? 60_000;
  const started = performance.now();
  for (;;) {
    const summary = await deliverDue({
      pool: deps.pool,
      slack: deps.slack,
      now: deps.now,
      log: deps.log,
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    });
    deps.onDelivered?.(summary);
    if (summary.sent + summary.retried + summary.rateLimited + summary.dead > 0) deps.log.info(summary, 'slack delivery run');
    if (summary.nextDueAt === null) {
      const left = lingerMs - (performance.now() - started);
      if (options.stopping?.aborted !== false || left <= 0) return;
      // Woken by a kick: deliver again; timed out or stopping: this run is done.
      if (!(await waitOrWake(left, options.stopping)) || options.stopping.aborted) return;
      continue;
    }
    const waitMs = summary.nextDueAt.getTime() - deps.now().getTime();
    if (waitMs > inlineWaitMs || performance.now() - started + waitMs > runBudgetMs) {
      await deps.queue.send(SLACK_DELIVERY_QUEUE, {}, { singletonKey: WAKE_UP_KEY, startAfter: summary.nextDueAt });
      return;
    }
    await waitOrWake(Math.max(0, waitMs));
  }
}
