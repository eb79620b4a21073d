import { z } from 'zod';
import type { SlackApi } from '../clients/slack-api.ts';
import { SLACK_DELIVERY_QUEUE } from '../slack/outbox/kick.ts';
import { type DeliveryRunOptions, runDelivery } from '../slack/outbox/run.ts';
import { defineJob, type JobDefinition } from './job.ts';

/**
 * The `slack-delivery` job: each wake-up runs the dispatcher (`runDelivery`) with this process's
 * Slack client.
 *
 * @example
 * const slackDeliveryJob = createSlackDeliveryJob(createSlackApi({ baseUrl, token }), { stopping });
 */
export function createSlackDeliveryJob(
  slack: SlackApi,
  options: DeliveryRunOptions = {},
): JobDefinition<{ slot?: string | undefined }> {
  return defineJob({
    name: SLACK_DELIVERY_QUEUE,
    // Wake-ups carry nothing; `slot` is the minute backstop's (enqueueSlot, see runtime/worker.ts).
    payload: z.object({ slot: z.string().optional() }),
    queue: {
      policy: 'stately',
      notify: true,
      retryLimit: 10,
      retryDelay: 5,
      retryBackoff: true,
      retryDelayMax: 120,
      expireInSeconds: 300,
    },
    work: { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 2, notifyPollingIntervalSeconds: 2 },
    handler: (_jobs, ctx) =>
      runDelivery(
        {
          pool: ctx.pool,
          queue: ctx.queue,
          slack,
          now: ctx.now,
          log: ctx.log,
          onDelivered: (summary) => {
            const counts = { sent: summary.sent, retried: summary.retried, rate_limited: summary.rateLimited, dead: summary.dead };
            for (const [outcome, n] of Object.entries(counts)) if (n > 0) ctx.metrics.slackDeliveries.inc({ outcome }, n);
          },
        },
        options,
      ),
  });
}
