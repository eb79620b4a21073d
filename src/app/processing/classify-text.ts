import { randomUUID } from 'node:crypto';
import type { ClassifyResult, IntentClassifier } from '../../clients/openai-intent.ts';
import { NO_INTENT } from '../../clients/openai-intent.ts';
import { type Queryable, run, withTransaction } from '../../db/pool.ts';
import { insertInternalEvents } from '../../db/sql/events.ts';
import type { LeadlineEvent, MetadataValue } from '../../engine/event.ts';
import { LeadlineError } from '../../errors.ts';
import type { JobQueue } from '../../db/job-queue.ts';
import { inTransaction } from '../../db/job-queue.ts';
import type { AppContext } from '../context.ts';
import { CLASSIFY_QUEUE, PROCESS_EVENTS_QUEUE } from '../queues.ts';
import { lockLiveLead, selectSourceEvent } from '../../db/sql/classify.ts';

/** The internal event a classification becomes; intent rules in the ruleset weigh it. */
export const CLASSIFIED_EVENT_TYPE = 'intent.classified';
/** Metadata keys the mappers put free text in (form answers, replies, notes), in reading order. */
export const FREE_TEXT_KEYS = ['answers', 'reply_text', 'message', 'notes', 'comment'] as const;
/** Shorter text ("Thanks!", "OK") says nothing a model could classify; asking would only cost. */
export const MIN_CLASSIFY_CHARS = 20;

const EXTERNAL_ID_PREFIX = 'classify:';

/**
 * The event's free text: every non-blank string under {@link FREE_TEXT_KEYS}, trimmed and joined
 * by a blank line; null when there is none.
 *
 * @example
 * freeTextOf({ ...event, metadata: { reply_text: ' Can you send a quote? ', url: '/x' } }) // 'Can you send a quote?'
 */
export function freeTextOf(event: LeadlineEvent): string | null {
  const parts: string[] = [];
  for (const key of FREE_TEXT_KEYS) {
    const value = event.metadata[key];
    if (typeof value === 'string' && value.trim() !== '') parts.push(value.trim());
  }
  return parts.length === 0 ? null : parts.join('\n\n');
}

/**
 * True when the event carries enough free text to classify. A classification never classifies
 * itself (its `reason` is the model's own words).
 *
 * @example
 * shouldClassify({ ...event, type: 'email.replied', metadata: { reply_text: 'We would like a quote for 200 samples.' } }) // true
 * shouldClassify({ ...event, type: 'email.replied', metadata: { reply_text: 'Thanks!' } }) // false
 */
export function shouldClassify(event: LeadlineEvent): boolean {
  if (event.type === CLASSIFIED_EVENT_TYPE) return false;
  return (freeTextOf(event)?.length ?? 0) >= MIN_CLASSIFY_CHARS;
}

/**
 * Enqueues classification of stored, processed events inside the caller's transaction, so the jobs
 * exist exactly when the processing that made them visible commits. The job id is the event id:
 * enqueuing an event twice queues it once. Callers pass only events {@link shouldClassify} accepts.
 *
 * @example
 * // in processEvents, after markEventsProcessed, when OpenAI is configured:
 * await enqueueClassification(tx, ctx.queue, events.filter(shouldClassify).map((e) => e.id));
 */
export async function enqueueClassification(
  tx: Queryable,
  boss: JobQueue,
  eventIds: readonly string[],
): Promise<void> {
  if (eventIds.length === 0) return;
  await boss.insert(
    CLASSIFY_QUEUE,
    [...new Set(eventIds)].map((id) => ({ id, data: { eventId: id } })),
    { db: inTransaction(tx) },
  );
}

/** What one classify-text job did (for logs and tests). */
export type ClassifyOutcome =
  | { status: 'classified'; eventId: string; intent: string; confidence: number }
  | { status: 'no_intent' | 'already_classified' | 'no_text' | 'gone' | 'lead_erased'; eventId: string | null }
  | { status: 'failed'; kind: 'unauthorized' | 'rejected' | 'invalid_answer'; eventId: null };

/**
 * Classifies one stored event: loads it (it must be processed, so its lead is known), asks the
 * model, and stores a classification as an `intent.classified` internal event plus its
 * process-events job in one transaction. No transaction is held across the model call.
 * Transient failures throw (the queue retries with backoff); permanent ones are logged and complete.
 *
 * @example
 * await classifyEvent(classifier, '0f0c…', ctx) // { status: 'classified', eventId: '7b1e…', intent: 'b2b', confidence: 0.86 }
 */
