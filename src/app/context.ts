import type { JobQueue } from '../db/job-queue.ts';
import type { Pool } from '../db/pool.ts';
import type { Ruleset } from '../engine/ruleset.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

/** What every use case gets: the database, the queue, the active ruleset, a logger, metrics and the clock. */
export interface AppContext {
  pool: Pool;
  queue: JobQueue;
  ruleset: Ruleset;
  log: Logger;
  metrics: Metrics;
  now: () => Date;
  /** True when OpenAI is configured: processing then queues free text for classification. */
  classifyText?: boolean;
}
