/**
 * Baseline (b): a bare Hono POST handler (JSON echo) on @hono/node-server, served the way Leadline
 * serves (createServer + getRequestListener), hit by the same load generator and concurrency as
 * ingest. It bounds what any HTTP endpoint on this machine can do.
 */
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { BenchContext, Scenario, ScenarioResult } from '../context.ts';
import { startLoad } from '../load.ts';
import { cpuWindow } from '../machine.ts';
import { round } from '../stats.ts';

export const BASELINE_HTTP = 'baseline (b) bare Hono POST';

export const baselineHttp: Scenario = {
  name: 'baseline-http',
  title: 'Baseline (b): bare Hono JSON echo, requests/s over loopback',
  run: async (ctx: BenchContext): Promise<ScenarioResult[]> => {
    const app = new Hono();
    app.post('/echo', async (c) => c.json(await c.req.json()));
    const server = createServer(getRequestListener(app.fetch));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const load = (perWorker: number) =>
      startLoad({
        baseUrl: `http://127.0.0.1:${port}`,
        plan: { kind: 'echo', path: '/echo', seed: ctx.seed },
        concurrency: ctx.sizes.senders,
        perWorker,
        maxSeconds: 60,
        expectStatus: [200],
      }).done;
    try {
      // Warm-up as for ingest: JIT and keep-alive sockets first, then the measured run.
      await load(20);
      const cpu = await cpuWindow();
      const result = await load(ctx.sizes.requestsPerSender);
      const usage = await cpu.end();
      if (result.failures > 0) throw new Error(`echo failures: ${result.firstFailure}`);
      ctx.progress(
        `baseline http: ${Math.round(result.okPerSecond)} req/s, p99 ${round(result.latency.p99)} ms`,
      );
      return [
        {
          name: BASELINE_HTTP,
          figure: result.okPerSecond,
          unit: 'req/s',
          target: 'reference',
          met: null,
          notes:
            `p50 ${round(result.latency.p50)} ms, p99 ${round(result.latency.p99)} ms, ${result.ok} requests; ` +
            `server ${Math.round(usage.processCores * 100)}% of a core (${Math.round((usage.processCpuMs * 1000) / result.sent)} µs/request), ` +
            `load generator ${Math.round(result.generatorCpu * 100)}%, machine ${Math.round((usage.machineShare ?? 0) * 100)}%`,
          details: { ...result, cpu: usage },
        },
      ];
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  },
};
