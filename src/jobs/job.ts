import type { Queue, WorkOptions } from 'pg-boss';
import type { z } from 'zod';
import type { Pool } from '../db/pool.ts';
import type { Ruleset } from '../engine/ruleset.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Boss } from './boss.ts';

/** What every job handler gets: the database, the queue, the active ruleset, a logger and the clock. */
export interface JobContext {
  pool: Pool;
  boss: Boss;
  ruleset: Ruleset;
  log: Logger;
  metrics: Metrics;
  now: () => Date;
  /** True when OpenAI is configured: processing then queues free text for classification. */
  classifyText?: boolean;
}

export interface JobInput<P> {
  id: string;
  data: P;
}

/**
 * One background job: its queue name, the zod schema its payload must satisfy (checked again when it
 * runs, since a payload may outlive a deploy), queue and worker options, and the handler.
 */
export interface JobDefinition<P> {
  name: string;
  payload: z.ZodType<P>;
  queue: Omit<Queue, 'name'>;
  work: WorkOptions;
  handler: (jobs: JobInput<P>[], ctx: JobContext) => Promise<void>;
}

/** Declares a job with its payload type inferred from the schema. */
export function defineJob<P>(definition: JobDefinition<P>): JobDefinition<P> {
  return definition;
}
