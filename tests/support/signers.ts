/**
 * Sign test deliveries exactly as each vendor does, so tests exercise the real verification
 * path. Every helper returns the headers to send (lowercase names), ready to spread into a
 * request's headers. `body` is the exact text (or bytes) that will be sent.
 */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

type Body = string | Uint8Array;

function hmac(key: string, parts: readonly Body[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Standard Webhooks / Svix, signed with the `standardwebhooks` reference package (an independent
 * implementation from Leadline's verifier). `secret` is `whsec_<base64>`; `timestamp` is unix
 * seconds.
 *
 * @example
 * const headers = signStandard({ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id: 'msg_1', timestamp: Math.floor(Date.now() / 1000), body });
 * // { 'webhook-id': 'msg_1', 'webhook-timestamp': '1763…', 'webhook-signature': 'v1,…' }
 */
export function signStandard(input: {
  secret: string;
  id: string;
  timestamp: number;
  body: Body;
}): Record<string, string> {
  const payload = typeof input.body === 'string' ? input.body : Buffer.from(input.body);
  const signature = new Webhook(input.secret).sign(input.id, new Date(input.timestamp * 1000), payload);
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': signature,
  };
}

/**
 * HubSpot v3: base64 HMAC-SHA256 of `method + url + body + timestamp` with the app's client
 * secret. `url` must be the full URL the request is sent to; `timestampMs` is epoch ms.
 *
 * @example
 * signHubspotV3({ secret, method: 'POST', url: 'http://leadline.test/webhooks/hubspot', body, timestampMs: Date.now() })
 * // { 'x-hubspot-signature-v3': '…', 'x-hubspot-request-timestamp': '1763…' }
 */
export function signHubspotV3(input: {
  secret: string;
  method?: string;
  url: string;
  body: Body;
  timestampMs: number;
}): Record<string, string> {
  const timestamp = String(input.timestampMs);
  const signature = hmac(input.secret, [input.method ?? 'POST', input.url, input.body, timestamp]);
  return { 'x-hubspot-signature-v3': signature.toString('base64'), 'x-hubspot-request-timestamp': timestamp };
}

/**
 * Calendly: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` with the signing key.
 *
 * @example
 * signCalendly({ secret, body, t: Math.floor(Date.now() / 1000) })
 * // { 'calendly-webhook-signature': 't=1763…,v1=5257a8…' }
 */
export function signCalendly(input: { secret: string; body: Body; t: number }): Record<string, string> {
  const signature = hmac(input.secret, [`${input.t}.`, input.body]).toString('hex');
  return { 'calendly-webhook-signature': `t=${input.t},v1=${signature}` };
}

/**
 * Typeform: `sha256=<base64 HMAC-SHA256 of the body>`; Typeform signs no timestamp.
 *
 * @example
 * signTypeform({ secret, body }) // { 'typeform-signature': 'sha256=…' }
 */
export function signTypeform(input: { secret: string; body: Body }): Record<string, string> {
  return { 'typeform-signature': `sha256=${hmac(input.secret, [input.body]).toString('base64')}` };
}

/**
 * MOCO: lowercase hex HMAC-SHA256 of the body, keyed with the hook's 32-hex-character key. Add
 * `x-moco-target` / `x-moco-event` yourself (see `mocoHeaders` in payloads.ts).
 *
 * @example
 * signMoco({ secret: '1d608b9d72219b90ff2393a1d3ee0ac0', body: '{"id":111,"description":"a description"}' })
 * // { 'x-moco-signature': 'bf027a86207ef1ca1cb76f5a536b41a14287ab1a0fd5b33bfe86924bc2f48fd1' }
 */
export function signMoco(input: { secret: string; body: Body }): Record<string, string> {
  return { 'x-moco-signature': hmac(input.secret, [input.body]).toString('hex') };
}
