import type { WorkOptions } from 'pg-boss';
import type { IntentClassifier } from '../clients/openai-intent.ts';
import type { SlackApi } from '../clients/slack-api.ts';
import type { MocoConnection } from '../app/moco/sync.ts';
import { createClassifyTextJob } from './classify-text.ts';
import { createMocoSyncJob } from './moco-sync.ts';
import type { Boss } from './boss.ts';
import { decayJob } from './decay.ts';
import { digestJob } from './digest.ts';
import type { AppContext } from '../app/context.ts';
import { LeadlineError } from '../errors.ts';
import type { JobDefinition, JobInput } from './job.ts';
import { processEventsJob, processUrgentEventsJob } from './process-events.ts';
import { slaSweepJob } from './sla.ts';
import { createSlackDeliveryJob } from './slack-delivery.ts';
import { createUpkeepJob, upkeepJob } from './upkeep.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds jobs of different payload types
type AnyJob = JobDefinition<any>;

// Queues exist whether or not Slack is configured, so outcomes can wait in the outbox; this client
// is never called because the delivery worker only starts with a real one.
const NO_CLASSIFIER: IntentClassifier = {
  classify: () => Promise.reject(new LeadlineError('invariant_broken', 'OpenAI is not configured')),
};
const NO_SLACK: SlackApi = {
  call: () => Promise.reject(new LeadlineError('invariant_broken', 'Slack is not configured')),
  postToResponseUrl: () => Promise.reject(new LeadlineError('invariant_broken', 'Slack is not configured')),
};

/**
 * Every job Leadline runs. Without a Slack client the delivery job is left out: messages wait in
 * the outbox until a process with a token delivers them. `upkeep.auditDays`: how long decisions
 * are kept (default 400).
 */
export function leadlineJobs(
  slack: SlackApi | null,
  classifier: IntentClassifier | null = null,
  stopping?: AbortSignal,
  moco: MocoConnection | null = null,
  upkeep: { auditDays?: number } = {},
): AnyJob[] {
  const jobs: AnyJob[] = [processEventsJob, processUrgentEventsJob, decayJob, createUpkeepJob(upkeep), slaSweepJob, digestJob];
  jobs.push(createMocoSyncJob(moco));
  if (slack !== null) jobs.push(createSlackDeliveryJob(slack, stopping === undefined ? {} : { stopping }));
  if (classifier !== null) jobs.push(createClassifyTextJob(classifier));
  return jobs;
}

/**
 * Creates every queue, so any role can enqueue before a worker ever ran, and brings existing
 * queues' retry and heartbeat settings up to this version's (idempotent).
 */
export async function createQueues(boss: Boss): Promise<void> {
  const existing = new Map((await boss.getQueues()).map((queue) => [queue.name, queue]));
  for (const job of [processEventsJob, processUrgentEventsJob, decayJob, upkeepJob, slaSweepJob, digestJob, createSlackDeliveryJob(NO_SLACK), createClassifyTextJob(NO_CLASSIFIER), createMocoSyncJob(null)]) {
    const queue = existing.get(job.name);
    if (queue === undefined) {
      await boss.createQueue(job.name, job.queue);
    } else if (queue.heartbeatSeconds !== (job.queue.heartbeatSeconds ?? null)) {
      // The policy a queue was created with cannot change; everything else can.
      const { policy: _policy, partition: _partition, ...settings } = job.queue;
      await boss.updateQueue(job.name, settings);
    }
  }
}

/** Starts a worker per queue; each payload is validated again before its handler sees it. */
export async function startWorkers(
  boss: Boss,
  ctx: AppContext,
  jobs: readonly AnyJob[],
  overrides: Record<string, Partial<WorkOptions>> = {},
): Promise<void> {
  for (const job of jobs) {
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
