import type { Queue, WorkOptions } from 'pg-boss';
import { z } from 'zod';
import type { AppContext } from '../app/context.ts';

export interface JobInput<P> {
  id: string;
  data: P;
}

/**
 * One background job: its queue name, the zod schema its payload must satisfy (checked again when it
 * runs, since a payload may outlive a deploy), queue and worker options, and the handler, which
 * calls the application layer.
 */
export interface JobDefinition<P> {
  name: string;
  payload: z.ZodType<P>;
  queue: Omit<Queue, 'name'>;
  work: WorkOptions;
  handler: (jobs: JobInput<P>[], ctx: AppContext) => Promise<void>;
}

/**
 * Every job sends a heartbeat (pg-boss refreshes it while the handler runs); a job whose worker
 * died stops beating and is retried by the next supervise pass, within seconds instead of at
 * its expiry. pg-boss's minimum.
 */
export const JOB_HEARTBEAT_SECONDS = 10;

/**
 * Declares a job with its payload type inferred from the schema, heartbeat included. NOTIFY wakes
 * workers for new jobs only: a retry or a deferred start comes due without one, so the poll that
 * finds it keeps the job's own interval (pg-boss would stretch it to 30 s while NOTIFY is on).
 */
export function defineJob<P>(definition: JobDefinition<P>): JobDefinition<P> {
  const poll = definition.work.pollingIntervalSeconds;
  return {
    ...definition,
    queue: { heartbeatSeconds: JOB_HEARTBEAT_SECONDS, ...definition.queue },
    work: { ...(poll === undefined ? {} : { notifyPollingIntervalSeconds: poll }), ...definition.work },
  };
}

/** What a scheduled job's payload carries: the cron slot that enqueued it (none when run by hand). */
export const slotPayload = z.object({ slot: z.string().min(1).optional() });

/**
 * A job that node-cron enqueues once per slot (through `enqueueSlot`): one run per job, logged with
 * its summary, slot and duration when `worthLogging` says the run did something.
 */
export function defineScheduledJob<S extends object>(definition: {
  name: string;
  queue: Omit<Queue, 'name'>;
  run: (ctx: AppContext, slot: string | undefined) => Promise<S>;
  logAs: string;
  worthLogging?: (summary: S) => boolean;
}): JobDefinition<z.infer<typeof slotPayload>> {
  return defineJob({
    name: definition.name,
    payload: slotPayload,
    queue: definition.queue,
    work: { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 5 },
    handler: async (jobs, ctx) => {
      const started = performance.now();
      const slot = jobs[0]?.data.slot;
      const summary: S = await definition.run(ctx, slot);
      if (definition.worthLogging?.(summary) === false) return;
      const fields: Record<string, unknown> = { ...summary, slot, ms: Math.round(performance.now() - started) };
      ctx.log.info(fields, definition.logAs);
    },
  });
}
