/**
 * The MOCO client's transport: every attempt takes a slot from the shared rate budget first, then
 * one fetch whose outcome is classified. What a later try can fix is retried here, with backoff;
 * everything else becomes a `LeadlineError` at once:
 *
 * | MOCO answers                     | thrown code             | retried                                        |
 * | -------------------------------- | ----------------------- | ---------------------------------------------- |
 * | 429                              | `upstream_rate_limited` | after `Retry-After` (seconds), else backoff     |
 * | 503, no connection               | `upstream_failed`       | yes (MOCO did not act on the request)          |
 * | other 5xx, 408, timeout, reset   | `upstream_failed`       | GET and PUT only (see below)                   |
 * | 401, 403                         | `moco_unauthorized`     | never: the key is wrong or lacks the right     |
 * | 404                              | `not_found`             | never                                          |
 * | 422, other 4xx                   | `moco_rejected`         | never; MOCO's message is the error's message   |
 * | 2xx of an unexpected shape       | `upstream_failed`       | never                                          |
 *
 * A POST that timed out or met a 500 may have been carried out: MOCO has no idempotency keys, so
 * sending it again could create a second deal or invoice. Such a POST is not retried; its error says
 * the outcome is unknown, and the caller looks before it creates again.
 */
import type { z } from 'zod';
import { type ErrorIssue, formatIssues, LeadlineError } from '../errors.ts';

/** The shared request budget; `take()` resolves when one more request may go to MOCO. */
export interface MocoLimiter {
  take(): Promise<void>;
}

export interface MocoTransportOptions {
  /** `https://{subdomain}.mocoapp.com/api/v1`, without a trailing `/`. */
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  limiter: MocoLimiter;
  /** Tries per request, the first included. */
  maxAttempts: number;
  /** Backoff before retry n: `baseDelayMs · 2^(n-1)`, at most `maxDelayMs`, then jittered to 50–100 %. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A longer `Retry-After` gives up at once, so a job is rescheduled instead of held. */
  maxRetryAfterMs: number;
  /** Pages a list may have; more is refused rather than silently cut. */
  maxPages: number;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter source. */
  random: () => number;
  /** Told how each attempt ended (ok, rate_limited, retry: 5xx/timeout, failed: an answer that ends it). */
  onAttempt?: (outcome: 'ok' | 'rate_limited' | 'retry' | 'failed') => void;
}

type Method = 'GET' | 'POST' | 'PUT';
type Query = Record<string, string | undefined>;

// `unsent`: MOCO cannot have acted, any request may go again. `unknown`: only idempotent ones may.
type Outcome =
  | { kind: 'ok'; headers: Headers; json: unknown }
  | { kind: 'retry'; safety: 'unsent' | 'unknown'; reason: string; retryAfterMs: number | null; limited: boolean }
  | { kind: 'fail'; error: LeadlineError };

const UNSENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export interface MocoTransport {
  /** One request; the answer is checked against `schema`. */
  request<T>(method: Method, path: string, schema: z.ZodType<T>, input?: { query?: Query; body?: object }): Promise<T>;
  /** A GET list, every page of it. */
  list<T>(path: string, item: z.ZodType<T>, query?: Query): Promise<T[]>;
}

/**
 * Creates the transport the MOCO client's methods run on.
 *
 * @example
 * const http = createMocoTransport({ baseUrl, apiKey, timeoutMs: 15_000, limiter, maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 30_000, maxRetryAfterMs: 120_000, maxPages: 50, sleep, random: Math.random });
 * const users = await http.list('/users', userSchema);
 */
