import { findEarlierPost, withOutboxMetadata } from './reconcile.ts';
import type { SlackApi, SlackResult } from '../../clients/slack-api.ts';
import { type Pool, type Queryable, run, withTransaction } from '../../db/pool.ts';
import {
  claimDueOutbox,
  type OutboxRow,
  pushPace,
  recordOutboxFailure,
  markPostsAttempted,
  recordOutboxRateLimited,
  recordOutboxSuccess,
  rescheduleOutbox,
  selectNextDue,
  selectPace,
  takePaceSlot,
} from '../../db/sql/slack-outbox.ts';
import type { Logger } from '../../log.ts';

export interface DeliveryDeps {
  pool: Pool;
  slack: SlackApi;
  now: () => Date;
  log: Logger;
  /** Failed sends (5xx, network, timeout) before a message is dead. Default 30: with the backoff capped at 5 minutes, about two hours of an unreachable Slack. */
  maxAttempts?: number;
  /** Rows claimed per round. Default 20. */
  batchSize?: number;
  /** How long a claimed row is held while its call is in flight; must exceed the client timeout. Default 60 s. */
  leaseMs?: number;
  /** Minimum gap between two posts to one channel. Default 1 s. */
  paceMs?: number;
  /** Rounds before returning even though rows are still due (the job then runs again at once). Default 500. */
  maxRounds?: number;
}

export interface DeliverySummary {
  sent: number;
  retried: number;
  /** Sends Slack answered 429: waiting for Retry-After, never counted against the message. */
  rateLimited: number;
  dead: number;
  /** When the next pending row comes due, or null when nothing is pending. */
  nextDueAt: Date | null;
}

type Settings = Required<Omit<DeliveryDeps, 'pool' | 'slack' | 'now' | 'log'>>;

/**
 * Delivers every outbox row due now and returns when nothing more is. Each round claims a small
 * batch in one short transaction (pacing decided there, rows leased), calls Slack with no
 * transaction open, and records each result in its own statement. Safe to run in several processes
 * at once: claims skip locked rows and pace slots are taken atomically.
 *
 * @example
 * const summary = await deliverDue({ pool, slack, now: () => new Date(), log });
 * // { sent: 3, retried: 1, dead: 0, nextDueAt: 2026-11-20T12:00:04.000Z }
 */
export async function deliverDue(deps: DeliveryDeps): Promise<DeliverySummary> {
  const settings: Settings = {
    maxAttempts: deps.maxAttempts ?? 30,
    batchSize: deps.batchSize ?? 20,
    leaseMs: deps.leaseMs ?? 60_000,
    paceMs: deps.paceMs ?? 1_000,
    maxRounds: deps.maxRounds ?? 500,
  };
  const summary: DeliverySummary = { sent: 0, retried: 0, rateLimited: 0, dead: 0, nextDueAt: null };
  for (let round = 0; round < settings.maxRounds; round += 1) {
    const now = deps.now();
    const claim = await withTransaction(deps.pool, (tx) => claimRound(tx, now, settings));
    if (claim.claimed === 0) break;
    const outcomes = await Promise.all(claim.sends.map((send) => deliverOne(deps, settings, send)));
    for (const outcome of outcomes) summary[outcome] += 1;
  }
  const [next] = await run(deps.pool, selectNextDue());
  summary.nextDueAt = next?.at ?? null;
  return summary;
}

interface PlannedSend {
  row: OutboxRow;
  paceKey: string | null;
}

/**
 * Claims due rows and decides, per pace key, which go now: one row per channel when its slot is free,
 * the rest held back to later slots. Sending rows get a lease, so no other dispatcher picks them up.
 */
