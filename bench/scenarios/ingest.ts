/**
 * Ingest: signed Standard Webhooks deliveries POSTed to a running Leadline over loopback, 50
 * concurrent senders, one event per request, unique ids. Every 202 is sent only after the commit
 * holding the row and its job, so accepted/s is durable throughput. Measured twice: role `all`
 * (workers process the same events meanwhile, as a single-process install runs) and role `web`.
 */
import type { Pool } from '../../src/db/pool.ts';
import type { BenchContext, Scenario, ScenarioResult } from '../context.ts';
import { type LoadResult, startLoad } from '../load.ts';
import { cpuWindow } from '../machine.ts';
import { round } from '../stats.ts';
import { BASELINE_HTTP } from './baseline-http.ts';
import { BASELINE_INSERT } from './baseline-insert.ts';

const TARGET_RATIO = 1.5;
const TARGET_P99_MS = 25;

async function commitCount(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    'SELECT xact_commit::int AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return rows[0]?.n ?? 0;
}

export const ingestFigure = (role: string) => `ingest (${role}) accepted`;

/** Runs the closed-loop webhook load against `baseUrl`; shared with the decay scenario's probes. */
export function webhookLoad(
  ctx: BenchContext,
  baseUrl: string,
  tag: string,
  shape: {
    concurrency: number;
    perWorker: number;
    maxSeconds: number;
    ratePerSecond?: number;
    leadRange: number;
  },
) {
  return startLoad({
    baseUrl,
    plan: {
      kind: 'webhook',
      path: '/webhooks/website',
      seed: ctx.seed,
      secret: ctx.secret,
      tag,
      leadRange: shape.leadRange,
      newLeadShare: 0.1,
    },
    concurrency: shape.concurrency,
    perWorker: shape.perWorker,
    maxSeconds: shape.maxSeconds,
    ...(shape.ratePerSecond === undefined ? {} : { ratePerSecond: shape.ratePerSecond }),
    expectStatus: [202],
  });
}

async function measureRole(ctx: BenchContext, role: 'all' | 'web'): Promise<ScenarioResult[]> {
  const url = await ctx.createDatabase(`bench_ingest_${role}`);
  const runtime = await ctx.startLeadline({ databaseUrl: url, role });
  try {
    const baseUrl = runtime.url;
    if (baseUrl === null) throw new Error('Leadline serves no HTTP in this role');
    const { senders, requestsPerSender } = ctx.sizes;
    // Warm-up: JIT, connection pools and keep-alive sockets, not measured.
    await webhookLoad(ctx, baseUrl, `warm-${role}`, {
      concurrency: senders,
      perWorker: 20,
      maxSeconds: 30,
      leadRange: 5_000,
    }).done;
    const tag = `ingest-${role}`;
    const commitsBefore = await commitCount(runtime.pool);
    const cpu = await cpuWindow();
    const result: LoadResult = await webhookLoad(ctx, baseUrl, tag, {
      concurrency: senders,
      perWorker: requestsPerSender,
      maxSeconds: 120,
      leadRange: 5_000,
    }).done;
    const usage = await cpu.end();
    // Statistics reach pg_stat_database within a second of each commit.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const commits = (await commitCount(runtime.pool)) - commitsBefore;
    if (result.failures > 0) {
      throw new Error(`${result.failures} deliveries not accepted; first: ${result.firstFailure}`);
    }
    const stored = await runtime.pool.query<{ rows: number; unprocessed: number }>(
      `SELECT count(*)::int AS rows, count(*) FILTER (WHERE processed_at IS NULL)::int AS unprocessed
       FROM intake_events WHERE external_id LIKE $1`,
      [`${tag}-%`],
    );
    const { rows, unprocessed } = stored.rows[0] ?? { rows: 0, unprocessed: 0 };
    if (rows !== result.ok) throw new Error(`${result.ok} accepted but ${rows} intake rows stored`);
    const baseline = ctx.figure(BASELINE_INSERT);
    const ratio = baseline === undefined ? undefined : result.okPerSecond / baseline;
    const { p50, p95, p99 } = result.latency;
    ctx.progress(
      `ingest (${role}): ${Math.round(result.okPerSecond)} accepted/s, p50 ${round(p50)} ms, p99 ${round(p99)} ms`,
    );
    const httpCeiling = ctx.figure(BASELINE_HTTP);
    const workerNote =
      role === 'all' ? `; workers left ${unprocessed} of ${rows} unprocessed at the end` : '';
    return [
      {
        name: ingestFigure(role),
        figure: result.okPerSecond,
        unit: 'accepted/s',
        ...(baseline === undefined ? {} : { baseline }),
        ...(ratio === undefined ? {} : { ratio }),
        target: `≥ ${TARGET_RATIO}× baseline (a)`,
        met: ratio === undefined ? null : ratio >= TARGET_RATIO,
        notes:
          `${result.ok} deliveries, ${senders} senders; Leadline process ${Math.round(usage.processCores * 100)}% of a core` +
          ` (${Math.round((usage.processCpuMs * 1000) / result.sent)} µs CPU/request), machine ${Math.round((usage.machineShare ?? 0) * 100)}% busy` +
          `; ${round(result.ok / Math.max(1, commits))} deliveries per database commit` +
          (httpCeiling === undefined ? '' : `; bare-HTTP ceiling (b) ${Math.round(httpCeiling)} req/s`) +
          workerNote,
        details: { ...result, storedRows: rows, unprocessedAtEnd: unprocessed, cpu: usage, commits },
      },
      {
        name: `ingest (${role}) p99`,
        figure: p99,
        unit: 'ms',
        target: `≤ ${TARGET_P99_MS} ms`,
        met: p99 <= TARGET_P99_MS,
        notes: `p50 ${round(p50)} ms, p95 ${round(p95)} ms, max ${round(result.latency.max)} ms`,
      },
    ];
  } finally {
    await runtime.stop();
  }
}

export const ingest: Scenario = {
  name: 'ingest',
  title: 'Ingest: signed webhooks over HTTP, 50 senders (roles all and web)',
  run: async (ctx) => [...(await measureRole(ctx, 'all')), ...(await measureRole(ctx, 'web'))],
};
