import type { Queue, WorkOptions } from 'pg-boss';
import type { z } from 'zod';
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

/** Declares a job with its payload type inferred from the schema. */
export function defineJob<P>(definition: JobDefinition<P>): JobDefinition<P> {
  return definition;
}
