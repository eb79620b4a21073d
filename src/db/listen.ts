import pg from 'pg';
import type { Queryable } from './pool.ts';

/** Sends a NOTIFY on `channel`; inside a transaction PostgreSQL delivers it when the transaction commits. */
export async function notify(db: Queryable, channel: string, payload = ''): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [channel, payload]);
}

/**
 * Listens on `channel` with a connection of its own and calls `onNotify` for every notification.
 * A dropped connection is replaced a second later, and `onNotify` is called once then, since a
 * notification may have been missed meanwhile.
 *
 * @example
 * const listener = await listen(url, 'leadline_slack_kick', () => wake(), 'leadline-slack-kicks');
 * await listener.stop();
 */
export async function listen(
  connectionString: string,
  channel: string,
  onNotify: () => void,
  applicationName: string,
): Promise<{ stop(): Promise<void> }> {
  let client: pg.Client | null = null;
  let stopped = false;
  const connect = async (): Promise<void> => {
    if (stopped) return;
    const next = new pg.Client({ connectionString, application_name: applicationName });
    next.on('notification', onNotify);
    next.on('error', () => {
      if (client === next) client = null;
      void next.end().catch(() => {});
      if (!stopped) setTimeout(() => void connect().then(onNotify, () => {}), 1_000).unref();
    });
    await next.connect();
    await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
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