export async function classifyEvent(
  classifier: IntentClassifier,
  sourceEventId: string,
  ctx: AppContext,
): Promise<ClassifyOutcome> {
  const [row] = await run(ctx.pool, selectSourceEvent(sourceEventId, EXTERNAL_ID_PREFIX));
  // Erased with its lead, or never stored: nothing left to classify.
  if (row === undefined) return { status: 'gone', eventId: null };
  if (row.classified_id !== null) return { status: 'already_classified', eventId: row.classified_id };
  if (row.processed_at === null || row.lead_id === null) {
    // Jobs are enqueued in the transaction that processes the event, so this is a job sent by hand
    // ahead of processing; a retry will find the event processed.
    throw new LeadlineError('not_found', `event ${sourceEventId} is not processed yet`);
  }
  const text = shouldClassify(row.event) ? freeTextOf(row.event) : null;
  if (text === null) return { status: 'no_text', eventId: null };

  const result = await classifier.classify(text, ctx.ruleset.intent.intents);
  if (!result.ok) return failed(result, sourceEventId, ctx);
  if (result.intent === NO_INTENT) return { status: 'no_intent', eventId: null };

  const leadId = row.lead_id;
  const classified = classifiedEvent(row.event, sourceEventId, result);
  return withTransaction(ctx.pool, async (tx): Promise<ClassifyOutcome> => {
    if ((await run(tx, lockLiveLead(leadId))).length === 0) return { status: 'lead_erased', eventId: null };
    const id = randomUUID();
    const inserted = await run(
      tx,
      insertInternalEvents([
        {
          id,
          externalId: `${EXTERNAL_ID_PREFIX}${sourceEventId}`,
          event: classified,
          eventType: CLASSIFIED_EVENT_TYPE,
          occurredAt: new Date(classified.occurredAt),
          leadId,
        },
      ]),
    );
    // A concurrent run of the same job stored it first; its process-events job is already queued.
    if (inserted.length === 0) return { status: 'already_classified', eventId: null };
    await ctx.queue.insert(PROCESS_EVENTS_QUEUE, [{ id, data: { eventId: id } }], { db: inTransaction(tx) });
    return { status: 'classified', eventId: id, intent: result.intent, confidence: result.confidence };
  });
}

/**
 * The internal event for a classification. It keeps the source event's identifiers (so processing
 * finds the same lead), time, sender and utm (so first/last touch stay what the text itself set),
 * and no profile fields (an old event must not rewrite the lead's name or title).
 */
function classifiedEvent(
  source: LeadlineEvent,
  sourceEventId: string,
  result: Extract<ClassifyResult, { ok: true }>,
): LeadlineEvent {
  const metadata: Record<string, MetadataValue> = {
    intent: result.intent,
    confidence: result.confidence,
    reason: result.reason,
    model: result.model,
    source_event_id: sourceEventId,
  };
  return {
    id: `${EXTERNAL_ID_PREFIX}${sourceEventId}`,
    type: CLASSIFIED_EVENT_TYPE,
    source: source.source,
    occurredAt: source.occurredAt,
    lead: { email: source.lead.email, ids: { ...source.lead.ids } },
    metadata,
    utm: { ...source.utm },
  };
}

function failed(
  result: Exclude<ClassifyResult, { ok: true }>,
  eventId: string,
  ctx: AppContext,
): ClassifyOutcome {
  switch (result.kind) {
    case 'rate_limited':
      throw new LeadlineError(
        'upstream_rate_limited',
        `intent model rate limited${result.retryAfterSeconds === null ? '' : ` (retry after ${result.retryAfterSeconds}s)`}`,
        { status: 429 },
      );
    case 'unavailable':
      throw new LeadlineError('upstream_failed', `intent model unavailable: ${result.error}`, { status: 503 });
    case 'unauthorized':
    case 'rejected':
      // A configuration problem: every retry would fail the same way, so say it loudly once per event.
      ctx.log.error({ eventId, kind: result.kind, error: result.error }, 'intent model refused the request');
      return { status: 'failed', kind: result.kind, eventId: null };
    case 'invalid_answer':
      ctx.log.warn({ eventId, error: result.error }, 'intent model answered with no valid classification');
      return { status: 'failed', kind: 'invalid_answer', eventId: null };
  }
}
