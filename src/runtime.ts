import path from 'node:path';
import type { AppContext } from './app/context.ts';
import type { Config } from './config.ts';
import { type EmbeddedPostgresHandle, ensureDatabase, startEmbeddedPostgres } from './db/embedded.ts';
import { migrate } from './db/migrate.ts';
import { createPool, type Pool, run } from './db/pool.ts';
import { recordRuleset } from './db/sql/rulesets.ts';
import type { Ruleset } from './engine/ruleset.ts';
import { type Boss, startBoss } from './jobs/boss.ts';
import { createQueues } from './jobs/registry.ts';
import type { Logger } from './log.ts';
import { createMetrics, registerDatabaseGauges } from './metrics.ts';
import type { Started } from './runtime/roles.ts';
import { loadSlackApp, startWebRole } from './runtime/web.ts';
import { startRulesetReload } from './runtime/reload.ts';
import { startWorkerProbes, startWorkerRole } from './runtime/worker.ts';


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
  /** Base URL of the HTTP server, when this process serves HTTP (a worker: its probes, when given a port). */
  url: string | null;
  databaseUrl: string;
  pool: Pool;
  boss: Boss;
  /** The context every use case runs with (its `ruleset` is the running version). */
  ctx: AppContext;
  /** What SIGHUP does: read the ruleset file again and announce a valid new version. */
  reloadRuleset(): Promise<'announced' | 'unchanged' | 'refused'>;
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
    let url = config.databaseUrl;
    if (url === undefined) {
      const embedded = (embeddedHolder.current = await startEmbeddedPostgres({
        dataDir: path.join(config.dataDir, 'pg'),
        onLog: (line) => log.debug({ postgres: line.trim() }, 'postgres'),
      }));
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
    registerDatabaseGauges(metrics, pool);
    metrics.rulesetInfo.set({ version: ruleset.version }, 1);
    const ctx: AppContext = { pool, queue: boss, ruleset, log, metrics, now, classifyText: config.openai !== undefined };
    const started: Started = { config, log, url, pool, boss, ctx, cleanups, onRulesetChange: [] };
    if (config.role !== 'web') await startWorkerRole(started, options.schedules !== false);
    const serverUrl =
      config.role === 'worker' ? await startWorkerProbes(started) : await startWebRole(started, metrics, options.env ?? process.env);
    if (config.role === 'worker') {
      log.info({ role: config.role, ruleset: ruleset.version, ...(serverUrl === null ? {} : { url: serverUrl }) }, 'Leadline workers are running');
    }

    const reload = await startRulesetReload(started, { rulesPath: config.rulesPath, watch: config.rulesWatch });
    cleanups.unshift(() => reload.stop());

    let stopping: Promise<void> | null = null;
    const embedded = embeddedHolder.current;
    return {
      url: serverUrl,
      databaseUrl: url,
      pool,
      boss,
      ctx,
      reloadRuleset: () => reload.fromFile(),
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
