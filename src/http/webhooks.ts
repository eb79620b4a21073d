import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context, Hono } from 'hono';
import type { LeadlineEvent } from '../engine/event.ts';
import { mapPayload } from '../engine/mappers/index.ts';
import type { IntakeItem, IntakeWriter } from '../app/intake/intake-writer.ts';
import type { Metrics } from '../metrics.ts';
import type { AppEnv } from './env.ts';
import { errorBody } from './errors.ts';
import { verifySignature } from './signatures.ts';
import type { WebhookSource } from './sources.ts';

export const MAX_WEBHOOK_BYTES = 1024 * 1024;

// One decoder for every request: without `stream` a decode keeps no state between calls.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface WebhookDeps {
  sources: Map<string, WebhookSource>;
  intake: IntakeWriter;
  metrics: Metrics;
  now: () => Date;
}

/**
 * `POST /webhooks/:source` (and `/webhooks/:source/:token` for senders that can only put a secret
 * in the URL): verify the signature over the raw bytes, map the payload to Leadline events, store
 * them durably, and only then answer 202 (200 when every event was already known).
 */
export function mountWebhooks(app: Hono<AppEnv>, deps: WebhookDeps): void {
  const handle = async (c: Context<AppEnv>) => {
    const started = performance.now();
    let outcome = 'unavailable';
    try {
      const res = await receive(c, deps);
      outcome = res.status === 202 ? 'accepted' : res.status === 200 ? 'duplicate' : 'rejected';
      return res;
    } finally {
      // Label only known sources, so a scan of random paths cannot grow the label set.
      const source = deps.sources.has(c.req.param('source') ?? '')
        ? (c.req.param('source') ?? '')
        : 'unknown';
      deps.metrics.webhooks.inc({ source, outcome });
      if (outcome === 'accepted' || outcome === 'duplicate') {
        deps.metrics.intakeSeconds.observe({ source }, (performance.now() - started) / 1000);
      }
    }
  };
  app.post('/webhooks/:source', handle);
  app.post('/webhooks/:source/:token', handle);
}

async function receive(c: Context<AppEnv>, deps: WebhookDeps): Promise<Response> {
  const source = deps.sources.get(c.req.param('source') ?? '');
  if (source === undefined) return c.json(errorBody('unknown_source', 'no such webhook source'), 404);
  if (source.secret === null) {
    c.header('Retry-After', '300');
    return c.json(
      errorBody(
        'source_not_configured',
        `source ${source.name} has no secret configured (${source.secretEnv ?? 'secret'})`,
      ),
      503,
    );
  }
  const receivedAt = deps.now();
  const headers = nodeHeaders(c) ?? c.req.raw.headers;
  const rawBody = await readBody(c);
  if (rawBody === null) {
    return c.json(errorBody('payload_too_large', `body exceeds ${MAX_WEBHOOK_BYTES} bytes`), 413);
  }
  const verdict = verifySignature(
    source.scheme,
    {
      method: c.req.method,
      url: c.req.url,
      headers,
      rawBody,
      urlToken: c.req.param('token') ?? c.req.query('token'),
    },
    source.secret,
    receivedAt,
  );
  if (!verdict.ok) return c.json(errorBody(verdict.reason, 'the request signature did not verify'), 401);

  // Deeper bodies than any sender's make `JSON.stringify` overflow the stack when the row is built.
  if (nestsDeeperThan(rawBody, MAX_JSON_DEPTH)) {
    return c.json(errorBody('invalid_payload', `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted`), 400);
  }
  let body: unknown;
  let text: string;
  try {
    text = UTF8.decode(rawBody);
    body = JSON.parse(text);
  } catch (err) {
    return c.json(errorBody('invalid_json', err instanceof Error ? err.message : 'body is not JSON'), 400);
  }
  // PostgreSQL cannot store NUL in text or jsonb: refuse it here with a 400 rather than fail the
  // commit this request would share with others.
  if (text.includes('\\u0000')) {
    return c.json(errorBody('invalid_payload', 'NUL characters (\\u0000) are not accepted in values'), 400);
  }
  // Nor half a surrogate pair (jsonb refuses `\ud800` alone; text columns would store U+FFFD).
  if (hasLoneSurrogate(text, body)) {
    return c.json(
      errorBody('invalid_payload', 'unpaired UTF-16 surrogate escapes (\\ud800–\\udfff) are not accepted in values'),
      400,
    );
  }
  const mapped = mapPayload(source.format, body, {
    source: source.name,
    receivedAt,
    headers,
  });
  if (!mapped.ok) {
    return c.json(errorBody('invalid_payload', describeIssues(mapped.issues), mapped.issues), 400);
  }
  // Ignored entries shift positions in the body, so slices would pair events with the wrong raw entry.
  const rawBodyForSlices = mapped.ignored > 0 ? null : body;
  const items = toIntakeItems(source, mapped.events, rawBodyForSlices, rawBody, verdict.deliveryId, receivedAt);
  const outcomes = await deps.intake.write(items);
  const accepted = outcomes.filter((o) => !o.duplicate).length;
  const result = {
    accepted,
    duplicates: outcomes.length - accepted,
    ignored: mapped.ignored,
    ids: outcomes.map((o) => o.id),
  };
  return c.json(result, accepted > 0 || outcomes.length === 0 ? 202 : 200);
}

/**
 * The raw body, or null past `MAX_WEBHOOK_BYTES` (read no further). Under Node it is read straight
 * from the socket's request stream: going through the web `Request` builds a ReadableStream over
 * it, which cost as much CPU per webhook as verifying and validating it.
 */
async function readBody(c: Context<AppEnv>): Promise<Uint8Array | null> {
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > MAX_WEBHOOK_BYTES) return null;
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming === undefined || incoming.readableDidRead) return readWebBody(c.req.raw);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_WEBHOOK_BYTES) chunks.push(chunk);
      else {
        incoming.off('data', onData);
        incoming.off('end', onEnd);
        resolve(null);
      }
    };
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', reject);
  });
}

/**
 * Header lookups over Node's parsed header object. The web `Headers` view scans the raw header
 * list on every `get`, and a signature check makes several.
 */
function nodeHeaders(c: Context<AppEnv>): { get(name: string): string | null } | null {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming === undefined) return null;
  const parsed = incoming.headers;
  return {
    get: (name) => {
      const value = parsed[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/** The same for a web `Request` (`app.request()` in tests, other runtimes). */
async function readWebBody(request: Request): Promise<Uint8Array | null> {
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_WEBHOOK_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
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
  source: Pick<WebhookSource, 'name' | 'scheme'>,
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
