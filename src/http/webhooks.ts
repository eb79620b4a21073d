import type { IncomingMessage } from 'node:http';
import type { Context, Hono } from 'hono';
import { type ParkedDelivery, parkDelivery } from '../app/intake/invalid-deliveries.ts';
import { type IntakeWriter, isRequestFault } from '../app/intake/intake-writer.ts';
import { readDelivery } from '../app/intake/read-delivery.ts';
import type { Pool } from '../db/pool.ts';
import type { ErrorCode, ErrorIssue } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { AppEnv } from './env.ts';
import { errorBody } from './errors.ts';
import type { FloodLimit } from './flood-limit.ts';
import { verifySignature } from './signatures.ts';
import type { WebhookSource } from './sources.ts';

export const MAX_WEBHOOK_BYTES = 1024 * 1024;

export interface WebhookDeps {
  sources: Map<string, WebhookSource>;
  intake: IntakeWriter;
  pool: Pool;
  floodLimit: FloodLimit;
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
    const answer: Answer = { refusal: null };
    try {
      const res = await receive(c, deps, answer);
      outcome = res.headers.has(PARKED_HEADER)
        ? 'parked'
        : res.status === 202 ? 'accepted' : res.status === 200 ? 'duplicate' : res.status === 429 ? 'rate_limited' : 'rejected';
      return res;
    } finally {
      // Label only known sources, so a scan of random paths cannot grow the label set.
      const source = deps.sources.has(c.req.param('source') ?? '')
        ? (c.req.param('source') ?? '')
        : 'unknown';
      deps.metrics.webhooks.inc({ source, outcome });
      if (answer.refusal !== null) deps.metrics.webhookRefusals.inc({ source, reason: answer.refusal });
      if (outcome === 'accepted' || outcome === 'duplicate') {
        deps.metrics.intakeSeconds.observe({ source }, (performance.now() - started) / 1000);
      }
    }
  };
  app.post('/webhooks/:source', handle);
  app.post('/webhooks/:source/:token', handle);
}

// What receive refused with, for the metrics (error codes are a bounded label set).
interface Answer {
  refusal: ErrorCode | null;
}

async function receive(c: Context<AppEnv>, deps: WebhookDeps, answer: Answer): Promise<Response> {
  const refuse = (code: ErrorCode, message: string, status: 400 | 401 | 404 | 413 | 429 | 503, issues?: readonly ErrorIssue[]) => {
    answer.refusal = code;
    return c.json(errorBody(code, message, issues), status);
  };
  const source = deps.sources.get(c.req.param('source') ?? '');
  if (source === undefined) return refuse('unknown_source', 'no such webhook source', 404);
  if (source.secret === null) {
    c.header('Retry-After', '300');
    return refuse('source_not_configured', `source ${source.name} has no secret configured (${source.secretEnv ?? 'secret'})`, 503);
  }
  const receivedAt = deps.now();
  const headers = nodeHeaders(c) ?? c.req.raw.headers;
  const rawBody = await readBody(c);
  if (rawBody === null) {
    return refuse('payload_too_large', `body exceeds ${MAX_WEBHOOK_BYTES} bytes`, 413);
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
  if (!verdict.ok) return refuse(verdict.reason, 'the request signature did not verify', 401);

  if (source.rateLimit !== null) {
    // Counted after the signature: forgeries cannot spend a sender's allowance.
    const verdictOfLimit = deps.floodLimit.take(source.name, source.rateLimit);
    if (!verdictOfLimit.ok) {
      c.header('Retry-After', String(verdictOfLimit.retryAfterSeconds));
      return refuse('rate_limited', `source ${source.name} allows ${source.rateLimit.perSecond} deliveries a second`, 429);
    }
  }
  const read = readDelivery(source, rawBody, { receivedAt, headers, deliveryId: verdict.deliveryId });
  const park = (reason: string, detail: string) =>
    parkInvalid(c, deps, { source: source.name, deliveryId: verdict.deliveryId, receivedAt, contentType: headers.get('content-type'), body: rawBody, reason, detail });
  if (!read.ok) {
    if (source.onInvalid === 'park') return park(read.code, read.message);
    return refuse(read.code, read.message, 400, read.issues);
  }
  let outcomes;
  try {
    outcomes = await deps.intake.write(read.items);
  } catch (err) {
    // A value only the database noticed (one that slipped past the checks above) is this request's
    // fault; a sender that switches off after a 4xx gets it parked rather than refused.
    if (source.onInvalid !== 'park' || !isRequestFault(err)) throw err;
    return park('invalid_payload', err instanceof Error ? err.message : String(err));
  }
  const accepted = outcomes.filter((o) => !o.duplicate).length;
  const result = {
    accepted,
    duplicates: outcomes.length - accepted,
    ignored: read.ignored,
    ids: outcomes.map((o) => o.id),
  };
  return c.json(result, accepted > 0 || outcomes.length === 0 ? 202 : 200);
}

// Answered 202 so the sender keeps the integration on; the answer still says it was not read.
async function parkInvalid(c: Context<AppEnv>, deps: WebhookDeps, delivery: ParkedDelivery): Promise<Response> {
  const id = await parkDelivery(deps.pool, delivery);
  c.header(PARKED_HEADER, delivery.reason);
  return c.json({ accepted: 0, parked: id, reason: delivery.reason, detail: delivery.detail }, 202);
}

/** Set on a 202 for a delivery that was stored for inspection instead of read. */
export const PARKED_HEADER = 'leadline-parked';

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

