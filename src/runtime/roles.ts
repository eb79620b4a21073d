import type { AppContext } from '../app/context.ts';
import type { Config } from '../config.ts';
import type { Ruleset } from '../engine/ruleset.ts';
import type { Pool } from '../db/pool.ts';
import type { Boss } from '../jobs/boss.ts';
import type { Logger } from '../log.ts';

/** What both roles start from: the database, the queue and the application context on them. */
export interface Started {
  config: Config;
  log: Logger;
  /** Connection string of Leadline's database. */
  url: string;
  pool: Pool;
  boss: Boss;
  ctx: AppContext;
  /** Shutdown steps, run first to last: a role adds its own in front (`unshift`). */
  cleanups: (() => Promise<void>)[];
  /** Told when another ruleset version takes over (`ctx.ruleset` is already the new one). */
  onRulesetChange: ((ruleset: Ruleset) => void | Promise<void>)[];
}
