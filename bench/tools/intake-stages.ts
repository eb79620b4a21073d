/**
 * Diagnostic (not part of `npm run bench`): drives Leadline's IntakeWriter directly with N
 * concurrent single-event writers, no HTTP, and reports where each group commit spends its time
 * (one statement per commit; BEGIN, intake INSERT, pg-boss insert, COMMIT on the stepwise path)
 * and how many requests each commit carried.
 *
 *   node --experimental-strip-types bench/tools/intake-stages.ts [concurrency=50] [seconds=5] [maxInFlight=2] [minRowsForParallel=32]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { databaseUrl, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import { startBoss } from '../../src/jobs/boss.ts';
import { IntakeWriter } from '../../src/app/intake/intake-writer.ts';
import { createQueues } from '../../src/jobs/registry.ts';
import { createLogger } from '../../src/log.ts';
import { intakeItems } from '../feed.ts';
import { round, summarize } from '../stats.ts';

const concurrency = Number(process.argv[2] ?? 50);
const runSeconds = Number(process.argv[3] ?? 5);
const maxInFlight = Number(process.argv[4] ?? 2);
const minRowsForParallel = Number(process.argv[5] ?? 32);

const dir = await mkdtemp(path.join(os.tmpdir(), 'leadline-intake-stages-'));
const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg') });
try {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE DATABASE stages');
  await admin.end();
  const url = databaseUrl(server.url, 'stages');
  const pool = createPool(url, 20);
  await migrate(pool);
  const boss = await startBoss(url, createLogger('silent'), { max: 10 });
  await createQueues(boss);

  const stages = new Map<string, number[]>();
  const batchRows: number[] = [];
  const kindOf = (text: string) =>
    text.startsWith('WITH input')
      ? 'intake commit'
      : text.startsWith('BEGIN')
      ? 'BEGIN'
      : text.startsWith('COMMIT')
        ? 'COMMIT'
        : text.includes('intake_events')
          ? 'intake INSERT'
          : text.includes('pgboss')
            ? 'pg-boss insert'
            : 'other';
  const record = (text: string, values: unknown[] | undefined, ms: number) => {
    const kind = kindOf(text);
    const list = stages.get(kind) ?? [];
    list.push(ms);
    stages.set(kind, list);
    if (kind.startsWith('intake') && Array.isArray(values?.[0])) batchRows.push(values[0].length);
  };
  // Times every statement of the writer: one-statement commits through pool.query, stepwise
  // transactions through pool.connect().
  const timedPool = new Proxy(pool, {
    get(target, property) {
      if (property === 'query') {
        return async (config: { text: string; values?: unknown[] }) => {
          const t0 = performance.now();
          try {
            return await target.query(config);
          } finally {
            record(config.text, config.values, performance.now() - t0);
          }
        };
      }
      if (property !== 'connect') {
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async () => {
        const client = await target.connect();
        const original = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<unknown>;
        const wrapped = async (text: string, values?: unknown[]) => {
          const t0 = performance.now();
          try {
            return await original(text, values);
          } finally {
            record(text, values, performance.now() - t0);
          }
        };
        const release = client.release.bind(client);
        Object.assign(client, {
          query: wrapped,
          release: (err?: boolean | Error) => {
            Object.assign(client, { query: original });
            release(err);
          },
        });
        return client;
      };
    },
  });
  const writer = new IntakeWriter(timedPool, boss, { maxInFlight, minRowsForParallel });
  const latencies: number[] = [];
  let next = 0;
  const deadline = performance.now() + runSeconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const items = intakeItems(
          { seed: 1, tag: 'stage', leadRange: 1000, newLeadShare: 0.1 },
          next++,
          1,
          new Date(),
        );
        const t0 = performance.now();
        await writer.write(items);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const l = summarize(latencies);
  console.log(
    `concurrency ${concurrency}, maxInFlight ${maxInFlight}, minRowsForParallel ${minRowsForParallel}: ${Math.round(latencies.length / elapsed)} writes/s, p50 ${round(l.p50)} ms, p99 ${round(l.p99)} ms`,
  );
  console.log(
    `commits ${batchRows.length}, rows per commit p50 ${summarize(batchRows).p50}, mean ${round(summarize(batchRows).mean)}`,
  );
  for (const [kind, list] of stages) {
    const s = summarize(list);
    console.log(
      `  ${kind.padEnd(16)} n=${list.length} p50 ${round(s.p50, 2)} ms  p99 ${round(s.p99, 2)} ms  mean ${round(s.mean, 2)} ms`,
    );
  }
  await boss.stop({ graceful: false, close: true });
  await pool.end();
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