async function claimRound(
  tx: Queryable,
  now: Date,
  settings: Settings,
): Promise<{ claimed: number; sends: PlannedSend[] }> {
  const rows = await run(tx, claimDueOutbox(now, settings.batchSize));
  if (rows.length === 0) return { claimed: 0, sends: [] };
  const sends: PlannedSend[] = [];
  const ids: number[] = [];
  const ats: Date[] = [];
  const hold = (row: OutboxRow, at: number) => {
    ids.push(row.id);
    ats.push(new Date(at));
  };
  const spaced = new Map<string, OutboxRow[]>();
  const gated = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const pace = paceOf(row);
    if (pace === null) sends.push({ row, paceKey: null });
    else {
      const groups = pace.spaced ? spaced : gated;
      groups.set(pace.key, [...(groups.get(pace.key) ?? []), row]);
    }
  }
  const t = now.getTime();
  // Per-method keys are only closed by a 429; they are read, never taken.
  if (gated.size > 0) {
    const closed = await paceTimes(tx, [...gated.keys()]);
    for (const [key, group] of gated) {
      const until = closed.get(key) ?? 0;
      for (const row of group) {
        if (until > t) hold(row, until);
        else sends.push({ row, paceKey: key });
      }
    }
  }
  // Sorted, so two dispatchers lock pace rows in the same order and cannot deadlock.
  for (const key of [...spaced.keys()].sort()) {
    const group = spaced.get(key)!;
    const taken = await run(tx, takePaceSlot(key, now, new Date(t + settings.paceMs)));
    let waiting = group;
    let slot: number;
    if (taken.length > 0) {
      sends.push({ row: group[0]!, paceKey: key });
      waiting = group.slice(1);
      slot = t + settings.paceMs;
    } else {
      // Not taking a slot for a row that cannot use it: reserving would push the channel's pace
      // forward with every held-back row and starve it.
      slot = Math.max((await paceTimes(tx, [key])).get(key) ?? t, t + 1);
    }
    // Spread the rest one gap apart in id order, so they come due one by one instead of all at once.
    waiting.forEach((row, index) => {
      hold(row, slot + index * settings.paceMs);
    });
  }
  for (const send of sends) hold(send.row, t + settings.leaseMs);
  await run(tx, rescheduleOutbox(ids, ats));
  const posts = sends.filter((send) => send.row.method === 'chat.postMessage').map((send) => send.row.id);
  if (posts.length > 0) await run(tx, markPostsAttempted(posts, now));
  return { claimed: rows.length, sends };
}

async function paceTimes(tx: Queryable, keys: string[]): Promise<Map<string, number>> {
  const rows = await run(tx, selectPace(keys));
  return new Map(rows.map((row) => [row.channel, row.next_allowed_at.getTime()]));
}

/**
 * Posts to a channel are paced per channel (a DM's channel is the user); calls Slack limits per
 * method only close a method-wide key after a 429; response_url posts are not paced at all.
 */
function paceOf(row: OutboxRow): { key: string; spaced: boolean } | null {
  switch (row.method) {
    case 'chat.postMessage':
    case 'chat.update':
      return { key: row.channel ?? '', spaced: true };
    case 'chat.postEphemeral':
    case 'views.publish':
      return { key: `method:${row.method}`, spaced: false };
    case 'response_url':
      return null;
  }
}

// chat.postMessage arguments chat.update rejects or would misread.
const POST_ONLY_FIELDS = new Set([
  'thread_ts',
  'unfurl_links',
  'unfurl_media',
  'icon_emoji',
  'icon_url',
  'username',
]);

async function call(slack: SlackApi, row: OutboxRow): Promise<SlackResult> {
  const payload = row.payload;
  switch (row.method) {
    case 'chat.postMessage':
      return slack.call(row.method, { ...withOutboxMetadata(payload, row.key), channel: row.channel });
    case 'chat.postEphemeral':
      return slack.call(row.method, { ...payload, channel: row.channel });
    case 'chat.update': {
      const ts = row.ts ?? payload['ts'];
      if (typeof ts !== 'string') return { ok: false, kind: 'slack_error', error: 'missing_ts' };
      const body = Object.fromEntries(
        Object.entries(payload).filter(([field]) => !POST_ONLY_FIELDS.has(field)),
      );
      return slack.call('chat.update', { ...body, channel: row.posted_channel ?? row.channel, ts });
    }
    case 'views.publish':
      return slack.call('views.publish', { ...payload, user_id: row.channel });
    case 'response_url':
      return slack.postToResponseUrl(row.response_url ?? '', payload);
  }
}

