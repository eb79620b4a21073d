import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Pool } from '../db/pool.ts';
import { isConnectionError } from '../db/pool.ts';
import { isLeadlineError } from '../errors.ts';
import type { IntakeWriter } from '../app/intake/intake-writer.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { errorBody } from './errors.ts';
import { FloodLimit } from './flood-limit.ts';
import { mountHealth, mountMetrics } from './health.ts';
import { mountImports } from './imports.ts';
import { mountApiDocs } from './openapi.ts';
import type { WebhookSource } from './sources.ts';
import { mountWebhooks } from './webhooks.ts';
import type { AppEnv } from './env.ts';

export type { AppEnv } from './env.ts';

export interface AppDeps {
  pool: Pool;
  /** Answers when the job queue's own connections do (readiness). */
  probeQueue: () => Promise<unknown>;
  intake: IntakeWriter;
  sources: Map<string, WebhookSource>;
  log: Logger;
  metrics: Metrics;
  /** Bearer token for `POST /imports`; null disables bulk imports. */
  importToken: string | null;
  now: () => Date;
  /** True once shutdown began: readiness turns 503 so load balancers stop sending traffic. */
  isShuttingDown: () => boolean;
  /** Sources' flood limits; by default one on `now`. */
  floodLimit?: FloodLimit;
}

/**
 * Builds Leadline's HTTP app from its dependencies; nothing here opens a port, so tests call
 * `app.request()` directly.
 *
 * @example
 * const app = createApp({ pool, probeQueue, intake, sources, log, metrics, importToken: null, now: () => new Date(), isShuttingDown: () => false });
 * const res = await app.request('/healthz');
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestId({ headerName: 'X-Request-Id' }));
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    // Routine answers log at debug: an accepted webhook is on record as its intake row and in the
    // metrics, and at thousands a second a log line each cost more CPU than verifying the signatures.
    // Refusals and failures, the lines someone looks for, stay at info.
    const level = c.res.status >= 400 ? 'info' : 'debug';
    if (!deps.log.isLevelEnabled(level)) return;
    deps.log[level](
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        // The route pattern, not the path: url-token senders carry their secret in the path.
        path: c.req.routePath,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    );
  });
  mountHealth(app, deps);
  mountMetrics(app, deps.metrics);
  mountWebhooks(app, { ...deps, floodLimit: deps.floodLimit ?? new FloodLimit(() => deps.now().getTime()) });
  mountImports(app, deps);
  mountApiDocs(app);
  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    if (isConnectionError(err) || isLeadlineError(err, 'database_unavailable')) {
      deps.log.warn({ requestId: c.get('requestId'), err: err.message }, 'database unavailable');
      c.header('Retry-After', '5');
      return c.json(errorBody('database_unavailable', 'storage is unavailable; retry later'), 503);
    }
    if (isLeadlineError(err) && err.status < 500) {
      return c.json(errorBody(err.code, err.message, err.issues), err.status as 400);
    }
    deps.log.error({ requestId: c.get('requestId'), err }, 'request failed');
    return c.json(errorBody('internal_error', `unexpected error; request id ${c.get('requestId')}`), 500);
  });
  return app;
}
