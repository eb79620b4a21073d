/**
 * `npm run bench [-- --quick] [-- --only=ingest,engine] [-- --seed=7] [-- --keep] [-- --profile]`
 *
 * Starts a PostgreSQL server (embedded, in a temp directory, durable settings as in production),
 * runs each scenario against its own fresh database, prints a table and writes
 * bench/results/<timestamp>.json. Everything listens on and is loaded through 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { DEFAULT_RULES_PATH } from '../src/config.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { loadRulesetFile } from '../src/ruleset-file.ts';
import { createContext, type ScenarioResult, tuningEnv } from './context.ts';
import { foreignCpu, type MemoryPeak, machineBusy, memorySampler } from './machine.ts';
import { createProfiler } from './profile.ts';
import { formatTable, writeResults } from './report.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { seconds } from './stats.ts';

/** Background CPU share (before) and foreign cores (during) above which figures are flagged. */
const NOISY_SHARE = 0.1;
const NOISY_CORES = 0.15;
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    seed: { type: 'string', default: '20250601' },
    keep: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const quick = values.quick ?? false;
const seed = Number.parseInt(values.seed ?? '20250601', 10);
const only = values.only === undefined ? null : new Set(values.only.split(',').map((s) => s.trim()));
const unknown = [...(only ?? [])].filter((name) => !SCENARIOS.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(
    `unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
  );
  process.exit(2);
}

const runStarted = performance.now();
const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'leadline-bench-'));
const server = await startEmbeddedPostgres({ dataDir: path.join(tmpDir, 'pg') });
let stopping = false;
const cleanup = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop().catch(() => {});
  if (!values.keep) await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
};
// Ctrl-C must not leave a PostgreSQL process behind holding the temp directory.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping PostgreSQL`);
    void cleanup().finally(() => process.exit(130));
  });
}

let exitCode = 0;
try {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const settings = await admin.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings
     WHERE name IN ('server_version', 'shared_buffers', 'fsync', 'synchronous_commit', 'max_wal_size', 'wal_level')`,
  );
  await admin.end();
  const pgSettings = Object.fromEntries(
    settings.rows.map((row) => [row.name, row.unit === null ? row.setting : `${row.setting} × ${row.unit}`]),
  );
  const { ruleset, text: rulesetText } = await loadRulesetFile(DEFAULT_RULES_PATH);
  const header = {
    mode: quick ? 'quick' : 'full',
    seed,
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    postgres: pgSettings['server_version'] ?? 'unknown',
    pgSettings,
    ruleset: ruleset.version,
    tuning: tuningEnv(),
  };
  console.log(
    `Leadline benchmark (${header.mode}) — ${header.cores} cores (${header.cpu}), ${header.memoryGb} GB, ` +
      `Node ${header.node}, PostgreSQL ${header.postgres}, seed ${seed}` +
      (Object.keys(header.tuning).length > 0 ? `, tuning ${JSON.stringify(header.tuning)}` : ''),
  );
  console.log(
    `PostgreSQL: ${JSON.stringify(pgSettings)}; Leadline logs → ${path.join(tmpDir, 'leadline.log')} (kept with --keep)`,
  );

  const ctx = createContext({
    quick,
    seed,
    serverUrl: server.url,
    tmpDir,
    logFile: path.join(tmpDir, 'leadline.log'),
    ruleset,
    rulesetText,
  });
  const profileDir = path.join(os.tmpdir(), `leadline-bench-profiles-${Date.now()}`);
  const profiler = values.profile ? await createProfiler(profileDir) : null;
  const timings: Record<string, number> = {};
  const background: Record<string, number | null> = {};
  const memory: Record<string, MemoryPeak> = ctx.memoryPeaks;
  const foreignCores: Record<string, number | null> = {};
  for (const scenario of SCENARIOS) {
    if (only !== null && !only.has(scenario.name) && scenario.name !== 'memory') continue;
    const busy = await machineBusy();
    background[scenario.name] = busy;
    const noisy = busy !== null && busy > NOISY_SHARE;
    ctx.progress(
      `▶ ${scenario.title}` +
        (busy === null
          ? ''
          : ` (machine ${Math.round(busy * 100)}% busy before start${noisy ? ' — NOISY' : ''})`),
    );
    const started = performance.now();
    await profiler?.start();
    const sampler = memorySampler();
    const others = await foreignCpu();
    try {
      ctx.results.push(...(await scenario.run(ctx)));
    } catch (err) {
      exitCode = 1;
      const message = err instanceof Error ? err.message : String(err);
      ctx.progress(`✖ ${scenario.name} failed: ${message}`);
      if (err instanceof Error && err.stack) console.error(err.stack);
      const failed: ScenarioResult = {
        name: `${scenario.name} (failed)`,
        figure: Number.NaN,
        unit: '',
        target: '—',
        met: false,
        notes: message.slice(0, 200),
      };
      ctx.results.push(failed);
    }
    memory[scenario.name] = sampler.stop();
    const foreign = await others.end();
    foreignCores[scenario.name] = foreign;
    if (foreign !== null) {
      ctx.progress(
        `  other processes used ${foreign.toFixed(2)} cores on average during ${scenario.name}` +
          (foreign > NOISY_CORES ? ' — NOISY' : ''),
      );
    }
    ctx.progress(`  memory peak during ${scenario.name}: ${JSON.stringify(memory[scenario.name])}`);
    if (profiler !== null) ctx.progress(`  CPU profile: ${await profiler.stop(scenario.name)}`);
    timings[scenario.name] = Math.round(performance.now() - started);
    ctx.progress(`  ${scenario.name} took ${seconds(timings[scenario.name] ?? 0)}`);
  }
  ctx.log.flush();

  console.log(`\n${formatTable(ctx.results)}\n`);
  const noisy = Object.entries(foreignCores).filter(([, cores]) => cores !== null && cores > NOISY_CORES);
  if (noisy.length > 0) {
    console.log(
      `WARNING: other processes used CPU during ${noisy
        .map(([name, cores]) => `${name} (${(cores ?? 0).toFixed(2)} of ${os.availableParallelism()} cores)`)
        .join(', ')}; those figures understate Leadline.`,
    );
  }
  const missed = ctx.results.filter((r) => r.met === false).length;
  console.log(
    `${missed === 0 ? 'All targets met' : `${missed} target(s) not met`} — total ${seconds(performance.now() - runStarted)}`,
  );
  const file = await writeResults(RESULTS_DIR, {
    ...header,
    startedAt: new Date(Date.now() - (performance.now() - runStarted)).toISOString(),
    totalMs: Math.round(performance.now() - runStarted),
    scenarioMs: timings,
    backgroundCpuShare: background,
    foreignCoresDuring: foreignCores,
    memoryPeaks: memory,
    results: ctx.results,
  });
  console.log(`Results written to ${path.relative(process.cwd(), file)}`);
} catch (err) {
  exitCode = 1;
  console.error('benchmark failed:', err);
} finally {
  await cleanup();
}
process.exit(exitCode);
