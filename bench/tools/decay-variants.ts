/**
 * Experiment (not part of `npm run bench`): src's runDecay with different chunk sizes, each on its own
 * copy (CREATE DATABASE … TEMPLATE) of the same seeded database, with the lead-row writes each run
 * made (from pg_stat_user_tables: all of them HOT or not) and the WAL it wrote, so runs on a busy
 * machine can still be compared by what they did.
 *
 *   node --experimental-strip-types bench/tools/decay-variants.ts [leads=100000] [chunkSizes=2000,5000,10000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { DEFAULT_RULES_PATH } from '../../src/config.ts';
import { databaseUrl, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { startBoss } from '../../src/jobs/boss.ts';
import { runDecay } from '../../src/app/scheduled/decay.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { loadRulesetFile } from '../../src/ruleset-file.ts';
import { seedLeads } from '../seed.ts';

const leads = Number(process.argv[2] ?? 100_000);
const chunkSizes = (process.argv[3] ?? '2000,5000,10000').split(',').map(Number);

const dir = await mkdtemp(path.join(os.tmpdir(), 'leadline-decay-variants-'));
const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg') });
try {
  const { ruleset } = await loadRulesetFile(DEFAULT_RULES_PATH);
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  admin.on('error', () => {});
  await admin.query('CREATE DATABASE decay_template');
  const templateUrl = databaseUrl(server.url, 'decay_template');
  const setup = createPool(templateUrl, 1);
  await migrate(setup);
  await setup.end();
  const seedClient = new pg.Client({ connectionString: templateUrl });
  await seedClient.connect();
  const now = new Date();
  await seedLeads(seedClient, {
    leads,
    scoreRowsPerLead: 10,
    maxAgeDays: 120,
    dueShare: 0.9,
    signalEvery: 10,
    now,
    ruleset,
  });
  const due = (
    await seedClient.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM leads WHERE score_expires_at <= $1 OR signals_active_until IS NOT NULL',
      [now],
    )
  ).rows[0]!.n;
  await seedClient.end();

  const decay = async (pool: Pool, chunkSize: number) => {
    const log = createLogger('silent');
    // runDecay never enqueues, but its context carries a queue: one on this copy, stopped after.
    const boss = await startBoss(pool.options.connectionString ?? '', log, { supervise: false });
    try {
      const metrics = createMetrics({ defaults: false });
      const ctx = { pool, queue: boss, ruleset, log, metrics, now: () => now };
      const wal0 = (await pool.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn;
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const summary = await runDecay(ctx, chunkSize);
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const { rows } = await pool.query<{ wal_mb: number }>(
        'SELECT round(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn) / 1048576.0)::int AS wal_mb',
        [wal0],
      );
      // The statistics collector reports a backend's counts when its transactions end: wait for them.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const { rows: writes } = await pool.query<{ upd: number; hot: number }>(
        "SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'leads'",
      );
      return { summary, seconds, cpuUs: cpu.user + cpu.system, walMb: rows[0]!.wal_mb, ...writes[0]! };
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  };
  for (const chunkSize of chunkSizes) {
    const db = `decay_chunk_${chunkSize}`;
    await admin.query(`CREATE DATABASE ${db} TEMPLATE decay_template`);
    const pool = createPool(databaseUrl(server.url, db), 4);
    const { summary, seconds, cpuUs, walMb, upd, hot } = await decay(pool, chunkSize);
    console.log(
      `chunks of ${String(chunkSize).padEnd(6)} ${summary.leads}/${due} due leads in ${seconds.toFixed(1)} s = ` +
        `${Math.round(due / seconds)} leads/s; Node CPU ${Math.round(cpuUs / due)} µs/lead; ` +
        `${upd} lead rows written (${hot} HOT); WAL ${walMb} MB`,
    );
    await pool.end();
  }
  await admin.end();
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
