import { z } from 'zod';
import { classifyEvent } from '../app/processing/classify-text.ts';
import { CLASSIFY_QUEUE } from '../app/queues.ts';
import type { IntentClassifier } from '../clients/openai-intent.ts';
import { defineJob, type JobDefinition } from './job.ts';

/**
 * The classify-text job for a configured classifier. Jobs run one at a time per worker slot so a
 * transient failure retries only its own event.
 *
 * @example
 * const job = createClassifyTextJob(createIntentClassifier({ apiKey, baseUrl, model, timeoutMs }));
 * // add job to leadlineJobs in src/jobs/registry.ts
 */
export function createClassifyTextJob(classifier: IntentClassifier): JobDefinition<{ eventId: string }> {
  return defineJob({
    name: CLASSIFY_QUEUE,
    payload: z.object({ eventId: z.uuid() }),
    // Backoff from 30 s up to 10 min over 5 tries covers a rate-limit window or a short outage.
    queue: { retryLimit: 5, retryDelay: 30, retryBackoff: true, retryDelayMax: 600, expireInSeconds: 300 },
    work: { batchSize: 1, localConcurrency: 2, pollingIntervalSeconds: 5 },
    handler: async (jobs, ctx) => {
      for (const job of jobs) {
        const outcome = await classifyEvent(classifier, job.data.eventId, ctx);
        if (outcome.status === 'classified') {
          // Intent and confidence only: the model's reason may quote the lead's text.
          ctx.log.info(
            { eventId: job.data.eventId, intent: outcome.intent, confidence: outcome.confidence },
            'free text classified',
          );
        } else {
          ctx.log.debug({ eventId: job.data.eventId, status: outcome.status }, 'free text not classified');
        }
      }
    },
  });
}
