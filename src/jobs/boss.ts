import { PgBoss } from 'pg-boss';
import type { Logger } from '../log.ts';

export type Boss = PgBoss;

export const SUPERVISE_INTERVAL_SECONDS = 5;
// The pass that fails jobs whose heartbeat stopped: every 2 s, so a dead worker's batch is retried
// within heartbeat (10 s, pg-boss's minimum) + 2 s. It is one indexed update per pass.
export const MONITOR_INTERVAL_SECONDS = 2;

/**
 * Starts pg-boss on Leadline's database with LISTEN/NOTIFY wake-up, so a worker starts on a new
 * job within milliseconds instead of waiting for its next poll (polling stays on as a backstop).
 */
export async function startBoss(
  connectionString: string,
  log: Logger,
  options: { max?: number; supervise?: boolean; schedule?: boolean } = {},
): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString,
    max: options.max ?? 10,
    application_name: 'leadline-jobs',
    useListenNotify: true,
    supervise: options.supervise ?? true,
    // How soon a job whose worker died (its heartbeat stopped, see JOB_HEARTBEAT_SECONDS) is
    // failed and retried: within heartbeat + this, not at the job's expiry.
    superviseIntervalSeconds: SUPERVISE_INTERVAL_SECONDS,
    // The monitor pass is the one that fails jobs with a lost heartbeat (and expired ones).
    monitorIntervalSeconds: MONITOR_INTERVAL_SECONDS,
    // Leadline schedules with node-cron and its own slot table; pg-boss's cron stays off.
    schedule: options.schedule ?? false,
    migrate: true,
  });
  boss.on('error', (err) => log.error({ err }, 'job queue error'));
  boss.on('warning', (warning) => log.warn({ warning }, 'job queue warning'));
  await boss.start();
  return boss;
}
