// What the command-line tools share: Leadline's database (DATABASE_URL, else the embedded server in
// the data directory, which must not be running under `npm start` at the same time), migrated, and
// its job queue.
import path from 'node:path';
import type { Config } from '../src/config.ts';
import { type EmbeddedPostgresHandle, ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool, type Pool } from '../src/db/pool.ts';
import { type Boss, startBoss } from '../src/jobs/boss.ts';
import { createQueues } from '../src/jobs/registry.ts';
import type { Logger } from '../src/log.ts';

export interface ToolDatabase {
  pool: Pool;
  boss: Boss;
  close(): Promise<void>;
}

/** Opens (and migrates) the database a tool works on; `close` stops all it started. */
export async function openToolDatabase(config: Config, log: Logger, name: string): Promise<ToolDatabase> {
  let embedded: EmbeddedPostgresHandle | null = null;
  let pool: Pool | null = null;
  let boss: Boss | null = null;
  const close = async () => {
    await boss?.stop({ graceful: false, close: true }).catch(() => {});
    await pool?.end().catch(() => {});
    await embedded?.stop().catch(() => {});
  };
  try {
    let url = config.databaseUrl;
    if (url === undefined) {
      embedded = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'pg') });
      url = await ensureDatabase(embedded.url, 'leadline');
    }
    pool = createPool(url, 4, name);
    await migrate(pool);
    boss = await startBoss(url, log, { max: 2, supervise: false });
    await createQueues(boss);
    return { pool, boss, close };
  } catch (err) {
    await close();
    throw err;
  }
}
