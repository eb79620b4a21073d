import { SLA_QUEUE } from '../app/queues.ts';
import { runSlaSweep } from '../app/scheduled/sla.ts';
import { defineScheduledJob } from './job.ts';

/** The `sla-sweep` job: one sweep per scheduled minute (node-cron + job_slots enqueue it). */
export const slaSweepJob = defineScheduledJob({
  name: SLA_QUEUE,
  queue: { retryLimit: 2, retryDelay: 30, expireInSeconds: 600 },
  run: async (ctx) => {
    const summary = await runSlaSweep(ctx);
    for (const step of ['reminded', 'escalated', 'reassigned', 'unsnoozed'] as const) {
      if (summary[step] > 0) ctx.metrics.slaSteps.inc({ step }, summary[step]);
    }
    return summary;
  },
  logAs: 'sla sweep',
  // Every minute: only sweeps that moved an alert are worth a line.
  worthLogging: (summary) => summary.alerts > 0,
});
