/**
 * Engine: events fully processed per second (identity → score → intent) by the process-events
 * workers of a `worker`-role Leadline, against a database pre-seeded with leads. The backlog is
 * stored before the workers start (and topped up if it runs low), so intake never limits the
 * figure; processed_at progress is sampled once a second over the measuring window.
 */
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import type { BenchContext, Scenario, ScenarioResult } from '../context.ts';
import { type FeedPlan, feedEvents } from '../feed.ts';
import { cpuWindow } from '../machine.ts';
import { seedLeads } from '../seed.ts';
import { round, seconds } from '../stats.ts';
import { BASELINE_BOSS } from './baseline-boss.ts';

const TARGET_EVENTS_PER_SECOND = 2_000;
const TOP_UP = 5_000;

export const ENGINE_FIGURE = 'engine events processed';

function topWaits(waits: Map<string, number>): string {
  const total = [...waits.values()].reduce((sum, n) => sum + n, 0);
  if (total === 0) return 'none';
  return [...waits]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([wait, n]) => `${wait} ${Math.round((100 * n) / total)}%`)
    .join(', ');
}

export const engine: Scenario = {
  name: 'engine',
  title: 'Engine: events/s fully processed against pre-seeded leads',
  run: async (ctx: BenchContext): Promise<ScenarioResult[]> => {
    const { engineLeads, engineWarmupSeconds, engineSeconds } = ctx.sizes;
    const url = await ctx.createDatabase('bench_engine');
    const pool = createPool(url, 4, 'leadline-bench');
    try {
      await migrate(pool);
      const seedClient = new pg.Client({ connectionString: url });
      await seedClient.connect();
      const seedStarted = performance.now();
      const timings = await seedLeads(seedClient, {
        leads: engineLeads,
        scoreRowsPerLead: 3,
        maxAgeDays: 10,
        dueShare: 0,
        signalEvery: 10,
        now: new Date(),
        ruleset: ctx.ruleset,
      }).finally(() => seedClient.end());
      ctx.progress(`engine: seeded ${engineLeads} leads in ${seconds(performance.now() - seedStarted)}`);

      // The backlog is written by a web-role Leadline (no workers), then a worker-role one drains it.
      const plan: FeedPlan = { seed: ctx.seed, tag: 'engine', leadRange: engineLeads, newLeadShare: 0.1 };
      const backlog = Math.ceil(TARGET_EVENTS_PER_SECOND * (engineWarmupSeconds + engineSeconds) * 1.2);
      const web = await ctx.startLeadline({ databaseUrl: url, role: 'web' });
      const feedStarted = performance.now();
      try {
        await feedEvents(web.pool, web.boss, plan, 0, backlog);
      } finally {
        await web.stop();
      }
      const feedSeconds = (performance.now() - feedStarted) / 1000;
      ctx.progress(
        `engine: stored a backlog of ${backlog} events in ${round(feedSeconds)} s; starting workers`,
      );

      let fed = backlog;
      const unprocessed = async () =>
        (
          await pool.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM intake_events WHERE processed_at IS NULL',
          )
        ).rows[0]?.n ?? 0;
      // What the workers' connections wait on, sampled each second: lock waits mean batches
      // serialise on each other instead of using both cores.
      const waits = new Map<string, number>();
      const sampleWaits = async () => {
        const { rows } = await pool.query<{ wait: string; n: number }>(
          `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
               || CASE WHEN wait_event_type = 'Lock' THEN ' (' || left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 40) || ')' ELSE '' END AS wait,
             count(*)::int AS n
           FROM pg_stat_activity
           WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
             AND application_name = 'leadline'
           GROUP BY 1`,
        );
        for (const row of rows) waits.set(row.wait, (waits.get(row.wait) ?? 0) + row.n);
      };
      const worker = await ctx.startLeadline({ databaseUrl: url, role: 'worker' });
      const cpu = await cpuWindow();
      const started = performance.now();
      const samples: { t: number; processed: number }[] = [];
      let drained = false;
      let topUps = 0;
      try {
        const end = started + (engineWarmupSeconds + engineSeconds) * 1000;
        while (performance.now() < end) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const left = await unprocessed();
          await sampleWaits();
          samples.push({ t: (performance.now() - started) / 1000, processed: fed - left });
          if (left === 0) {
            drained = true;
            break;
          }
          // Only reached when the engine outruns the target: keep it busy rather than idle.
          if (left < backlog * 0.3 && topUps < 20) {
            await feedEvents(pool, worker.boss, plan, fed, TOP_UP);
            fed += TOP_UP;
            topUps += 1;
          }
        }
      } finally {
        await worker.stop();
      }
      const usage = await cpu.end();
      const first = samples.find((s) => s.t >= engineWarmupSeconds) ?? samples[0];
      const last = samples.at(-1);
      if (first === undefined || last === undefined || last.t <= first.t) throw new Error('too few samples');
      const figure = (last.processed - first.processed) / (last.t - first.t);
      const perSecond = samples.slice(1).map((s, i) => s.processed - (samples[i]?.processed ?? 0));
      const jobs = await pool.query<{ state: string; n: number }>(
        `SELECT state::text, count(*)::int AS n FROM pgboss.job WHERE name = 'process-events' GROUP BY state`,
      );
      const states = Object.fromEntries(jobs.rows.map((row) => [row.state, row.n]));
      // Routing joined the processing transaction: how many leads it routed shows how much of the
      // window went to first-touch routing (every seeded lead starts unrouted).
      const hasDeals = (await pool.query<{ t: string | null }>(`SELECT to_regclass('deals')::text AS t`))
        .rows[0]?.t;
      const deals = hasDeals
        ? ((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deals')).rows[0]?.n ?? 0)
        : null;
      const baseline = ctx.figure(BASELINE_BOSS);
      const ratio = baseline === undefined ? undefined : figure / baseline;
      ctx.progress(`engine: ${Math.round(figure)} events/s over ${round(last.t - first.t)} s`);
      const failed = (states['failed'] ?? 0) + (states['retry'] ?? 0);
      return [
        {
          name: ENGINE_FIGURE,
          figure,
          unit: 'events/s',
          ...(baseline === undefined ? {} : { baseline }),
          ...(ratio === undefined ? {} : { ratio }),
          target: `≥ ${TARGET_EVENTS_PER_SECOND.toLocaleString('en-US')} events/s`,
          met: figure >= TARGET_EVENTS_PER_SECOND,
          notes:
            `${engineLeads.toLocaleString('en-US')} seeded leads, window ${round(last.t - first.t)} s` +
            `, per-second ${Math.min(...perSecond)}–${Math.max(...perSecond)}` +
            `; Leadline ${Math.round(usage.processCores * 100)}% of a core (${Math.round((usage.processCpuMs * 1000) / Math.max(1, last.processed))} µs CPU/event), machine ${Math.round((usage.machineShare ?? 0) * 100)}% busy` +
            (failed > 0 ? `, ${failed} jobs failed/retrying` : '') +
            (drained ? ', backlog drained (lower bound)' : '') +
            (deals === null ? '' : `; ${deals} deals opened by routing`) +
            `; active worker connections seen in: ${topWaits(waits)}`,
          details: {
            seedMs: timings,
            backlog,
            fed,
            topUps,
            feedSeconds,
            samples,
            jobStates: states,
            drained,
          },
        },
      ];
    } finally {
      await pool.end();
    }
  },
};
