import pg from 'pg';
import type { Queryable } from './pool.ts';

/** Sends a NOTIFY on `channel`; inside a transaction PostgreSQL delivers it when the transaction commits. */
export async function notify(db: Queryable, channel: string, payload = ''): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [channel, payload]);
}

/**
 * Listens on `channel` with a connection of its own and calls `onNotify` for every notification.
 * `onNotify` gets the notification's payload (none for the call after a reconnect).
 * A dropped connection is replaced (tried again every 1 s, backing off to 30 s, for as long as the
 * database is away), and `onNotify` is called once then, since a notification may have been missed
 * meanwhile. TCP keepalive finds a connection that died without a word (a failover, a NAT).
 *
 * @example
 * const listener = await listen(url, 'leadline_slack_kick', () => wake(), 'leadline-slack-kicks');
 * await listener.stop();
 */
export async function listen(
  connectionString: string,
  channel: string,
  onNotify: (payload?: string) => void,
  applicationName: string,
  /** Told of each failed reconnect, with the delay before the next try. */
  onRetry: (err: unknown, delayMs: number) => void = () => {},
): Promise<{ stop(): Promise<void> }> {
  let client: pg.Client | null = null;
  let stopped = false;
  const reconnect = (delayMs: number) => {
    if (stopped) return;
    setTimeout(() => {
      connect().then(() => onNotify(), (err: unknown) => {
        const next = Math.min(delayMs * 2, 30_000);
        onRetry(err, next);
        reconnect(next);
      });
    }, delayMs).unref();
  };
  const connect = async (): Promise<void> => {
    if (stopped) return;
    const next = new pg.Client({ connectionString, application_name: applicationName, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      if (client === next) client = null;
      void next.end().catch(() => {});
    };
    const lost = () => {
      const wasListening = client === next;
      drop();
      // A failed connect() rejects and is retried by its caller; a live connection lost is retried here.
      if (wasListening) reconnect(1_000);
    };
    next.on('notification', (message) => onNotify(message.payload));
    next.on('error', lost);
    next.on('end', lost);
    try {
      await next.connect();
      await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      drop();
      throw err;
    }
    client = next;
  };
  await connect();
  return {
    stop: async () => {
      stopped = true;
      await client?.end().catch(() => {});
    },
  };
}
