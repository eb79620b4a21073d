import { flushCompileCache } from 'node:module';
import { loadConfig, loadDotEnv } from './config.ts';
import { isLeadlineError } from './errors.ts';
import { createLogger } from './log.ts';
import { loadRulesetFile } from './ruleset-file.ts';
import { loadOnDemandModules, type Runtime, startRuntime } from './runtime.ts';

// Process entry: `LEADLINE_ROLE=web|worker|all` picks what this process runs (default all).
async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const log = createLogger(config.logLevel, { role: config.role });
  const { ruleset, text } = await loadRulesetFile(config.rulesPath);

  // Handlers go in before start-up: a signal during migrations must still stop the embedded
  // PostgreSQL cleanly instead of leaving it holding the data directory.
  let runtime: Runtime | null = null;
  let signalled = false;
  const stop = () => {
    if (runtime === null) return;
    runtime.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down');
    stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Last resort, for what no handler caught. A rejected promise nobody awaited leaves no state
  // half-changed (every change is a transaction), so Leadline keeps serving. An exception thrown
  // outside any promise may have left a stream or a timer broken: stop cleanly and let the
  // supervisor start a fresh process.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection; safe to continue, Leadline keeps serving');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; not safe to continue, Leadline stops so its supervisor restarts it');
    if (signalled) return;
    signalled = true;
    process.exitCode = 1;
    if (runtime === null) process.exit(1);
    void runtime.stop().finally(() => process.exit(1));
  });

  runtime = await startRuntime({ config, ruleset, rulesetText: text, log });
  // Every module is loaded by now: write the compile cache (src/compile-cache.js) at once rather
  // than at exit, which a killed process never reaches. A no-op when the cache is off.
  flushCompileCache();
  if (signalled) stop();
}

// `node <flags> src/main.ts --warm-compile-cache` loads every module, writes Node's compile cache
// (src/compile-cache.js) and exits without reading configuration or starting anything. The Docker
// build runs it with the V8 flags of the real start, since V8 uses a cache only under those.
async function warmCompileCache(): Promise<void> {
  await loadOnDemandModules();
  flushCompileCache();
}

const entry = process.argv.slice(2).includes('--warm-compile-cache') ? warmCompileCache : main;
entry().catch((err: unknown) => {
  // Startup errors (bad configuration, broken ruleset, failed migration) print their code and
  // field paths, then stop the process.
  if (isLeadlineError(err)) {
    console.error(`leadline: ${err.code}: ${err.message}`);
    for (const issue of err.issues) console.error(`  ${issue.path}: ${issue.message}`);
  } else {
    console.error('leadline: failed to start', err);
  }
  process.exit(1);
});
