/**
 * Baseline (a): what this machine's PostgreSQL does with no Leadline code in the way — single-row
 * INSERTs into a copy of intake_events, each its own autocommitted transaction, from 20 connections.
 * Ingest is compared to it: group commit should beat one-fsync-per-request.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import type { BenchContext, Scenario, ScenarioResult } from '../context.ts';
import { wireEvent } from '../dataset.ts';
import { mulberry32 } from '../rng.ts';
import { round, summarize } from '../stats.ts';

const CONNECTIONS = 20;
const MAX_ROWS_PER_CONNECTION = 1_000_000;

export const BASELINE_INSERT = 'baseline (a) raw INSERT commits';

export const baselineInsert: Scenario = {
  name: 'baseline-insert',
  title: 'Baseline (a): raw single-row INSERT commits/s, 20 connections',
  run: async (ctx: BenchContext): Promise<ScenarioResult[]> => {
    const url = await ctx.createDatabase('bench_baseline_insert');
    const pool = createPool(url, 2, 'leadline-bench');
    await migrate(pool);
    await pool.query('CREATE TABLE bench_scratch (LIKE intake_events INCLUDING ALL)');
    await pool.end();

    const rng = mulberry32(ctx.seed);
    const now = new Date();
    // Same payload size as a webhook body: the baseline writes what ingest writes.
    const sample = JSON.stringify(wireEvent(rng, 'evt_sample', 1, now, 0));
    const clients = await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        const client = new pg.Client({ connectionString: url, application_name: 'leadline-bench' });
        await client.connect();
        return client;
      }),
    );
    const latencies: number[] = [];
    let commits = 0;
    const started = performance.now();
    const deadline = started + ctx.sizes.insertSeconds * 1000;
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < MAX_ROWS_PER_CONNECTION && performance.now() < deadline; i++) {
          const t0 = performance.now();
          await client.query(
            `INSERT INTO bench_scratch (id, source, external_id, scheme, received_at, payload, event, event_type, occurred_at)
             VALUES ($1, 'website', $2, 'standard', now(), $3, $3, 'page.viewed', now())`,
            [randomUUID(), `base-${c}-${i}`, sample],
          );
          latencies.push(performance.now() - t0);
          commits += 1;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    await Promise.all(clients.map((client) => client.end()));
    const latency = summarize(latencies);
    const figure = commits / elapsed;
    ctx.progress(`baseline insert: ${Math.round(figure)} commits/s, p99 ${round(latency.p99)} ms`);
    return [
      {
        name: BASELINE_INSERT,
        figure,
        unit: 'commits/s',
        target: 'reference',
        met: null,
        notes: `p50 ${round(latency.p50)} ms, p99 ${round(latency.p99)} ms, ${commits} rows in ${round(elapsed)} s`,
        details: { commits, seconds: elapsed, latency },
      },
    ];
  },
};
