/**
 * A thin Slack Web API client that never throws and never retries: it classifies each outcome so the
 * delivery outbox can decide (pace, back off, dead-letter). Retrying here would hide 429s from the
 * per-channel pacing and hold a dispatcher for minutes.
 */

export type SlackFailureKind = 'rate_limited' | 'server' | 'network' | 'timeout' | 'slack_error';

export type SlackResult =
  | { ok: true; data: Record<string, unknown> }
  | { ok: false; kind: 'rate_limited'; retryAfterSeconds: number }
  | { ok: false; kind: 'server' | 'network' | 'timeout'; error: string }
  /** Slack's own `ok: false` error (`channel_not_found`, `invalid_blocks`, …): retrying will not help. */
  | { ok: false; kind: 'slack_error'; error: string };

export interface SlackApi {
  call(method: string, body: Record<string, unknown>): Promise<SlackResult>;
  /** Posts to an interaction's response_url. The bot token is never sent there. */
  postToResponseUrl(url: string, body: Record<string, unknown>): Promise<SlackResult>;
}

export interface SlackApiOptions {
  /** `https://slack.com/api/` in production; a local fake in tests. */
  baseUrl: string;
  token: string;
  timeoutMs?: number;
}

// Slack answers these with ok:false although a later try can succeed.
const TRANSIENT_SLACK_ERRORS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

// Read methods that do not accept JSON bodies; Slack wants them form-encoded.
const FORM_METHODS = new Set([
  'users.info',
  'users.lookupByEmail',
  'conversations.info',
  'conversations.members',
  'auth.test',
]);

/**
 * Creates the Slack client.
 *
 * @example
 * const slack = createSlackApi({ baseUrl: 'https://slack.com/api/', token: process.env.SLACK_BOT_TOKEN!, timeoutMs: 10_000 });
 * const result = await slack.call('chat.postMessage', { channel: 'C123', text: 'New A lead' });
 * if (result.ok) console.log(result.data.ts);
 */
export function createSlackApi(options: SlackApiOptions): SlackApi {
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    call: (method, body) => {
      const form = FORM_METHODS.has(method);
      return send(new URL(method, base), {
        authorization: `Bearer ${options.token}`,
        contentType: form ? 'application/x-www-form-urlencoded' : 'application/json; charset=utf-8',
        body: form ? formEncode(body) : JSON.stringify(body),
        timeoutMs,
      });
    },
    postToResponseUrl: (url, body) =>
      send(new URL(url), {
        authorization: undefined,
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify(body),
        timeoutMs,
      }),
  };
}

async function send(
  url: URL,
  request: { authorization: string | undefined; contentType: string; body: string; timeoutMs: number },
): Promise<SlackResult> {
  const headers: Record<string, string> = { 'content-type': request.contentType };
  if (request.authorization !== undefined) headers['authorization'] = request.authorization;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    // The timeout signal also covers reading the body: a server that stalls mid-answer times out too.
    text = await response.text();
  } catch (err) {
    return classifyThrown(err);
  }
  if (response.status === 429) {
    return { ok: false, kind: 'rate_limited', retryAfterSeconds: parseRetryAfter(response.headers) };
  }
  if (response.status >= 500) {
    return { ok: false, kind: 'server', error: `http_${response.status}` };
  }
  const data = parseJson(text);
  if (response.status >= 400) {
    // response_url answers 404 `expired_url`/`used_url`; other 4xx are not going to change either.
    const error =
      typeof data?.['error'] === 'string' ? data['error'] : text.trim() || `http_${response.status}`;
    return { ok: false, kind: 'slack_error', error: error.slice(0, 200) };
  }
  if (data === null) {
    // response_url may answer with plain `ok`; the Web API always answers JSON.
    return { ok: true, data: {} };
  }
  if (data['ok'] === false) {
    const error = typeof data['error'] === 'string' ? data['error'] : 'unknown_error';
    if (error === 'ratelimited') {
      return { ok: false, kind: 'rate_limited', retryAfterSeconds: parseRetryAfter(response.headers) };
    }
    if (TRANSIENT_SLACK_ERRORS.has(error)) return { ok: false, kind: 'server', error };
    return { ok: false, kind: 'slack_error', error };
  }
  return { ok: true, data };
}

function classifyThrown(err: unknown): SlackResult {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return { ok: false, kind: 'timeout', error: 'timeout' };
  }
  // undici reports connection failures as `TypeError: fetch failed` with the socket error as cause.
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, kind: 'network', error: code ?? message };
}

function parseRetryAfter(headers: Headers): number {
  const value = Number.parseInt(headers.get('retry-after') ?? '', 10);
  // Slack always sends it; a missing, zero or odd value still pauses a second rather than hammering.
  return Number.isFinite(value) && value >= 1 ? value : 1;
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function formEncode(body: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined || value === null) continue;
    params.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  return params.toString();
}
