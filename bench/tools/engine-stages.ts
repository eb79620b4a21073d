/**
 * Diagnostic (not part of `npm run bench`): seeds leads, stores a backlog, then runs Leadline's
 * processEvents over it in batches (as the worker would, one batch at a time) and reports how each
 * batch's time splits between SQL statements (by kind) and JavaScript.
 *
 *   node --experimental-strip-types bench/tools/engine-stages.ts [leads=100000] [events=10000] [batch=200] [explain]
 *
 * With `explain`, one more batch runs with auto_explain on (ANALYZE, BUFFERS, triggers) and the
 * plans PostgreSQL logs are printed: foreign-key trigger time shows up there.
 */
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { processEvents } from '../../src/app/processing/process-events.ts';
import { createMetrics } from '../../src/metrics.ts';
import { feedEvents } from '../feed.ts';
import { seedLeads } from '../seed.ts';
import { round } from '../stats.ts';
import { timedPool } from './timed-pool.ts';
import { openWorkbench } from './workbench.ts';

const leads = Number(process.argv[2] ?? 100_000);
const events = Number(process.argv[3] ?? 10_000);
const batch = Number(process.argv[4] ?? 200);
const explain = process.argv[5] === 'explain';
const serverLog: string[] = [];

const bench = await openWorkbench('engine-stages', (line) => {
  if (explain) serverLog.push(line);
});
const { ctx, ruleset } = bench;
try {
  const url = await ctx.createDatabase('engine_stages');
  const seedClient = new pg.Client({ connectionString: url });
  await seedClient.connect();
  const migrator = new pg.Pool({ connectionString: url, max: 1 });
  await migrate(migrator);
  await migrator.end();
  await seedLeads(seedClient, {
    leads,
    scoreRowsPerLead: 3,
    maxAgeDays: 10,
    dueShare: 0,
    signalEvery: 10,
    now: new Date(),
    ruleset,
  });
  await seedClient.end();
  const runtime = await ctx.startLeadline({ databaseUrl: url, role: 'web' });
  await feedEvents(
    runtime.pool,
    runtime.boss,
    { seed: 1, tag: 'stage', leadRange: leads, newLeadShare: 0.1 },
    0,
    events,
  );
  const ids = (
    await runtime.pool.query<{ id: string }>('SELECT id FROM intake_events ORDER BY received_at, id')
  ).rows.map((row) => row.id);
  const timed = timedPool(runtime.pool);
  const jobContext = {
    pool: timed.pool,
    queue: runtime.boss,
    ruleset,
    log: ctx.log,
    metrics: createMetrics({ defaults: false }),
    now: () => new Date(),
  };
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < ids.length; i += batch) await processEvents(ids.slice(i, i + batch), jobContext);
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const sqlMs = [...timed.times.values()].flat().reduce((a, b) => a + b, 0);
  console.log(
    `${ids.length} events in batches of ${batch}, one at a time: ${Math.round(ids.length / (wall / 1000))} events/s; ` +
      `wall ${Math.round(wall)} ms = SQL round trips ${Math.round(sqlMs)} ms + JS ${Math.round(wall - sqlMs)} ms; ` +
      `Node CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms (${round((cpu.user + cpu.system) / ids.length, 0)} µs/event)`,
  );
  timed.print();
  if (explain) {
    await feedEvents(
      runtime.pool,
      runtime.boss,
      { seed: 2, tag: 'explain', leadRange: leads, newLeadShare: 0.1 },
      0,
      batch,
    );
    const fresh = (
      await runtime.pool.query<{ id: string }>('SELECT id FROM intake_events WHERE processed_at IS NULL')
    ).rows.map((row) => row.id);
    serverLog.length = 0;
    const explaining = new Proxy(runtime.pool, {
      get(target, property) {
        if (property !== 'connect') {
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return async () => {
          const client = await target.connect();
          await client.query(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; " +
              'SET auto_explain.log_buffers = on; SET auto_explain.log_triggers = on; SET auto_explain.log_parameter_max_length = 0',
          );
          return client;
        };
      },
    });
    await processEvents(fresh, { ...jobContext, pool: explaining });
    await new Promise((resolve) => setTimeout(resolve, 500));
    console.log(serverLog.join('').replace(/\t/g, '  '));
  }
  await runtime.stop();
  ctx.log.flush();
} finally {
  await bench.close();
}
