/**
 * Decay: the nightly decay job (`runDecay`) over a large seeded database where most leads have
 * points due to expire, timed end to end; meanwhile a paced webhook load measures ingest p99, compared
 * with the same load on the idle system. Seeding is reported separately (it is set-based but big).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { DECAY_CHUNK_SIZE, runDecay } from '../../src/app/scheduled/decay.ts';
import type { AppContext } from '../../src/app/context.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { BenchContext, Scenario, ScenarioResult } from '../context.ts';
import { seedLeads } from '../seed.ts';
import { round, seconds } from '../stats.ts';
import { webhookLoad } from './ingest.ts';

const TARGET_SECONDS = 30;
const TARGET_P99_FACTOR = 2;
const PROBE_CONCURRENCY = 20;

class DecayDeadline extends Error {}

/**
 * The pool runDecay sees: it counts transactions (one per chunk) and refuses new ones after the
 * deadline, which ends an overlong run at its next chunk boundary without touching src.
 */
function boundedPool(pool: Pool, deadline: number, onConnect: () => void): Pool {
  return new Proxy(pool, {
    get(target, property) {
      if (property === 'connect') {
        return () => {
          if (performance.now() > deadline) return Promise.reject(new DecayDeadline('decay time limit'));
          onConnect();
          return target.connect();
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export const decay: Scenario = {
  name: 'decay',
  title: 'Decay: nightly decay over many leads and score rows; ingest p99 meanwhile',
  run: async (ctx: BenchContext): Promise<ScenarioResult[]> => {
    const { decayLeads, decayRowsPerLead, decayIdleSeconds, decayMaxSeconds, decayIngestRate } = ctx.sizes;
    const url = await ctx.createDatabase('bench_decay');
    const admin = createPool(url, 2, 'leadline-bench');
    await migrate(admin);
    const seedClient = new pg.Client({ connectionString: url });
    await seedClient.connect();
    const seedStarted = performance.now();
    ctx.progress(
      `decay: seeding ${decayLeads.toLocaleString('en-US')} leads, ${(decayLeads * decayRowsPerLead).toLocaleString('en-US')} score rows`,
    );
    const timings = await seedLeads(seedClient, {
      leads: decayLeads,
      scoreRowsPerLead: decayRowsPerLead,
      maxAgeDays: 120,
      dueShare: 0.9,
      signalEvery: 10,
      now: new Date(),
      ruleset: ctx.ruleset,
    }).finally(() => seedClient.end());
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    ctx.progress(`decay: seeded in ${round(seedSeconds)} s ${JSON.stringify(timings)}`);

    const runtime = await ctx.startLeadline({ databaseUrl: url, role: 'all' });
    try {
      const baseUrl = runtime.url;
      if (baseUrl === null) throw new Error('no HTTP server');
      const probe = (tag: string, maxSeconds: number) =>
        webhookLoad(ctx, baseUrl, tag, {
          concurrency: PROBE_CONCURRENCY,
          perWorker: Math.ceil((decayIngestRate * maxSeconds) / PROBE_CONCURRENCY) + 1,
          maxSeconds,
          ratePerSecond: decayIngestRate,
          leadRange: decayLeads,
        });
      await probe('decay-warm', 2).done;
      // Decay runs on the same event loop as the webhook route: its blocking shows up here.
      const idleLoop = monitorEventLoopDelay({ resolution: 5 });
      idleLoop.enable();
      const idle = await probe('decay-idle', decayIdleSeconds).done;
      idleLoop.disable();
      if (idle.failures > 0) throw new Error(`idle probe failures: ${idle.firstFailure}`);
      ctx.progress(`decay: idle ingest p99 ${round(idle.latency.p99)} ms at ${decayIngestRate} req/s`);

      const now = new Date();
      const due = await admin.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM leads WHERE score_expires_at <= $1 OR signals_active_until IS NOT NULL',
        [now],
      );
      let chunks = 0;
      const started = performance.now();
      const jobContext: AppContext = {
        pool: boundedPool(runtime.pool, started + decayMaxSeconds * 1000, () => {
          chunks += 1;
        }),
        queue: runtime.boss,
        ruleset: ctx.ruleset,
        log: ctx.log,
        // The runtime keeps its registry to itself; decay's counters land in a throwaway one.
        metrics: createMetrics({ defaults: false }),
        now: () => now,
      };
      const busyLoop = monitorEventLoopDelay({ resolution: 5 });
      busyLoop.enable();
      const during = probe('decay-busy', decayMaxSeconds + 5);
      let summary: Awaited<ReturnType<typeof runDecay>> | null = null;
      try {
        summary = await runDecay(jobContext);
      } catch (err) {
        if (!(err instanceof DecayDeadline)) throw err;
      } finally {
        during.stop();
      }
      const decaySeconds = (performance.now() - started) / 1000;
      busyLoop.disable();
      const busy = await during.done;
      const loopMs = (h: typeof idleLoop) => ({
        p99: h.percentile(99) / 1e6,
        max: h.max / 1e6,
        mean: h.mean / 1e6,
      });
      const loop = { idle: loopMs(idleLoop), busy: loopMs(busyLoop) };
      if (busy.failures > 0) throw new Error(`busy probe failures: ${busy.firstFailure}`);
      const dueLeads = due.rows[0]?.n ?? 0;
      // Aborted runs report how long the whole run would take at the pace they reached.
      const leadsDone = summary?.leads ?? Math.max(0, chunks - 1) * DECAY_CHUNK_SIZE;
      const figure = summary === null ? (decaySeconds * dueLeads) / Math.max(1, leadsDone) : decaySeconds;
      const p99Ratio = busy.latency.p99 / idle.latency.p99;
      ctx.progress(
        summary === null
          ? `decay: stopped after ${seconds(decaySeconds * 1000)} at ~${leadsDone} of ${dueLeads} leads`
          : `decay: ${summary.leads} leads in ${round(decaySeconds)} s; ingest p99 ${round(busy.latency.p99)} ms meanwhile`,
      );
      return [
        {
          name: 'decay seeding',
          figure: seedSeconds,
          unit: 's',
          target: 'reference',
          met: null,
          notes: `${decayLeads.toLocaleString('en-US')} leads, ${(decayLeads * decayRowsPerLead).toLocaleString('en-US')} score rows`,
          details: { timings },
        },
        {
          name: 'decay run',
          figure,
          unit: 's',
          target: `≤ ${TARGET_SECONDS} s`,
          met: summary !== null && figure <= TARGET_SECONDS,
          notes:
            summary === null
              ? `STOPPED at ${round(decaySeconds)} s after ~${leadsDone} of ${dueLeads} due leads; figure extrapolated`
              : `${summary.leads} leads (${dueLeads} due), ${summary.chunks} chunks, ${summary.changes} changes, ${Math.round(summary.leads / decaySeconds)} leads/s`,
          details: { summary, decaySeconds, dueLeads, chunks },
        },
        {
          name: 'ingest p99 during decay',
          figure: busy.latency.p99,
          unit: 'ms',
          baseline: idle.latency.p99,
          ratio: p99Ratio,
          target: `≤ ${TARGET_P99_FACTOR}× idle p99`,
          met: p99Ratio <= TARGET_P99_FACTOR,
          notes:
            `${decayIngestRate} req/s paced; p50 ${round(busy.latency.p50)} vs ${round(idle.latency.p50)} ms idle; ${busy.ok} requests; ` +
            `event-loop delay p99 ${round(loop.busy.p99)} ms (max ${round(loop.busy.max)}) vs ${round(loop.idle.p99)} ms idle`,
          details: { idle, busy, eventLoopDelayMs: loop },
        },
      ];
    } finally {
      await runtime.stop();
      await admin.end();
    }
  },
};
