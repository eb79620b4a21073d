import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import pg from 'pg';
import { registerAlertActions } from './bot/alert-actions.ts';
import { registerConflictActions } from './bot/conflict-actions.ts';
import { registerHome } from './bot/home.ts';
import { registerLeadCommand } from './bot/lead-command.ts';
import { registerPing } from './bot/ping.ts';
import type { SlackApp } from './bot/slack-app.ts';
import { createIntentClassifier } from './clients/openai-intent.ts';
import { createSlackApi } from './clients/slack-api.ts';
import type { Config } from './config.ts';
import { databaseUrl, type EmbeddedPostgresHandle, startEmbeddedPostgres } from './db/embedded.ts';
import { migrate } from './db/migrate.ts';
import { createPool, type Pool, run } from './db/pool.ts';
import { recordRuleset } from './db/sql/rulesets.ts';
import type { LeadlineEvent } from './engine/event.ts';
import type { Ruleset } from './engine/ruleset.ts';
import { isUrgentEvent } from './engine/urgency.ts';
import { createApp } from './http/app.ts';
import { resolveSources } from './http/sources.ts';
import { type Boss, startBoss } from './jobs/boss.ts';
import { IntakeWriter } from './app/intake/intake-writer.ts';
import type { AppContext } from './app/context.ts';
import { DECAY_QUEUE, DIGEST_QUEUE, PROCESS_EVENTS_QUEUE, SLA_QUEUE, UPKEEP_QUEUE } from './app/queues.ts';
import { createQueues, leadlineJobs, startWorkers } from './jobs/registry.ts';
import { startSchedules } from './jobs/schedule.ts';
import { kickSlackDelivery, listenForSlackKicks } from './slack/outbox/kick.ts';
import type { Logger } from './log.ts';
import { createMetrics } from './metrics.ts';

// Bolt, with the Web API client, OAuth, Socket Mode and express it brings, is ~15 MB resident: only a
// process that serves Slack requests loads it, so workers and installs without Slack do not.
const loadSlackApp = () => import('./bot/slack-app.ts');

/**
 * Loads the modules Leadline loads only on demand, so `node src/main.ts --warm-compile-cache` can
 * put every module in Node's compile cache (src/compile-cache.js) without starting anything.
 */
export async function loadOnDemandModules(): Promise<void> {
  await loadSlackApp();
}

export interface RuntimeOptions {
  config: Config;
  ruleset: Ruleset;
  rulesetText: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** The clock every decision uses; tests and benchmarks pass their own. */
  now?: () => Date;
  /** Turn off node-cron schedules (tests enqueue scheduled jobs by hand). */
  schedules?: boolean;
}

export interface Runtime {
  /** Base URL of the HTTP server, when this process serves HTTP. */
  url: string | null;
  databaseUrl: string;
  pool: Pool;
  boss: Boss;
  stop(): Promise<void>;
}

