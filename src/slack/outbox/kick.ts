// How transactions and other processes wake the Slack dispatcher (the dispatcher itself: slack-delivery.ts).
import { listen, notify } from '../../db/listen.ts';
import type { Queryable } from '../../db/pool.ts';
import type { Logger } from '../../log.ts';
import type { JobQueue } from '../../db/job-queue.ts';

/** The dispatcher's queue: its jobs are wake-ups that carry nothing. */
export const SLACK_DELIVERY_QUEUE = 'slack-delivery';

// One key for every wake-up: with the queue's `stately` policy at most one wake-up waits and one runs.
export const WAKE_UP_KEY = 'slack-delivery';

// A delivery run waiting in place (for a paced slot, or lingering for new messages) is woken by a
// kick in the same process, so a new alert neither waits behind another channel's pause nor pays
// for a new job run.
const sleepers = new Set<() => void>();

/** Waits `ms`, or less when a kick arrives or `signal` aborts; resolves true when woken early. */
export function waitOrWake(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (woken: boolean) => {
      clearTimeout(timer);
      sleepers.delete(wake);
      signal?.removeEventListener('abort', wake);
      resolve(woken);
    };
    const wake = () => done(true);
    // A waiting run must not keep a stopping process alive.
    const timer = setTimeout(() => done(false), ms).unref();
    sleepers.add(wake);
    signal?.addEventListener('abort', wake, { once: true });
  });
}

function wakeSleepers(): void {
  for (const wake of [...sleepers]) wake();
}

/** The channel a committed transaction notifies when it left Slack messages in the outbox. */
export const SLACK_KICK_CHANNEL = 'leadline_slack_kick';

/**
 * Wakes the dispatcher now: moves the waiting wake-up (if any) to now, else creates one.
 *
 * Inside a transaction (`{ db: tx }`) it only sends a NOTIFY, which PostgreSQL delivers when the
 * transaction commits: touching the one shared wake-up job row there would make every transaction
 * that enqueues Slack wait for every other one (and deadlock with ledger locks). The listener from
 * `listenForSlackKicks` turns the notification into the real wake-up.
 *
 * @example
 * await kickSlackDelivery(boss);                 // after commit
 * await kickSlackDelivery(boss, { db: tx });     // inside the transaction that enqueued
 */
export async function kickSlackDelivery(boss: JobQueue, options: { db?: Queryable } = {}): Promise<void> {
  if (options.db !== undefined) {
    await notify(options.db, SLACK_KICK_CHANNEL);
    return;
  }
  // A run of this process waiting in place takes the message at once; the wake-up job below
  // reaches every other process and starts a run when none is waiting.
  wakeSleepers();
  await boss.upsert(
    SLACK_DELIVERY_QUEUE,
    {},
    {
      singletonKey: WAKE_UP_KEY,
      // 0 = the database's now(): a kick only ever moves the wake-up earlier.
      startAfter: 0,
    },
  );
}

/**
 * Listens for committed kicks and wakes the dispatcher, coalescing a burst into one wake-up. Runs in
 * every process that delivers to Slack; reconnects after a dropped connection (and kicks then, in
 * case a notification was missed).
 */
export async function listenForSlackKicks(
  connectionString: string,
  queue: JobQueue,
  log: Logger,
): Promise<{ stop(): Promise<void> }> {
  let pending = false;
  let stopped = false;
  const wake = () => {
    if (pending || stopped) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      wakeSleepers();
      kickSlackDelivery(queue).catch((err: unknown) => log.warn({ err }, 'slack wake-up failed'));
    });
  };
  const listener = await listen(connectionString, SLACK_KICK_CHANNEL, wake, 'leadline-slack-kicks', (err, delayMs) =>
    log.warn({ err, retryInMs: delayMs }, 'Slack wake-up listener cannot reconnect yet; the minute backstop still delivers'),
  );
  return {
    stop: async () => {
      stopped = true;
      await listener.stop();
    },
  };
}
