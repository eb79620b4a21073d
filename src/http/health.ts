import { Hono } from 'hono';
import { type Pool, ping } from '../db/pool.ts';
import type { Metrics } from '../metrics.ts';
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

/** `GET /metrics`: this process's registry in Prometheus's text format. */
export function mountMetrics(app: Hono<AppEnv>, metrics: Metrics): void {
  app.get('/metrics', async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
}

/**
 * What a `worker`-role process serves on `LEADLINE_WORKER_PORT`: liveness, readiness and its own
 * metrics (its processing, delivery, SLA and MOCO counters live in its registry, not the web's).
 *
 * @example
 * const app = createProbeApp({ pool, probeQueue, isShuttingDown: () => false, metrics });
 */
export function createProbeApp(
  deps: { pool: Pool; probeQueue: () => Promise<unknown>; isShuttingDown: () => boolean; metrics: Metrics },
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  mountHealth(app, deps);
  mountMetrics(app, deps.metrics);
  return app;
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
