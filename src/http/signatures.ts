import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { ErrorCode } from '../errors.ts';

/** How a webhook source proves a delivery came from it. */
export type SignatureScheme =
  | 'standard'
  | 'hubspot-v3'
  | 'calendly'
  | 'typeform'
  | 'moco'
  | 'lemlist'
  | 'url-token';

export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = Object.freeze([
  'standard',
  'hubspot-v3',
  'calendly',
  'typeform',
  'moco',
  'lemlist',
  'url-token',
]);

/** The parts of an incoming HTTP request a signature can cover. */
export interface SignedRequest {
  method: string;
  /** Full URL as received, including the query string. */
  url: string;
  headers: { get(name: string): string | null };
  rawBody: Uint8Array;
  /** Token from the URL path or `?token=`, for `url-token` senders. */
  urlToken?: string | undefined;
}

export type VerifyResult =
  | {
      ok: true;
      /** The sender's delivery id when the scheme has one (`webhook-id`), else null. */
      deliveryId: string | null;
    }
  | { ok: false; reason: Extract<ErrorCode, 'signature_missing' | 'signature_invalid' | 'signature_stale'> };

type Verifier = (request: SignedRequest, secret: string, nowMs: number) => VerifyResult;

/** How far a signed timestamp may be from Leadline's clock, either way. */
const TOLERANCE_MS = 5 * 60 * 1000;

const MISSING: VerifyResult = Object.freeze({ ok: false, reason: 'signature_missing' });
const INVALID: VerifyResult = Object.freeze({ ok: false, reason: 'signature_invalid' });
const STALE: VerifyResult = Object.freeze({ ok: false, reason: 'signature_stale' });
const VERIFIED: VerifyResult = Object.freeze({ ok: true, deliveryId: null });

const VERIFIERS: Record<SignatureScheme, Verifier> = {
  standard: verifyStandard,
  'hubspot-v3': verifyHubspotV3,
  calendly: verifyCalendly,
  typeform: verifyTypeform,
  moco: verifyMoco,
  lemlist: verifyLemlist,
  'url-token': verifyUrlToken,
};

/**
 * Checks that a webhook delivery was signed with `secret` under `scheme`, over the raw body
 * bytes, and (for schemes that sign a timestamp) within ±5 minutes of `now`. Never throws:
 * anything unexpected is reported as `signature_invalid`. An empty secret verifies nothing.
 *
 * @example
 * const verdict = verifySignature('typeform', { method: 'POST', url, headers: req.headers, rawBody }, secret, new Date());
 * if (!verdict.ok) return c.json(errorBody(verdict.reason, 'the request signature did not verify'), 401);
 */
export function verifySignature(
  scheme: SignatureScheme,
  request: SignedRequest,
  secret: string,
  now: Date,
): VerifyResult {
  try {
    if (typeof secret !== 'string' || secret === '' || !Object.hasOwn(VERIFIERS, scheme)) return INVALID;
    return VERIFIERS[scheme](request, secret, now.getTime());
  } catch {
    return INVALID;
  }
}

/**
 * Standard Webhooks (and Svix): HMAC-SHA256 keyed with the base64-decoded secret over
 * `{webhook-id}.{webhook-timestamp}.{body}`; `webhook-signature` lists `v1,<base64>` entries.
 * Computed here rather than with the `standardwebhooks` package because that package checks
 * the tolerance against the real clock (not the injected `now`) and signs the body decoded to
 * a string, not the raw bytes; the tests check both agree on well-formed deliveries.
 */
function verifyStandard(request: SignedRequest, secret: string, nowMs: number): VerifyResult {
  // Svix-branded senders use the same scheme under `svix-*` header names.
  const family = header(request, 'webhook-signature') === null && header(request, 'svix-signature') !== null;
  const prefix = family ? 'svix' : 'webhook';
  const id = header(request, `${prefix}-id`);
  const timestamp = header(request, `${prefix}-timestamp`);
  const signatures = header(request, `${prefix}-signature`);
  if (id === null || timestamp === null || signatures === null) return MISSING;
  if (!/^\d{1,12}$/.test(timestamp)) return INVALID;
  const key = standardKey(secret);
  if (key === null) return INVALID;
  if (!isFresh(Number(timestamp) * 1000, nowMs)) return STALE;
  const expected = hmac(key, [`${id}.${timestamp}.`, bodyOf(request)]).toString('base64');
  for (const entry of signatures.split(' ')) {
    const [version, signature] = splitOnce(entry, ',');
    if (version === 'v1' && signature !== null && equalText(signature, expected)) {
      return { ok: true, deliveryId: id };
    }
  }
  return INVALID;
}

/** The HMAC key from a `whsec_…` (or bare) base64 secret, or null when it is not base64. */
function standardKey(secret: string): KeyObject | null {
  // Decoded once per secret: checking and decoding the base64 on every delivery showed in profiles.
  const cached = keyObjects.get(`w:${secret}`);
  if (cached !== undefined) return cached;
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) return null;
  const object = createSecretKey(key);
  if (keyObjects.size < 1_000) keyObjects.set(`w:${secret}`, object);
  return object;
}

/**
 * HubSpot v3: base64 HMAC-SHA256 with the app secret over `method + uri + body + timestamp`,
 * timestamp in milliseconds. HubSpot signs the URI with a few percent-escapes decoded (`%3A`,
 * `%2F`, …), so both the URL as received and that decoded form are accepted.
 */
