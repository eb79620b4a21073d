import type { Sql } from '../pool.ts';

/** How a stored Slack message is delivered. Bot DMs are `chat.postMessage` with the user id as channel. */
export type OutboxMethod =
  | 'chat.postMessage'
  | 'chat.update'
  | 'chat.postEphemeral'
  | 'views.publish'
  | 'response_url';

export interface OutboxMessage {
  key: string;
  kind: string;
  leadId?: number | null;
  method: OutboxMethod;
  channel?: string | null;
  responseUrl?: string | null;
  payload: Record<string, unknown>;
}

/** A row as the dispatcher claims it. */
export interface OutboxRow {
  id: number;
  key: string;
  kind: string;
  method: OutboxMethod;
  channel: string | null;
  posted_channel: string | null;
  response_url: string | null;
  payload: Record<string, unknown>;
  ts: string | null;
  version: number;
  attempts: number;
  rate_limited: number;
  /** Set while a post's outcome is unknown (see migration 0015). */
  post_attempted_at: Date | null;
}

/** A dead delivery as admins see it. */
export interface DeadOutboxRow {
  id: number;
  key: string;
  kind: string;
  lead_id: number | null;
  method: OutboxMethod;
  channel: string | null;
  attempts: number;
  rate_limited: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * Upserts messages by key (one row per key). New key: pending. Existing key with different content: the content is
 * replaced and `version` bumped; a message already posted to a channel keeps its ts and becomes a
 * chat.update; a sent or dead row is revived with fresh attempts. Identical content changes nothing
 * (no row returned), so a retried job that enqueues again posts nothing twice.
 */
export function upsertOutbox(messages: readonly OutboxMessage[], now: Date): Sql<{ id: number; version: number; key: string }> {
  return {
    text: `INSERT INTO slack_outbox AS o
        (key, kind, lead_id, method, channel, response_url, payload, state, next_attempt_at, created_at, updated_at)
      SELECT u.key, u.kind, u.lead_id, u.method, u.channel, u.response_url, u.payload, 'pending', $2, $2, $2
      FROM jsonb_to_recordset($1::jsonb)
        AS u(key text, kind text, lead_id bigint, method text, channel text, response_url text, payload jsonb)
      ORDER BY u.key
      ON CONFLICT (key) DO UPDATE SET
        payload = EXCLUDED.payload,
        kind = EXCLUDED.kind,
        lead_id = COALESCE(EXCLUDED.lead_id, o.lead_id),
        method = CASE WHEN o.ts IS NOT NULL AND o.method IN ('chat.postMessage', 'chat.update')
          THEN 'chat.update' ELSE EXCLUDED.method END,
        channel = CASE WHEN o.ts IS NOT NULL THEN o.channel ELSE EXCLUDED.channel END,
        response_url = COALESCE(EXCLUDED.response_url, o.response_url),
        state = 'pending',
        attempts = CASE WHEN o.state = 'pending' THEN o.attempts ELSE 0 END,
        rate_limited = CASE WHEN o.state = 'pending' THEN o.rate_limited ELSE 0 END,
        last_error = CASE WHEN o.state = 'pending' THEN o.last_error END,
        -- A pending row keeps its slot: it may be backing off, paced or in flight.
        next_attempt_at = CASE WHEN o.state = 'pending' THEN o.next_attempt_at ELSE EXCLUDED.next_attempt_at END,
        version = o.version + 1,
        -- New content is a new message: a discarded dead letter under this key lists again if it dies.
        discarded_at = NULL,
        updated_at = EXCLUDED.updated_at
      WHERE o.payload IS DISTINCT FROM EXCLUDED.payload
      RETURNING id, key, version, state`,
    values: [
      JSON.stringify(
        messages.map((m) => ({
          key: m.key,
          kind: m.kind,
          lead_id: m.leadId ?? null,
          method: m.method,
          channel: m.channel ?? null,
          response_url: m.responseUrl ?? null,
          payload: m.payload,
        })),
      ),
      now,
    ],
  };
}

export function selectOutboxByKey(key: string): Sql<{ id: number; version: number }> {
  return {
    text: 'SELECT id, version, state, method, ts FROM slack_outbox WHERE key = $1',
    values: [key],
  };
}

/** Due rows in id order; rows another dispatcher holds are skipped. */
export function claimDueOutbox(now: Date, limit: number): Sql<OutboxRow> {
  return {
    text: `SELECT id, key, kind, method, channel, posted_channel, response_url, payload, ts, version, attempts, rate_limited,
        post_attempted_at
      FROM slack_outbox
      WHERE state = 'pending' AND next_attempt_at <= $1
      ORDER BY id
      LIMIT $2
      FOR UPDATE SKIP LOCKED`,
    values: [now, limit],
  };
}

/**
 * Takes the channel's next send slot when it is free at `now`, moving it to `nextAllowedAt`. Returns
 * a row only when taken; a concurrent taker waits on the row lock and then finds the slot gone.
 */
export function takePaceSlot(key: string, now: Date, nextAllowedAt: Date): Sql {
  return {
    text: `INSERT INTO slack_channel_pace AS p (channel, next_allowed_at) VALUES ($1, $3)
      ON CONFLICT (channel) DO UPDATE SET next_allowed_at = EXCLUDED.next_allowed_at
      WHERE p.next_allowed_at <= $2
      RETURNING next_allowed_at`,
    values: [key, now, nextAllowedAt],
  };
}

export function selectPace(keys: readonly string[]): Sql<{ channel: string; next_allowed_at: Date }> {
  return {
    text: 'SELECT channel, next_allowed_at FROM slack_channel_pace WHERE channel = ANY($1::text[])',
    values: [keys],
  };
}

/** Holds a key back until `until` (a 429's Retry-After); never moves a later slot earlier. */
export function pushPace(key: string, until: Date): Sql {
  return {
    text: `INSERT INTO slack_channel_pace AS p (channel, next_allowed_at) VALUES ($1, $2)
      ON CONFLICT (channel) DO UPDATE SET next_allowed_at = greatest(p.next_allowed_at, EXCLUDED.next_allowed_at)`,
    values: [key, until],
  };
}

/** Sets `next_attempt_at` per row: leases for rows being sent, slots for rows held back by pacing. */
export function rescheduleOutbox(ids: readonly number[], ats: readonly Date[]): Sql {
  return {
    text: `UPDATE slack_outbox o SET next_attempt_at = u.at
      FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, at)
      WHERE o.id = u.id`,
    values: [ids, ats],
  };
}

/**
 * Records a successful send. The row is sent only when its content did not change meanwhile; otherwise
 * it stays pending, due at once, and a posted message turns into a chat.update of the ts just stored.
 */
export function recordOutboxSuccess(
  id: number,
  version: number,
  ts: string | null,
  postedChannel: string | null,
  now: Date,
): Sql {
  return {
    text: `UPDATE slack_outbox SET
        ts = COALESCE($3, ts),
        posted_channel = COALESCE($4, posted_channel),
        method = CASE WHEN version <> $2 AND method = 'chat.postMessage' AND COALESCE($3, ts) IS NOT NULL
          THEN 'chat.update' ELSE method END,
        state = CASE WHEN version = $2 THEN 'sent' ELSE 'pending' END,
        attempts = 0,
        rate_limited = 0,
        last_error = NULL,
        next_attempt_at = $5,
        sent_at = $5,
        updated_at = $5
      WHERE id = $1 AND state = 'pending'
      RETURNING state`,
    values: [id, version, ts, postedChannel, now],
  };
}

/**
 * Records a failed send: one more attempt, due again at `retryAt`; dead when the error is permanent
 * (and the content unchanged, since newer content may well be accepted) or the attempts are used up.
 */
export function recordOutboxFailure(
  id: number,
  version: number,
  failure: { error: string; permanent: boolean; retryAt: Date; maxAttempts: number },
  now: Date,
): Sql<{ state: string }> {
  return {
    text: `UPDATE slack_outbox SET
        attempts = attempts + 1,
        last_error = $3,
        -- Slack's own error answer says nothing was posted; a timeout or 5xx leaves it open.
        post_attempted_at = CASE WHEN $4 THEN NULL ELSE post_attempted_at END,
        state = CASE WHEN ($4 AND version = $2) OR attempts + 1 >= $5 THEN 'dead' ELSE 'pending' END,
        next_attempt_at = $6,
        updated_at = $7
      WHERE id = $1 AND state = 'pending'
      RETURNING state, attempts`,
    values: [id, version, failure.error, failure.permanent, failure.maxAttempts, failure.retryAt, now],
  };
}

/**
 * Records a 429: not a failed attempt, and never a reason to give up — the message waits for
 * `Retry-After` however long the limit lasts (the count is kept for the operator's eyes).
 */
export function recordOutboxRateLimited(id: number, retryAt: Date, now: Date): Sql {
  return {
    text: `UPDATE slack_outbox SET
        rate_limited = rate_limited + 1,
        last_error = 'rate_limited',
        post_attempted_at = NULL,
        next_attempt_at = $2,
        updated_at = $3
      WHERE id = $1 AND state = 'pending'`,
    values: [id, retryAt, now],
  };
}

/** Records that these posts are about to be sent, before the call, so a crash leaves a trace. */
export function markPostsAttempted(ids: readonly number[], now: Date): Sql {
  return {
    text: `UPDATE slack_outbox SET post_attempted_at = $2 WHERE id = ANY($1::bigint[]) AND method = 'chat.postMessage'`,
    values: [ids, now],
  };
}

/** The earliest moment any pending row comes due (leases of rows in flight included). */
export function selectNextDue(): Sql<{ at: Date | null }> {
  return {
    text: `SELECT min(next_attempt_at) AS at FROM slack_outbox WHERE state = 'pending'`,
    values: [],
  };
}

export function selectDeadOutbox(limit: number): Sql<DeadOutboxRow> {
  return {
    text: `SELECT id, key, kind, lead_id, method, channel, attempts, rate_limited, last_error, created_at, updated_at
      FROM slack_outbox WHERE state = 'dead' AND discarded_at IS NULL
      ORDER BY updated_at DESC, id DESC
      LIMIT $1`,
    values: [limit],
  };
}

/** Puts a dead row back in the queue with fresh attempts; returns a row only if it was dead (and not discarded). */
export function reviveDeadOutbox(id: number, now: Date): Sql {
  return {
    text: `UPDATE slack_outbox SET state = 'pending', attempts = 0, rate_limited = 0, next_attempt_at = $2, updated_at = $2
      WHERE id = $1 AND state = 'dead' AND discarded_at IS NULL
      RETURNING id`,
    values: [id, now],
  };
}
