/**
 * Diagnostic (not part of `npm run bench`): a CPU profile of Leadline covering only a measured
 * webhook load (after warm-up), for one role, plus CPU per request.
 *
 *   node --experimental-strip-types bench/tools/profile-ingest.ts [role=web] [perSender=100] [senders=50]
 */
import os from 'node:os';
import path from 'node:path';
import { cpuWindow } from '../machine.ts';
import { createProfiler } from '../profile.ts';
import { webhookLoad } from '../scenarios/ingest.ts';
import { round } from '../stats.ts';
import { openWorkbench } from './workbench.ts';

const role = (process.argv[2] ?? 'web') as 'all' | 'web';
const perSender = Number(process.argv[3] ?? 100);
const senders = Number(process.argv[4] ?? 50);

const bench = await openWorkbench('profile-ingest');
const { ctx } = bench;
try {
  const runtime = await ctx.startLeadline({ databaseUrl: await ctx.createDatabase('profile'), role });
  const url = runtime.url ?? '';
  const shape = { concurrency: senders, perWorker: 30, maxSeconds: 60, leadRange: 5_000 };
  await webhookLoad(ctx, url, 'warm', shape).done;
  const profiler = await createProfiler(path.join(os.tmpdir(), 'leadline-profiles'));
  await profiler.start();
  const cpu = await cpuWindow();
  const result = await webhookLoad(ctx, url, 'measured', { ...shape, perWorker: perSender }).done;
  const usage = await cpu.end();
  const file = await profiler.stop(`ingest-${role}-${Date.now()}`);
  console.log(
    `${role}: ${Math.round(result.okPerSecond)} accepted/s, p50 ${round(result.latency.p50)} ms, p99 ${round(result.latency.p99)} ms, ` +
      `failures ${result.failures}; Leadline ${Math.round(usage.processCores * 100)}% of a core, ` +
      `${Math.round((usage.processCpuMs * 1000) / result.sent)} µs CPU/request; machine ${Math.round((usage.machineShare ?? 0) * 100)}%; ` +
      `generator ${Math.round(result.generatorCpu * 100)}%`,
  );
  console.log(`profile: ${file}`);
  await runtime.stop();
  ctx.log.flush();
} finally {
  await bench.close();
}
