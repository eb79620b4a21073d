import cron from 'node-cron';
import { type Pool, run, withTransaction } from '../db/pool.ts';
import { claimJobSlot } from '../db/sql/job-slots.ts';
import { LeadlineError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { JobQueue } from '../db/job-queue.ts';
import { inTransaction } from '../db/job-queue.ts';

export interface Schedule {
  queue: string;
  cron: string;
  timezone: string;
}

/**
 * Enqueues `queue`'s job for one time slot, at most once across every Leadline process: the slot is
 * claimed in `job_slots` and the job sent in the same transaction.
 *
 * @example
 * await enqueueSlot(pool, ctx.queue, 'decay-scores', '2026-11-23T02:00'); // true, then false for every repeat
 */
export async function enqueueSlot(
  pool: Pool,
  jobs: JobQueue,
  queue: string,
  slot: string,
  data: object = {},
): Promise<boolean> {
  return withTransaction(pool, async (tx) => {
    const claimed = await run(tx, claimJobSlot(queue, slot));
    if (claimed.length === 0) return false;
    await jobs.send(queue, { ...data, slot }, { db: inTransaction(tx) });
    return true;
  });
}

/** Starts node-cron tasks that enqueue each schedule's job once per slot. */
export function startSchedules(
  schedules: readonly Schedule[],
  deps: { pool: Pool; queue: JobQueue; log: Logger },
): { stop(): Promise<void> } {
  const tasks = schedules.map((schedule) => {
    if (!cron.validate(schedule.cron)) {
      throw new LeadlineError(
        'config_invalid',
        `invalid cron expression for ${schedule.queue}: ${schedule.cron}`,
      );
    }
    return cron.schedule(
      schedule.cron,
      async (context) => {
        // The slot is the scheduled minute, identical in every process that fires for it.
        const slot = context.date.toISOString().slice(0, 16);
        try {
          const sent = await enqueueSlot(deps.pool, deps.queue, schedule.queue, slot);
          deps.log.info({ queue: schedule.queue, slot, sent }, 'scheduled slot');
        } catch (err) {
          deps.log.error({ err, queue: schedule.queue, slot }, 'scheduling failed');
        }
      },
      { timezone: schedule.timezone, name: schedule.queue, noOverlap: true },
    );
  });
  return {
    stop: async () => {
      await Promise.all(tasks.map((task) => task.destroy()));
    },
  };
}
