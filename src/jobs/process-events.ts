import { z } from 'zod';
import type { AppContext } from '../app/context.ts';
import { processIsolatingPoison } from '../app/processing/poison.ts';
import { PROCESS_EVENTS_QUEUE, PROCESS_URGENT_EVENTS_QUEUE } from '../app/queues.ts';
import { defineJob } from './job.ts';

const eventJobPayload = z.object({ eventId: z.uuid() });
const eventJobQueue = { retryLimit: 10, retryDelay: 1, retryBackoff: true, retryDelayMax: 300, notify: true };

async function processEventJobs(
  jobs: readonly { data: { eventId: string } }[],
  ctx: AppContext,
  deferBusyLeads: boolean,
): Promise<void> {
  const summary = await processIsolatingPoison(
    jobs.map((job) => job.data.eventId),
    ctx,
    { deferBusyLeads },
  );
  ctx.metrics.eventsProcessed.inc(summary.events);
  ctx.metrics.leadsCreated.inc(summary.created);
  if (summary.events > 0) ctx.log.debug({ ...summary }, 'events processed');
}

export const processEventsJob = defineJob({
  name: PROCESS_EVENTS_QUEUE,
  payload: eventJobPayload,
  queue: eventJobQueue,
  work: { batchSize: 200, localConcurrency: 4, pollingIntervalSeconds: 2, burstWhenBatchFull: true },
  handler: (jobs, ctx) => processEventJobs(jobs, ctx, true),
});

/**
 * The urgent lane: events intake judged able to alert a rep on their own. Small batches and a
 * worker of their own keep a demo request from waiting behind a large batch of ordinary events.
 */
export const processUrgentEventsJob = defineJob({
  name: PROCESS_URGENT_EVENTS_QUEUE,
  payload: eventJobPayload,
  queue: eventJobQueue,
  work: { batchSize: 20, localConcurrency: 1, pollingIntervalSeconds: 2 },
  // Waits for a busy lead rather than handing its event back: this lane exists to be quick.
  handler: (jobs, ctx) => processEventJobs(jobs, ctx, false),
});
