/**
 * Experiment (not part of `npm run bench`): how much faster decay gets with two changes proposed for
 * src/jobs/decay.ts, measured without touching src:
 *   1. "no awards": skip the selectAwards query (recomputeLead never reads award ledgers); simulated
 *      by answering that one statement with no rows;
 *   2. "no awards, 2 runs": two runDecay loops in flight, so one chunk's SQL overlaps the other's
 *      JavaScript.
 * Each variant runs on its own copy (CREATE DATABASE … TEMPLATE) of the same seeded database.
 *
 *   node --experimental-strip-types bench/tools/decay-variants.ts [leads=100000]
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
import { runDecay } from '../../src/jobs/decay.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { loadRulesetFile } from '../../src/ruleset-file.ts';
import { seedLeads } from '../seed.ts';

const leads = Number(process.argv[2] ?? 100_000);

/** A pool whose transactions answer the awards query with no rows (recomputeLead never reads awards). */
function withoutAwards(pool: Pool): Pool {
  return new Proxy(pool, {
    get(target, property) {
      if (property !== 'connect') {
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async () => {
        const client = await target.connect();
        const original = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<unknown>;
        const release = client.release.bind(client);
        Object.assign(client, {
          query: (text: string, values?: unknown[]) =>
            text.includes('sum(abs(points))')
              ? Promise.resolve({ rows: [], rowCount: 0 })
              : original(text, values),
          release: (err?: boolean | Error) => {
            Object.assign(client, { query: original, release });
            release(err);
          },
        });
        return client;
      };
    },
  });
}

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

  // Every variant runs src's runDecay (automation included); only what it is given differs.
  const decay = async (pool: Pool, loops: number) => {
    const log = createLogger('silent');
    // runDecay never enqueues, but its context carries a queue: one on this copy, stopped after.
    const boss = await startBoss(pool.options.connectionString ?? '', log, { supervise: false });
    try {
      const metrics = createMetrics({ defaults: false });
      const ctx = { pool, boss, ruleset, log, metrics, now: () => now };
      // Concurrent runs keep apart through SKIP LOCKED; a lead with live signals stays due and may
      // be recomputed by both, so the two-run figure understates what a shared cursor would give.
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      await Promise.all(Array.from({ length: loops }, () => runDecay(ctx)));
      const cpu = process.cpuUsage(cpu0);
      return { seconds: (performance.now() - started) / 1000, cpuUs: cpu.user + cpu.system };
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  };
  const variants: [string, (pool: Pool) => Promise<{ seconds: number; cpuUs: number }>][] = [
    ['src runDecay', (pool) => decay(pool, 1)],
    ['no awards', (pool) => decay(withoutAwards(pool), 1)],
    ['no awards, 2 runs', (pool) => decay(withoutAwards(pool), 2)],
  ];
  for (const [name, variant] of variants) {
    const db = `decay_${name.replace(/\W+/g, '_').toLowerCase()}`;
    await admin.query(`CREATE DATABASE ${db} TEMPLATE decay_template`);
    const pool = createPool(databaseUrl(server.url, db), 4);
    const { seconds, cpuUs } = await variant(pool);
    console.log(
      `${name.padEnd(20)} ${due} due leads in ${seconds.toFixed(1)} s = ${Math.round(due / seconds)} leads/s; ` +
        `Node CPU ${Math.round(cpuUs / due)} µs/lead`,
    );
    await pool.end();
  }
  await admin.end();
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