/**
 * Starts Leadline: the database (embedded unless DATABASE_URL is set), migrations, the job queue,
 * and the HTTP server and/or workers for the configured role. `stop()` drains in-flight requests and
 * jobs before closing connections, bounded by the shutdown timeout.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, ruleset, log } = options;
  const now = options.now ?? (() => new Date());
  const cleanups: (() => Promise<void>)[] = [];
  const embeddedHolder: { current: EmbeddedPostgresHandle | null } = { current: null };
  try {
    let embedded: EmbeddedPostgresHandle | null = null;
    let url = config.databaseUrl;
    if (url === undefined) {
      embedded = embeddedHolder.current = await startEmbeddedPostgres({
        dataDir: path.join(config.dataDir, 'pg'),
        onLog: (line) => log.debug({ postgres: line.trim() }, 'postgres'),
      });
      url = await ensureDatabase(embedded.url, 'leadline');
      log.info({ dataDir: config.dataDir, port: embedded.port }, 'embedded PostgreSQL started');
    }
    const pool = createPool(url, config.dbPoolMax);
    cleanups.unshift(() => pool.end());
    const applied = await migrate(pool);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    await run(pool, recordRuleset(ruleset.version, options.rulesetText));

    const boss = await startBoss(url, log, { max: Math.max(4, Math.ceil(config.dbPoolMax / 2)) });
    cleanups.unshift(() => boss.stop({ graceful: true, close: true, timeout: config.shutdownTimeoutMs }));
    await createQueues(boss);

    const metrics = createMetrics();
    const jobContext: AppContext = {
      pool,
      queue: boss,
      ruleset,
      log,
      metrics,
      now,
      classifyText: config.openai !== undefined,
    };
    if (config.role !== 'web') {
      const slackApi =
        config.slack === undefined
          ? null
          : createSlackApi({
              baseUrl: config.slack.apiUrl,
              token: config.slack.botToken,
              timeoutMs: config.slack.timeoutMs,
            });
      const classifier = config.openai === undefined ? null : createIntentClassifier(config.openai);
      // Ends waits that would otherwise hold a stopping worker (a delivery run lingering for kicks).
      const stopping = new AbortController();
      cleanups.unshift(async () => stopping.abort());
      await startWorkers(boss, jobContext, leadlineJobs(slackApi, classifier, stopping.signal), {
        [PROCESS_EVENTS_QUEUE]: { batchSize: config.workerBatch, localConcurrency: config.workerConcurrency },
      });
      // A process that died between committing an outcome and waking the delivery job leaves
      // messages due in the outbox; one wake-up at start delivers them.
      if (slackApi !== null) {
        const kicks = await listenForSlackKicks(url, boss, log);
        cleanups.unshift(() => kicks.stop());
        await kickSlackDelivery(boss);
      }
      if (options.schedules !== false) {
        const schedules = startSchedules(
          [
            { queue: DECAY_QUEUE, cron: config.decayCron, timezone: ruleset.timezone },
            // Hourly: upkeep thresholds are hours and days, and findings are reported once.
            { queue: UPKEEP_QUEUE, cron: '7 * * * *', timezone: ruleset.timezone },
            // Every minute: the shortest claim window (CRITICAL) is minutes long.
            { queue: SLA_QUEUE, cron: '* * * * *', timezone: ruleset.timezone },
            { queue: DIGEST_QUEUE, cron: ruleset.slack.digest_cron, timezone: ruleset.timezone },
          ],
          {
            pool,
            boss,
            log,
          },
        );
        cleanups.unshift(() => schedules.stop());
      }
    }

    let shuttingDown = false;
    let serverUrl: string | null = null;
    if (config.role !== 'worker') {
      // CSV rows are history being loaded, never a reason to jump the queue.
      const intake = new IntakeWriter(pool, boss, {
        urgent: (item) => item.scheme !== 'csv' && isUrgentEvent(item.event as LeadlineEvent, ruleset, now()),
      });
      const sources = resolveSources(ruleset, options.env ?? process.env);
      const missing = [...sources.values()]
        .filter((s) => s.secret === null)
        .map((s) => `${s.name} (${s.secretEnv})`);
      if (missing.length > 0)
        log.warn({ sources: missing }, 'webhook sources without a secret refuse deliveries');
      const app = createApp({
        pool,
        probeQueue: () => boss.getDb().executeSql('SELECT 1'),
        intake,
        sources,
        log,
        metrics,
        importToken: config.importToken,
        now,
        isShuttingDown: () => shuttingDown,
      });
      let slack: SlackApp | null = null;
      if (config.slack !== undefined) {
        const { createSlackApp } = await loadSlackApp();
        slack = createSlackApp({ ...config.slack, log });
        registerPing(slack.app);
        registerConflictActions(slack.app, jobContext);
        registerAlertActions(slack.app, jobContext);
        registerLeadCommand(slack.app, jobContext, { intake });
        registerHome(slack.app, jobContext);
      }
      const hono = getRequestListener(app.fetch);
      const slackApp = slack;
      // One port: Bolt owns /slack/events and hands every other request, body unread, to Hono.
      const server = createServer(
        slackApp === null
          ? hono
          : (req, res) => slackApp.requestListener(req, res, () => void hono(req, res)),
      );
      await listen(server, config.port, config.host);
      await slack?.start();
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      serverUrl = `http://127.0.0.1:${port}`;
      cleanups.unshift(async () => {
        shuttingDown = true;
        await slackApp?.stop();
        await closeServer(server);
        await intake.drain();
      });
      log.info({ url: serverUrl, role: config.role, ruleset: ruleset.version }, 'Leadline is listening');
    }

    let stopping: Promise<void> | null = null;
    return {
      url: serverUrl,
      databaseUrl: url,
      pool,
      boss,
      stop: () => {
        stopping ??= shutdown(cleanups, embedded, config.shutdownTimeoutMs, log);
        return stopping;
      },
    };
  } catch (err) {
    await runCleanups(cleanups, log);
    await embeddedHolder.current?.stop();
    throw err;
  }
}

// The graceful part is bounded; the embedded server is stopped whatever happened, so a slow drain
// can never leave a PostgreSQL process holding the data directory.
async function shutdown(
  cleanups: (() => Promise<void>)[],
  embedded: EmbeddedPostgresHandle | null,
  timeoutMs: number,
  log: Logger,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([runCleanups(cleanups, log), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') log.warn({ timeoutMs }, 'graceful shutdown timed out; stopping anyway');
  await embedded?.stop();
}

async function runCleanups(cleanups: (() => Promise<void>)[], log: Logger): Promise<void> {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (err) {
      log.warn({ err }, 'shutdown step failed');
    }
  }
}

async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  return databaseUrl(serverUrl, name);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

// Stop accepting, let in-flight requests finish, and close keep-alive sockets as they go idle.
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
