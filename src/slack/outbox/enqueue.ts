import { type Queryable, run } from '../../db/pool.ts';
import {
  type DeadOutboxRow,
  type OutboxMessage,
  reviveDeadOutbox,
  selectDeadOutbox,
  selectOutboxByKey,
  upsertOutbox,
} from '../../db/sql/slack-outbox.ts';
import { LeadlineError } from '../../errors.ts';

export type { OutboxMessage, OutboxMethod } from '../../db/sql/slack-outbox.ts';

export interface EnqueuedSlack {
  id: number;
  version: number;
  /** False when the key already held exactly this content: nothing new will be sent. */
  changed: boolean;
}

/**
 * Stores a Slack message for delivery, inside the caller's transaction, so an outcome and the message
 * announcing it commit (or roll back) together. Upserts by `key`: a new key is queued; new content for
 * a key still waiting replaces it (rapid changes coalesce into one call); new content for a key
 * already posted to a channel becomes a `chat.update` of the stored ts. Enqueuing identical content
 * again is a no-op, so a retried job never posts twice. Call `kickSlackDelivery` after the commit
 * (or with `{ db }` inside it) so the dispatcher wakes up.
 *
 * @example
 * await withTransaction(pool, async (tx) => {
 *   await writeOutcome(tx);
 *   await enqueueSlack(tx, { key: `alert:lead:${lead.id}`, kind: 'alert', leadId: lead.id,
 *     method: 'chat.postMessage', channel: 'C0123', payload: { text: 'New A lead', blocks } }, now);
 *   await kickSlackDelivery(boss, { db: tx });
 * });
 */
export async function enqueueSlack(tx: Queryable, message: OutboxMessage, now: Date): Promise<EnqueuedSlack> {
  validateSlackMessage(message);
  const [row] = await run(tx, upsertOutbox([message], now));
  if (row !== undefined) return { id: row.id, version: row.version, changed: true };
  const [existing] = await run(tx, selectOutboxByKey(message.key));
  if (existing === undefined) {
    // Only possible if the row was deleted between the two statements.
    throw new LeadlineError('not_found', `slack outbox row ${message.key} vanished`);
  }
  return { id: existing.id, version: existing.version, changed: false };
}

/**
 * `enqueueSlack` for many messages in one statement (last one wins for a repeated key); returns
 * the keys enqueued with new content.
 *
 * @example
 * await enqueueSlackMany(tx, [notifyOwner, notifyManagers], now); // Set { 'notify:…', 'notify:…:lena' }
 */
export async function enqueueSlackMany(
  tx: Queryable,
  messages: readonly OutboxMessage[],
  now: Date,
): Promise<Set<string>> {
  if (messages.length === 0) return new Set();
  for (const message of messages) validateSlackMessage(message);
  const byKey = new Map(messages.map((message) => [message.key, message]));
  const rows = await run(tx, upsertOutbox([...byKey.values()], now));
  return new Set(rows.map((row) => row.key));
}

/**
 * Deliveries that gave up (permanent Slack error, attempts used up), newest first: what an admin
 * screen or `/leadline admin` command lists.
 *
 * @example
 * const dead = await listDeadDeliveries(pool, 20); // [{ id: 7, key: 'alert:lead:42', last_error: 'channel_not_found', … }]
 */
export async function listDeadDeliveries(db: Queryable, limit = 50): Promise<DeadOutboxRow[]> {
  return run(db, selectDeadOutbox(limit));
}

/**
 * Queues a dead delivery again with fresh attempts (after an admin fixed the channel, say). Returns
 * false when the row is not dead. Kick the dispatcher afterwards.
 *
 * @example
 * if (await retryDeadDelivery(pool, 7, new Date())) await kickSlackDelivery(boss);
 */
export async function retryDeadDelivery(db: Queryable, id: number, now: Date): Promise<boolean> {
  const rows = await run(db, reviveDeadOutbox(id, now));
  return rows.length > 0;
}

/** Throws `invalid_payload` naming what a message lacks; enqueueing checks every message with it. */
export function validateSlackMessage(message: OutboxMessage): void {
  const problems: string[] = [];
  if (message.key.trim() === '') problems.push('key must not be empty');
  if (message.method === 'response_url') {
    if (!message.responseUrl) problems.push('response_url messages need responseUrl');
  } else if (!message.channel) {
    problems.push(`${message.method} needs a channel (a user id for DMs and views.publish)`);
  }
  const payload = message.payload;
  if (message.method === 'chat.postEphemeral' && typeof payload['user'] !== 'string') {
    problems.push('chat.postEphemeral needs payload.user');
  }
  if (
    message.method !== 'views.publish' &&
    typeof payload['text'] !== 'string' &&
    !Array.isArray(payload['blocks'])
  ) {
    problems.push('messages need text or blocks');
  }
  if (message.method === 'views.publish' && typeof payload['view'] !== 'object') {
    problems.push('views.publish needs payload.view');
  }
  if (problems.length > 0) {
    throw new LeadlineError('invalid_payload', `slack message ${message.key}: ${problems.join('; ')}`, {
      issues: problems.map((problem) => ({ path: message.key, message: problem })),
    });
  }
}
