import type { Hono } from 'hono';
import { type Pool, ping } from '../db/pool.ts';
import type { AppEnv } from './env.ts';

const READY_TIMEOUT_MS = 2_000;

/** `GET /healthz`: the process is alive. `GET /readyz`: database and job queue answer, else 503. */
export function mountHealth(
  app: Hono<AppEnv>,
  deps: { pool: Pool; probeQueue: () => Promise<unknown>; isShuttingDown: () => boolean },
): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (deps.isShuttingDown()) return c.json({ status: 'shutting_down' }, 503);
    const [database, queue] = await Promise.all([
      probe(() => ping(deps.pool)),
      probe(deps.probeQueue),
    ]);
    const ready = database && queue;
    return c.json(
      {
        status: ready ? 'ready' : 'unavailable',
        database: database ? 'ok' : 'down',
        queue: queue ? 'ok' : 'down',
      },
      ready ? 200 : 503,
    );
  });
}

async function probe(check: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), READY_TIMEOUT_MS);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
