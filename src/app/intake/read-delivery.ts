import { createHash } from 'node:crypto';
import type { LeadlineEvent } from '../../engine/event.ts';
import { mapPayload, type PayloadFormat } from '../../engine/mappers/index.ts';
import type { IntakeItem } from './intake-writer.ts';

// One decoder for every request: without `stream` a decode keeps no state between calls.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** What a delivery's source says about how to read it. */
export interface DeliverySource {
  name: string;
  scheme: string;
  format: PayloadFormat;
}

export interface DeliveryMeta {
  receivedAt: Date;
  headers: { get(name: string): string | null };
  /** The sender's delivery id from the verified signature headers, when it sends one. */
  deliveryId: string | null;
}

export type ReadDelivery =
  | { ok: true; items: IntakeItem[]; ignored: number }
  | { ok: false; code: 'invalid_json' | 'invalid_payload'; message: string; issues?: readonly { path: string; message: string }[] };

/**
 * Turns a verified delivery's bytes into intake items, or says why it cannot: bodies PostgreSQL
 * could not store (NUL, lone surrogates) or `JSON.stringify` could not write (nesting past
 * `MAX_JSON_DEPTH`) are refused here, before they share a group commit with other requests.
 */
export function readDelivery(source: DeliverySource, rawBody: Uint8Array, meta: DeliveryMeta): ReadDelivery {
  if (nestsDeeperThan(rawBody, MAX_JSON_DEPTH)) {
    return { ok: false, code: 'invalid_payload', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted` };
  }
  let body: unknown;
  let text: string;
  try {
    text = UTF8.decode(rawBody);
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'invalid_json', message: err instanceof Error ? err.message : 'body is not JSON' };
  }
  if (text.includes('\\u0000')) {
    return { ok: false, code: 'invalid_payload', message: 'NUL characters (\\u0000) are not accepted in values' };
  }
  if (hasLoneSurrogate(text, body)) {
    return { ok: false, code: 'invalid_payload', message: 'unpaired UTF-16 surrogate escapes (\\ud800–\\udfff) are not accepted in values' };
  }
  const mapped = mapPayload(source.format, body, { source: source.name, receivedAt: meta.receivedAt, headers: meta.headers });
  if (!mapped.ok) return { ok: false, code: 'invalid_payload', message: describeIssues(mapped.issues), issues: mapped.issues };
  // Ignored entries shift positions in the body, so slices would pair events with the wrong raw entry.
  const rawBodyForSlices = mapped.ignored > 0 ? null : body;
  return {
    ok: true,
    items: toIntakeItems(source, mapped.events, rawBodyForSlices, rawBody, meta.deliveryId, meta.receivedAt),
    ignored: mapped.ignored,
  };
}

/**
 * True when a string in `body` holds a lone surrogate. Only a `\u` escape can carry one (the UTF-8
 * decode refuses encoded surrogates), and JSON.stringify writes lone surrogates, and only them, as
 * `\udXXX` escapes, so its output answers exactly; the raw text is a cheap filter first.
 */
function hasLoneSurrogate(text: string, body: unknown): boolean {
  if (!/\\u[dD][89a-fA-F]/.test(text)) return false;
  return /(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F]/.test(JSON.stringify(body));
}

/** Objects and arrays inside each other; real webhooks use fewer than ten. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether the JSON text nests objects and arrays deeper than `limit`, by one pass over the bytes
 * (brackets inside strings do not count). Malformed text is left to `JSON.parse` to refuse.
 */
export function nestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i += 1) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i += 1; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) {
      inString = true;
    } else if (b === 0x7b || b === 0x5b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (b === 0x7d || b === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

function describeIssues(issues: readonly { path: string; message: string }[]): string {
  const shown = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`);
  return issues.length > 5 ? `${shown.join('; ')}; and ${issues.length - 5} more` : shown.join('; ');
}

/**
 * Gives each event its idempotency key: the sender's own event id, else the delivery id (with the
 * event's position for batches), else a fingerprint of the body so an identical re-send is still
 * recognised.
 */
export function toIntakeItems(
  source: Pick<DeliverySource, 'name' | 'scheme'>,
  events: readonly LeadlineEvent[],
  body: unknown,
  rawBody: Uint8Array,
  deliveryId: string | null,
  receivedAt: Date,
): IntakeItem[] {
  const base = deliveryId ?? `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
  return events.map((event, index) => {
    const externalId = event.id ?? (events.length === 1 ? base : `${base}#${index}`);
    return {
      source: source.name,
      scheme: source.scheme,
      externalId,
      receivedAt,
      // Without a usable raw body (see above) the event itself is the stored payload.
      payload: body === null ? event : payloadSlice(body, index, events.length),
      event: { ...event, id: externalId },
      eventType: event.type,
      occurredAt: event.occurredAt,
    };
  });
}

// The raw part of the body an event came from, so one event of a 1,000-event batch does not store
// the other 999. A `secret` echoed in the body (Lemlist) is never stored.
function payloadSlice(body: unknown, index: number, count: number): unknown {
  let slice: unknown = body;
  if (Array.isArray(body)) slice = count === 1 && body.length !== 1 ? body : body[index];
  else if (count > 1 && isRecord(body) && Array.isArray(body['events'])) slice = body['events'][index];
  if (isRecord(slice) && 'secret' in slice) {
    const { secret: _secret, ...rest } = slice;
    return rest;
  }
  return slice ?? null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
