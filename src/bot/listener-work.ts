import type { App } from '@slack/bolt';

/**
 * Keeps count of listener work still running after its ack (Leadline acks first and works after,
 * so a Slack request's HTTP answer comes long before the database writes it causes). `settled`
 * waits for what is running; the shutdown's own timeout bounds the wait.
 *
 * @example
 * const work = trackListenerWork(app); // before any other middleware or listener
 * await work.settled();                // at shutdown, once no new request can arrive
 */
export function trackListenerWork(app: App): { running(): number; settled(): Promise<void> } {
  const inFlight = new Set<Promise<unknown>>();
  app.use(async ({ next }) => {
    const work = next();
    inFlight.add(work);
    try {
      await work;
    } finally {
      inFlight.delete(work);
    }
  });
  return {
    running: () => inFlight.size,
    settled: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
