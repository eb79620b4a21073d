import type { WorkOptions } from 'pg-boss';
import type { Boss } from './boss.ts';
import { decayJob } from './decay.ts';
import type { JobContext, JobDefinition, JobInput } from './job.ts';
import { processEventsJob } from './process-events.ts';

/** Every queue Leadline runs. Producers and workers both start from this list. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds jobs of different payload types
export const JOBS: readonly JobDefinition<any>[] = [processEventsJob, decayJob];

/** Creates every queue (idempotent), so any role can enqueue before a worker ever ran. */
export async function createQueues(boss: Boss): Promise<void> {
  const existing = new Set((await boss.getQueues()).map((queue) => queue.name));
  for (const job of JOBS) {
    if (!existing.has(job.name)) await boss.createQueue(job.name, job.queue);
  }
}

/** Starts a worker per queue; each payload is validated again before its handler sees it. */
export async function startWorkers(
  boss: Boss,
  ctx: JobContext,
  overrides: Record<string, Partial<WorkOptions>> = {},
): Promise<void> {
  for (const job of JOBS) {
    await boss.work<unknown>(job.name, { ...job.work, ...overrides[job.name] }, async (jobs) => {
      const valid: JobInput<unknown>[] = [];
      for (const raw of jobs) {
        const parsed = job.payload.safeParse(raw.data);
        if (parsed.success) valid.push({ id: raw.id, data: parsed.data });
        else
          ctx.log.error(
            { job: job.name, jobId: raw.id, issues: parsed.error.issues },
            'job payload rejected',
          );
      }
      if (valid.length === 0) return;
      const stopTimer = ctx.metrics.jobSeconds.startTimer({ job: job.name });
      try {
        await job.handler(valid, ctx);
      } finally {
        stopTimer();
      }
    });
  }
}
