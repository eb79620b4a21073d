/**
 * Diagnostic (not part of `npm run bench`): seeds leads with score rows, runs Leadline's runDecay
 * with every statement timed by kind, and with `explain` logs the plans of one more chunk
 * (auto_explain with ANALYZE, BUFFERS and trigger times).
 *
 *   node --experimental-strip-types bench/tools/decay-stages.ts [leads=100000] [rowsPerLead=10] [explain]
 */
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { startBoss } from '../../src/jobs/boss.ts';
import { runDecay } from '../../src/app/scheduled/decay.ts';
import { createMetrics } from '../../src/metrics.ts';
import { seedLeads } from '../seed.ts';
import { timedPool } from './timed-pool.ts';
import { openWorkbench } from './workbench.ts';

const leads = Number(process.argv[2] ?? 100_000);
const rowsPerLead = Number(process.argv[3] ?? 10);
const explain = process.argv[4] === 'explain';
const serverLog: string[] = [];

/** A pool that turns auto_explain on for each connection and refuses a second transaction. */
function explainOnce(pool: Pool): Pool {
  let used = false;
  return new Proxy(pool, {
    get(target, property) {
      if (property !== 'connect') {
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async () => {
        if (used) throw new Error('one chunk explained');
        used = true;
        const client = await target.connect();
        await client.query(
          "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; " +
            'SET auto_explain.log_buffers = on; SET auto_explain.log_triggers = on; SET auto_explain.log_parameter_max_length = 0',
        );
        return client;
      };
    },
  });
}

const bench = await openWorkbench('decay-stages', (line) => {
  if (explain) serverLog.push(line);
});
const { ctx, ruleset } = bench;
try {
  const url = await ctx.createDatabase('decay_stages');
  const pool = createPool(url, 4);
  await migrate(pool);
  const seedClient = new pg.Client({ connectionString: url });
  await seedClient.connect();
  const now = new Date();
  console.log(
    'seed',
    await seedLeads(seedClient, {
      leads,
      scoreRowsPerLead: rowsPerLead,
      maxAgeDays: 120,
      dueShare: 0.9,
      signalEvery: 10,
      now,
      ruleset,
    }),
  );
  await seedClient.end();
  const boss = await startBoss(url, ctx.log, { supervise: false });
  const metrics = createMetrics({ defaults: false });
  if (explain) {
    serverLog.length = 0;
    await runDecay({ pool: explainOnce(pool), queue: boss, ruleset, log: ctx.log, metrics, now: () => now }).catch(
      () => {},
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    console.log(serverLog.join('').replace(/\t/g, '  '));
  }
  const timed = timedPool(pool);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const summary = await runDecay({ pool: timed.pool, queue: boss, ruleset, log: ctx.log, metrics, now: () => now });
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const sqlMs = [...timed.times.values()].flat().reduce((a, b) => a + b, 0);
  console.log(
    `decay: ${summary.leads} leads, ${summary.chunks} chunks, ${summary.changes} changes in ${Math.round(wall)} ms ` +
      `(${Math.round(summary.leads / (wall / 1000))} leads/s); SQL ${Math.round(sqlMs)} ms, JS ${Math.round(wall - sqlMs)} ms; ` +
      `Node CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms`,
  );
  timed.print();
  await boss.stop({ graceful: false, close: true });
  await pool.end();
  ctx.log.flush();
} finally {
  await bench.close();
}