export function createMocoTransport(options: MocoTransportOptions): MocoTransport {
  const base = new URL(`${options.baseUrl.replace(/\/+$/, '')}/`);
  const urlOf = (path: string, query: Query = {}) => {
    const url = new URL(path.replace(/^\//, ''), base);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
    return url;
  };
  return {
    request: async (method, path, schema, input = {}) => {
      const { json } = await send(options, method, urlOf(path, input.query), input.body);
      return parseAnswer(schema, json, `${method} ${path}`);
    },
    list: async (path, item, query) => {
      const items: z.infer<typeof item>[] = [];
      let url: URL | null = urlOf(path, query);
      for (let page = 1; url !== null; page += 1) {
        if (page > options.maxPages) {
          throw new LeadlineError('upstream_failed', `MOCO lists more than ${options.maxPages} pages for GET ${path}`, {
            status: 502,
          });
        }
        const { headers, json } = await send(options, 'GET', url, undefined);
        const rows = parseAnswer(item.array(), json, `GET ${path}`);
        items.push(...rows);
        url = rows.length === 0 ? null : nextPage(url, headers, base, path);
      }
      return items;
    },
  };
}

async function send(
  options: MocoTransportOptions,
  method: Method,
  url: URL,
  body: object | undefined,
): Promise<{ headers: Headers; json: unknown }> {
  const label = `${method} ${url.pathname}`;
  for (let attempt = 1; ; attempt += 1) {
    await options.limiter.take();
    const outcome = await attemptOnce(options, method, url, body, label);
    options.onAttempt?.(outcome.kind === 'ok' ? 'ok' : outcome.kind === 'fail' ? 'failed' : outcome.limited ? 'rate_limited' : 'retry');
    if (outcome.kind === 'ok') return outcome;
    if (outcome.kind === 'fail') throw outcome.error;
    if (outcome.safety === 'unknown' && method === 'POST') {
      throw new LeadlineError(
        'upstream_failed',
        `MOCO did not answer ${label} (${outcome.reason}); outcome unknown, look before creating again`,
        { status: 503 },
      );
    }
    const tooLong = outcome.retryAfterMs !== null && outcome.retryAfterMs > options.maxRetryAfterMs;
    if (attempt >= options.maxAttempts || tooLong) throw exhausted(outcome, label, attempt);
    await options.sleep(outcome.retryAfterMs ?? backoff(options, attempt));
  }
}

async function attemptOnce(
  options: MocoTransportOptions,
  method: Method,
  url: URL,
  body: object | undefined,
  label: string,
): Promise<Outcome> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Token token=${options.apiKey}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    // The timeout covers the body too: a MOCO that stalls mid-answer times out like one that never answers.
    text = await response.text();
  } catch (err) {
    return thrown(err);
  }
  return classify(response, text, label);
}

function classify(response: Response, text: string, label: string): Outcome {
  const { status } = response;
  if (status >= 200 && status < 300) {
    const json = parseJson(text);
    if (json === undefined) return fail('upstream_failed', `MOCO answered ${label} with a body that is not JSON`, 502);
    return { kind: 'ok', headers: response.headers, json };
  }
  const reason = `http_${status}`;
  if (status === 429) {
    return { kind: 'retry', safety: 'unsent', reason, retryAfterMs: retryAfterMs(response.headers), limited: true };
  }
  if (status === 503) return { kind: 'retry', safety: 'unsent', reason, retryAfterMs: null, limited: false };
  if (status >= 500 || status === 408) {
    return { kind: 'retry', safety: 'unknown', reason, retryAfterMs: null, limited: false };
  }
  const said = mocoMessage(parseJson(text));
  const detail = said.message === undefined ? '' : `: ${said.message}`;
  if (status === 401 || status === 403) {
    return fail('moco_unauthorized', `MOCO refused Leadline's API key for ${label} (${status})${detail}`, 502);
  }
  if (status === 404) return fail('not_found', `MOCO knows no such record: ${label} (404)${detail}`, 404);
  const message = said.message ?? `http_${status}`;
  return { kind: 'fail', error: new LeadlineError('moco_rejected', message, { status: 502, issues: said.issues }) };
}

function thrown(err: unknown): Outcome {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return { kind: 'retry', safety: 'unknown', reason: 'timeout', retryAfterMs: null, limited: false };
  }
  // undici reports connection failures as `TypeError: fetch failed` with the socket error as cause.
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : 'network';
  const safety = UNSENT_NETWORK_CODES.has(code) ? 'unsent' : 'unknown';
  return { kind: 'retry', safety, reason: code, retryAfterMs: null, limited: false };
}