/** Calls Slack for one claimed row and records the outcome. */
async function deliverOne(
  deps: DeliveryDeps,
  settings: Settings,
  { row, paceKey }: PlannedSend,
): Promise<'sent' | 'retried' | 'rateLimited' | 'dead'> {
  let result: SlackResult;
  try {
    // An earlier try may have posted before its process died: record that post, do not repeat it.
    const earlier =
      row.method === 'chat.postMessage' && row.post_attempted_at !== null
        ? await findEarlierPost(deps.slack, row, row.post_attempted_at)
        : null;
    if (earlier !== null) deps.log.info({ key: row.key, ts: earlier.ts }, 'found the post an interrupted delivery made; not posting again');
    result = earlier === null ? await call(deps.slack, row) : { ok: true, data: { ts: earlier.ts, channel: earlier.channel } };
  } catch (err) {
    // The client never throws; an injected one might. Treat it like a network failure.
    result = { ok: false, kind: 'network', error: err instanceof Error ? err.message : String(err) };
  }
  const now = deps.now();
  const context = {
    outboxId: row.id,
    key: row.key,
    kind: row.kind,
    method: row.method,
    channel: row.channel,
  };
  if (result.ok) {
    const ts = row.method === 'chat.postMessage' ? stringField(result.data, 'ts') : null;
    const postedChannel = row.method === 'chat.postMessage' ? stringField(result.data, 'channel') : null;
    await run(deps.pool, recordOutboxSuccess(row.id, row.version, ts, postedChannel, now));
    deps.log.debug({ ...context, ts }, 'slack message delivered');
    return 'sent';
  }
  if (result.kind === 'rate_limited') {
    const retryAt = new Date(now.getTime() + result.retryAfterSeconds * 1_000);
    await withTransaction(deps.pool, async (tx) => {
      if (paceKey !== null) await run(tx, pushPace(paceKey, retryAt));
      await run(tx, recordOutboxRateLimited(row.id, retryAt, now));
    });
    deps.log.warn({ ...context, retryAfterSeconds: result.retryAfterSeconds, tries: row.rate_limited + 1 }, 'slack rate limited');
    return 'rateLimited';
  }
  const permanent = result.kind === 'slack_error';
  const attempts = row.attempts + 1;
  const retryAt = permanent ? now : new Date(now.getTime() + retryDelayMs(row.id, attempts));
  const error = result.kind === 'slack_error' ? result.error : `${result.kind}: ${result.error}`;
  const [state] = await run(
    deps.pool,
    recordOutboxFailure(
      row.id,
      row.version,
      { error, permanent, retryAt, maxAttempts: settings.maxAttempts },
      now,
    ),
  );
  if (state?.state !== 'dead')
    deps.log.warn({ ...context, error, attempts, retryAt }, 'slack delivery failed');
  return settle(deps.log, context, state?.state, error, attempts);
}

function settle(
  log: Logger,
  context: Record<string, unknown>,
  state: string | undefined,
  error: string,
  tries: number,
): 'retried' | 'dead' {
  if (state !== 'dead') return 'retried';
  log.error({ ...context, error, tries }, 'slack delivery dead-lettered');
  return 'dead';
}

function stringField(data: Record<string, unknown>, field: string): string | null {
  const value = data[field];
  return typeof value === 'string' ? value : null;
}

/**
 * Backoff before retry number `attempts`: 2^attempts seconds, at most 5 minutes, minus up to 20 %
 * jitter derived from the row id, so rows failing together spread out yet tests can predict it.
 *
 * @example
 * retryDelayMs(42, 1); // between 1600 and 2000
 */
export function retryDelayMs(id: number, attempts: number): number {
  const base = Math.min(2 ** attempts * 1_000, 300_000);
  return Math.round(base * (0.8 + 0.2 * (mix32(id * 31 + attempts) / 2 ** 32)));
}

// A 32-bit integer hash (the finaliser of MurmurHash3-like mixers): deterministic, well spread.
function mix32(input: number): number {
  let x = input | 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