function verifyHubspotV3(request: SignedRequest, secret: string, nowMs: number): VerifyResult {
  const signature = header(request, 'x-hubspot-signature-v3');
  const timestamp = header(request, 'x-hubspot-request-timestamp');
  if (signature === null || timestamp === null) return MISSING;
  if (!/^\d{1,15}$/.test(timestamp)) return INVALID;
  if (!isFresh(Number(timestamp), nowMs)) return STALE;
  const body = bodyOf(request);
  // HubSpot signs the public https URL; behind a TLS-terminating proxy Leadline sees http.
  const https = request.url.replace(/^http:/, 'https:');
  const uris = [request.url, hubspotDecodedUri(request.url), https, hubspotDecodedUri(https)];
  for (const uri of new Set(uris)) {
    const expected = hmac(secret, [request.method, uri, body, timestamp]).toString('base64');
    if (equalText(signature, expected)) return VERIFIED;
  }
  return INVALID;
}

const HUBSPOT_DECODED: Readonly<Record<string, string>> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

function hubspotDecodedUri(url: string): string {
  return url.replace(
    /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi,
    (match) => HUBSPOT_DECODED[match.toUpperCase()] ?? match,
  );
}

/** Calendly: `Calendly-Webhook-Signature: t=<unix s>,v1=<hex>`, HMAC-SHA256 over `{t}.{body}`. */
function verifyCalendly(request: SignedRequest, secret: string, nowMs: number): VerifyResult {
  const value = header(request, 'calendly-webhook-signature');
  if (value === null) return MISSING;
  let timestamp: string | null = null;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const [key, item] = splitOnce(part.trim(), '=');
    if (key === 't' && item !== null) timestamp = item;
    if (key === 'v1' && item !== null) signatures.push(item.toLowerCase());
  }
  if (timestamp === null || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) return INVALID;
  if (!isFresh(Number(timestamp) * 1000, nowMs)) return STALE;
  const expected = hmac(secret, [`${timestamp}.`, bodyOf(request)]).toString('hex');
  return signatures.some((signature) => equalText(signature, expected)) ? VERIFIED : INVALID;
}

/** Typeform: `Typeform-Signature: sha256=<base64>` of HMAC-SHA256 over the body; no timestamp. */
function verifyTypeform(request: SignedRequest, secret: string): VerifyResult {
  const value = header(request, 'typeform-signature');
  if (value === null) return MISSING;
  const [algorithm, signature] = splitOnce(value, '=');
  if (algorithm !== 'sha256' || signature === null) return INVALID;
  return equalText(signature, hmac(secret, [bodyOf(request)]).toString('base64')) ? VERIFIED : INVALID;
}

/** MOCO: `X-Moco-Signature`, hex HMAC-SHA256 over the body; its timestamp header is not signed. */
function verifyMoco(request: SignedRequest, secret: string): VerifyResult {
  const signature = header(request, 'x-moco-signature');
  if (signature === null) return MISSING;
  if (!/^[0-9a-f]{64}$/i.test(signature)) return INVALID;
  return equalText(signature.toLowerCase(), hmac(secret, [bodyOf(request)]).toString('hex'))
    ? VERIFIED
    : INVALID;
}

/**
 * Lemlist cannot sign; it echoes the `secret` chosen when the hook was created in every
 * activity. A batch verifies only when every activity carries it.
 */
function verifyLemlist(request: SignedRequest, secret: string): VerifyResult {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(request.rawBody));
  } catch {
    return INVALID;
  }
  const activities = Array.isArray(body) ? body : [body];
  if (activities.length === 0) return MISSING;
  for (const activity of activities) {
    if (typeof activity !== 'object' || activity === null || Array.isArray(activity)) return INVALID;
    if (!Object.hasOwn(activity, 'secret')) return MISSING;
    const given: unknown = (activity as { secret: unknown }).secret;
    if (typeof given !== 'string' || !equalSecret(given, secret)) return INVALID;
  }
  return VERIFIED;
}

/** Senders that cannot sign at all put the secret in the URL (path segment or `?token=`). */
function verifyUrlToken(request: SignedRequest, secret: string): VerifyResult {
  const token = request.urlToken;
  if (typeof token !== 'string' || token === '') return MISSING;
  return equalSecret(token, secret) ? VERIFIED : INVALID;
}

/** A header's trimmed value; absent and blank headers are both null. */
function header(request: SignedRequest, name: string): string | null {
  const value = request.headers.get(name);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function bodyOf(request: SignedRequest): Buffer {
  const { rawBody } = request;
  return Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
}

// Building an HMAC from a raw key costs ~10× more than from a KeyObject, and a source's secret never
// changes while the process runs: one KeyObject per distinct secret (a handful per ruleset).
const keyObjects = new Map<string, KeyObject>();

function keyObject(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string') return key;
  let object = keyObjects.get(`s:${key}`);
  if (object === undefined) {
    object = createSecretKey(Buffer.from(key, 'utf8'));
    if (keyObjects.size < 1_000) keyObjects.set(`s:${key}`, object);
  }
  return object;
}

function hmac(key: string | KeyObject, parts: readonly (string | Buffer)[]): Buffer {
  const mac = createHmac('sha256', keyObject(key));
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function isFresh(timestampMs: number, nowMs: number): boolean {
  return (
    Number.isFinite(timestampMs) && Number.isFinite(nowMs) && Math.abs(nowMs - timestampMs) <= TOLERANCE_MS
  );
}

function splitOnce(value: string, separator: string): [string, string | null] {
  const at = value.indexOf(separator);
  return at === -1 ? [value, null] : [value.slice(0, at), value.slice(at + separator.length)];
}

/** Constant-time comparison of two encoded signatures; unequal lengths fail without comparing. */
function equalText(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time comparison of shared secrets that does not reveal the expected length either. */
function equalSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