function exhausted(outcome: Extract<Outcome, { kind: 'retry' }>, label: string, attempts: number): LeadlineError {
  if (outcome.limited) {
    const after = outcome.retryAfterMs === null ? '' : `; retry after ${Math.ceil(outcome.retryAfterMs / 1000)}s`;
    return new LeadlineError('upstream_rate_limited', `MOCO rate-limited ${label} ${attempts} times${after}`, {
      status: 429,
    });
  }
  const message = `MOCO unavailable for ${label} after ${attempts} attempts (${outcome.reason})`;
  return new LeadlineError('upstream_failed', message, { status: 503 });
}

function backoff(options: MocoTransportOptions, attempt: number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  // Equal jitter: never less than half, so workers failing together spread out without retrying at once.
  return Math.round(ceiling * (0.5 + 0.5 * options.random()));
}

// Seconds only: an HTTP-date would make the wait depend on this machine's clock agreeing with MOCO's.
function retryAfterMs(headers: Headers): number | null {
  const seconds = Number(headers.get('retry-after') ?? '');
  if (headers.get('retry-after') === null || !Number.isFinite(seconds) || seconds < 0) return null;
  // A zero still pauses a second rather than spending the next attempts at once.
  return Math.max(1_000, Math.ceil(seconds * 1_000));
}

/**
 * MOCO's 422 bodies say what is wrong as `{"message": "…"}`; Rails-style field errors
 * (`{"errors": {"lastname": ["can't be blank"]}}`, or that map at the top level) are read too.
 */
function mocoMessage(body: unknown): { message: string | undefined; issues: ErrorIssue[] } {
  if (!isRecord(body)) return { message: undefined, issues: [] };
  const errors = body['errors'];
  const fields = isRecord(errors) ? errors : Array.isArray(errors) ? { '(root)': errors } : body;
  const issues = Object.entries(fields).flatMap(([path, value]) =>
    (Array.isArray(value) ? value : [value])
      .filter((message): message is string => typeof message === 'string' && path !== 'message')
      .map((message) => ({ path, message })),
  );
  const direct = typeof body['message'] === 'string' ? body['message'] : undefined;
  if (direct !== undefined) {
    const root = [{ path: '(root)', message: direct }];
    return { message: direct.slice(0, 500), issues: issues.length > 0 ? issues : root };
  }
  const joined = issues.map((i) => (i.path === '(root)' ? i.message : `${i.path} ${i.message}`)).join(', ');
  return { message: joined === '' ? undefined : joined.slice(0, 500), issues };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nextPage(current: URL, headers: Headers, base: URL, path: string): URL | null {
  const link = /<([^>]*)>\s*;[^,]*\brel="?next"?/i.exec(headers.get('link') ?? '')?.[1];
  if (link !== undefined) {
    const next = new URL(link, current);
    // The key goes with every request: a next page elsewhere would hand it to someone else.
    if (next.origin !== base.origin || !next.pathname.startsWith(base.pathname)) {
      throw new LeadlineError('upstream_failed', `MOCO pointed the next page of GET ${path} to another host`, {
        status: 502,
      });
    }
    return next;
  }
  const page = Number(headers.get('x-page'));
  const perPage = Number(headers.get('x-per-page'));
  const total = Number(headers.get('x-total'));
  if (!(page >= 1 && perPage >= 1 && total >= 0) || page * perPage >= total) return null;
  const next = new URL(current);
  next.searchParams.set('page', String(page + 1));
  return next;
}

function parseAnswer<T>(schema: z.ZodType<T>, json: unknown, label: string): T {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  // Paths only: values may be personal data of MOCO contacts.
  const paths = [...new Set(formatIssues(parsed.error.issues).map((i) => i.path))].slice(0, 10);
  throw new LeadlineError('upstream_failed', `MOCO answered ${label} in an unexpected shape (${paths.join(', ')})`, {
    status: 502,
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function fail(code: 'upstream_failed' | 'moco_unauthorized' | 'not_found', message: string, status: number): Outcome {
  return { kind: 'fail', error: new LeadlineError(code, message, { status }) };
}
