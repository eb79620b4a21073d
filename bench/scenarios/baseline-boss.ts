/**
 * Baseline (c): bare pg-boss throughput on this machine — jobs inserted like intake inserts them,
 * then fetched and completed by a no-op worker with the same queue and work options as
 * process-events. The engine's events/s is compared to it: the queue's own cost is its ceiling.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.ts';
import { startBoss } from '../../src/jobs/boss.ts';
import { processEventsJob } from '../../src/jobs/process-events.ts';
import { type BenchContext, type Scenario, type ScenarioResult, tuningEnv } from '../context.ts';
import { round } from '../stats.ts';

const QUEUE = 'bench-baseline';
const INSERT_BATCH = 500;
const MAX_WORK_SECONDS = 120;

export const BASELINE_BOSS = 'baseline (c) bare pg-boss send→work';

export const baselineBoss: Scenario = {
  name: 'baseline-boss',
  title: 'Baseline (c): bare pg-boss insert → work throughput',
  run: async (ctx: BenchContext): Promise<ScenarioResult[]> => {
    const url = await ctx.createDatabase('bench_baseline_boss');
    const config = loadConfig(tuningEnv());
    // Same pool size and options as the runtime gives pg-boss.
    const boss = await startBoss(url, ctx.log, { max: Math.max(4, Math.ceil(config.dbPoolMax / 2)) });
    try {
      await boss.createQueue(QUEUE, processEventsJob.queue);
      const total = ctx.sizes.bossJobs;
      const insertStarted = performance.now();
      for (let sent = 0; sent < total; sent += INSERT_BATCH) {
        const jobs = Array.from({ length: Math.min(INSERT_BATCH, total - sent) }, () => {
          const id = randomUUID();
          return { id, data: { eventId: id } };
        });
        await boss.insert(QUEUE, jobs);
      }
      const insertSeconds = (performance.now() - insertStarted) / 1000;

      let done = 0;
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const workStarted = performance.now();
      await boss.work<{ eventId: string }>(
        QUEUE,
        {
          ...processEventsJob.work,
          batchSize: config.workerBatch,
          localConcurrency: config.workerConcurrency,
        },
        async (jobs) => {
          done += jobs.length;
          if (done >= total) finish();
        },
      );
      const timer = setTimeout(finish, MAX_WORK_SECONDS * 1000);
      await finished;
      clearTimeout(timer);
      const workSeconds = (performance.now() - workStarted) / 1000;
      const figure = done / workSeconds;
      ctx.progress(
        `baseline pg-boss: ${Math.round(figure)} jobs/s worked, ${Math.round(total / insertSeconds)} inserted/s`,
      );
      return [
        {
          name: BASELINE_BOSS,
          figure,
          unit: 'jobs/s',
          target: 'reference',
          met: null,
          notes: `${done}/${total} jobs in ${round(workSeconds)} s (batchSize ${config.workerBatch}, concurrency ${config.workerConcurrency}); insert ${Math.round(total / insertSeconds)} jobs/s`,
          details: { total, done, workSeconds, insertSeconds },
        },
      ];
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  },
};
