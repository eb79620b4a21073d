import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BlockKitViolation, checkMessage, checkView } from './block-kit-limits.ts';

/** A scripted failure for the next calls of a method. `hang` never answers, so the client times out. */
export type FakeFailure =
  | { status: 429; retryAfter?: number }
  | { status: 500 | 502 | 503 | 504 }
  | { hang: true }
  | { slackError: string };

export interface FakeCall {
  /** The Web API method, or `response_url` for posts to a `responseUrl(id)`. */
  method: string;
  body: Record<string, unknown>;
  /** From the injectable clock: tests pacing on an injected clock read their own time here. */
  receivedAt: Date;
  /** The HTTP status answered, null for a hung call. */
  status: number | null;
  response: Record<string, unknown> | null;
  authorization: string | undefined;
  /** For response_url posts: the id in the path. */
  responseId?: string;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  text: unknown;
  blocks: unknown;
  /** Message metadata, as `conversations.history` returns it with `include_all_metadata`. */
  metadata?: unknown;
  updates: number;
}

export interface FakeSlack {
  /** Point the Slack client here: `http://127.0.0.1:<port>/api/`. */
  baseUrl: string;
  token: string;
  responseUrl(id: string): string;
  /** The next `n` calls of `method` (`*` for any) fail this way; calls queue up in order given. */
  failNext(method: string, n: number, failure: FakeFailure): void;
  /** While down, every call answers 503. */
  setDown(down: boolean): void;
  /** Every call of `method` (`*` for any) fails this way until the fake's clock reaches `until`. */
  failUntil(method: string, until: Date, failure: FakeFailure): void;
  setClock(clock: () => Date): void;
  /** Runs while a call is in flight, before it is answered (e.g. to change the outbox meanwhile). */
  onCall(hook: ((call: FakeCall) => Promise<void> | void) | null): void;
  calls(method?: string): FakeCall[];
  /** Calls that Slack accepted (`ok: true`). */
  succeeded(method?: string): FakeCall[];
  /** Messages as they stand in each channel after posts and updates. */
  messages(channel?: string): FakeMessage[];
  violations(): (BlockKitViolation & { method: string })[];
  addUser(user: { id: string; name?: string; real_name?: string; email?: string; tz?: string }): void;
  /** Forgets calls, failures, violations, messages and users; the ts counter keeps counting. */
  reset(): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

const MESSAGE_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'response_url']);
const VIEW_METHODS = new Set(['views.open', 'views.update', 'views.publish']);

/**
 * Starts a real HTTP server on 127.0.0.1 that answers like Slack's Web API for the methods Leadline
 * uses, records every call, validates Block Kit limits, and fails on demand.
 *
 * @example
 * const slack = await startFakeSlack();
 * const api = createSlackApi({ baseUrl: slack.baseUrl, token: slack.token, timeoutMs: 200 });
 * slack.failNext('chat.postMessage', 1, { status: 429, retryAfter: 2 });
 * afterAll(() => slack.close());
 */
export async function startFakeSlack(
  options: { token?: string; clock?: () => Date } = {},
): Promise<FakeSlack> {
  const token = options.token ?? 'xoxb-leadline-test';
  let clock = options.clock ?? (() => new Date());
  let down = false;
  let hook: ((call: FakeCall) => Promise<void> | void) | null = null;
  let tsCounter = 0;
  let viewCounter = 0;
  let calls: FakeCall[] = [];
  let failures: { method: string; failure: FakeFailure }[] = [];
  let violations: (BlockKitViolation & { method: string })[] = [];
  let messages = new Map<string, FakeMessage>();
  let users = new Map<string, Json>();
  let responseUses = new Map<string, number>();

  // Like Slack's: the (injected) clock's epoch seconds, then a part that keeps every ts unique.
  const nextTs = () => {
    tsCounter += 1;
    return `${Math.floor(clock().getTime() / 1_000)}.${String(tsCounter % 1_000_000).padStart(6, '0')}`;
  };

  const windows: { method: string; until: number; failure: FakeFailure }[] = [];
  const takeFailure = (method: string): FakeFailure | undefined => {
    const now = clock().getTime();
    const window = windows.find((w) => (w.method === method || w.method === '*') && now < w.until);
    if (window !== undefined) return window.failure;
    const index = failures.findIndex((f) => f.method === method || f.method === '*');
    if (index === -1) return undefined;
    return failures.splice(index, 1)[0]?.failure;
  };

  const answer = (res: ServerResponse, call: FakeCall, status: number, body: Json, headers: Json = {}) => {
    call.status = status;
    call.response = body;
    res.writeHead(status, { 'content-type': 'application/json', ...(headers as Record<string, string>) });
    res.end(JSON.stringify(body));
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = parseBody(await readBody(req), req.headers['content-type']);
    const responseMatch = /^\/response\/([^/]+)$/.exec(url.pathname);
    const method = responseMatch ? 'response_url' : url.pathname.replace(/^\/api\//, '');
    const call: FakeCall = {
      method,
      body,
      receivedAt: clock(),
      status: null,
      response: null,
      authorization: req.headers.authorization,
      ...(responseMatch?.[1] === undefined ? {} : { responseId: responseMatch[1] }),
    };
    calls.push(call);
    if (hook !== null) await hook(call);
    if (down) return answer(res, call, 503, { ok: false, error: 'service_unavailable' });
    const failure = takeFailure(method);
    if (failure !== undefined) {
      if ('hang' in failure) return; // never answered; close() destroys the socket
      if ('slackError' in failure) return answer(res, call, 200, { ok: false, error: failure.slackError });
      if (failure.status === 429) {
        return answer(
          res,
          call,
          429,
          { ok: false, error: 'ratelimited' },
          { 'retry-after': String(failure.retryAfter ?? 1) },
        );
      }
      return answer(res, call, failure.status, { ok: false, error: 'internal_error' });
    }
    if (method !== 'response_url' && req.headers.authorization !== `Bearer ${token}`) {
      return answer(res, call, 200, { ok: false, error: 'invalid_auth' });
    }
    const found = validate(method, body);
    if (found.length > 0) violations.push(...found.map((v) => ({ ...v, method })));
    // Slack accepts a missing text fallback (with a warning); everything else it rejects.
    const fatal = found.filter((v) => v.rule !== 'text_fallback');
    if (fatal.length > 0) {
      return answer(res, call, 200, {
        ok: false,
        error: 'invalid_blocks',
        errors: fatal.map((v) => `${v.message} [json-pointer:/${v.path.replaceAll('.', '/')}]`),
      });
    }
    const [status, result] = handle(method, body, responseMatch?.[1]);
    return answer(res, call, status, result);
  });

  const handle = (method: string, body: Json, responseId: string | undefined): [number, Json] => {
    switch (method) {
      case 'chat.postMessage': {
        const channel = str(body['channel']);
        if (channel === undefined) return [200, { ok: false, error: 'channel_not_found' }];
        if (body['text'] === undefined && body['blocks'] === undefined)
          return [200, { ok: false, error: 'no_text' }];
        // A bot posting to a user id lands in the DM with that user, whose id Slack answers with.
        const target = /^[UW]/.test(channel) ? `D${channel.slice(1)}` : channel;
        const ts = nextTs();
        messages.set(`${target}:${ts}`, {
          channel: target,
          ts,
          text: body['text'],
          blocks: body['blocks'],
          ...(body['metadata'] === undefined ? {} : { metadata: body['metadata'] }),
          updates: 0,
        });
        return [200, { ok: true, channel: target, ts, message: { type: 'message', text: body['text'], ts } }];
      }
      case 'chat.update': {
        const channel = str(body['channel']) ?? '';
        const ts = str(body['ts']) ?? '';
        const message = messages.get(`${channel}:${ts}`);
        if (message === undefined) return [200, { ok: false, error: 'message_not_found' }];
        message.text = body['text'];
        message.blocks = body['blocks'];
        message.updates += 1;
        return [200, { ok: true, channel, ts, text: body['text'] }];
      }
      case 'chat.postEphemeral':
        if (str(body['user']) === undefined) return [200, { ok: false, error: 'user_not_in_channel' }];
        return [200, { ok: true, message_ts: nextTs() }];
      case 'views.open':
      case 'views.update':
      case 'views.publish': {
        if (method === 'views.open' && str(body['trigger_id']) === undefined) {
          return [200, { ok: false, error: 'invalid_trigger_id' }];
        }
        if (method === 'views.publish' && str(body['user_id']) === undefined) {
          return [200, { ok: false, error: 'invalid_arguments' }];
        }
        viewCounter += 1;
        const id = str(body['view_id']) ?? `V${String(viewCounter).padStart(8, '0')}`;
        return [200, { ok: true, view: { ...(body['view'] as Json), id, hash: `hash-${viewCounter}` } }];
      }
      case 'users.info': {
        const id = str(body['user']) ?? '';
        const user = users.get(id) ?? {
          id,
          name: id.toLowerCase(),
          real_name: `User ${id}`,
          tz: 'Europe/Berlin',
          profile: { email: `${id.toLowerCase()}@leadline.example` },
        };
        return [200, { ok: true, user }];
      }
      case 'auth.test':
        return [
          200,
          {
            ok: true,
            url: 'https://leadline-test.slack.com/',
            team: 'Leadline Test',
            user: 'leadline',
            team_id: 'T0LEADLINE',
            user_id: 'U0LEADBOT',
            bot_id: 'B0LEADBOT',
          },
        ];
      case 'conversations.history': {
        const channel = str(body['channel']) ?? '';
        const oldest = Number(str(body['oldest']) ?? body['oldest'] ?? 0);
        const all = body['include_all_metadata'] === true || body['include_all_metadata'] === 'true';
        const found = [...messages.values()]
          .filter((m) => m.channel === channel && Number(m.ts) >= oldest)
          .sort((a, b) => Number(b.ts) - Number(a.ts))
          .map((m) => ({ type: 'message', ts: m.ts, text: m.text, ...(all && m.metadata !== undefined ? { metadata: m.metadata } : {}) }));
        return [200, { ok: true, messages: found, has_more: false }];
      }
      case 'conversations.list': {
        // The fake keeps a posted channel name as its id: `#hot-leads` is listed with id `#hot-leads`.
        const named = [...new Set([...messages.values()].map((m) => m.channel).filter((c) => c.startsWith('#')))];
        return [200, { ok: true, channels: named.map((id) => ({ id, name: id.slice(1) })), response_metadata: { next_cursor: '' } }];
      }
      case 'conversations.open': {
        const user = (str(body['users']) ?? '').split(',')[0] ?? '';
        if (user === '') return [200, { ok: false, error: 'user_not_found' }];
        return [200, { ok: true, channel: { id: `D${user.slice(1)}` } }];
      }
      case 'response_url': {
        const id = responseId ?? '';
        const uses = (responseUses.get(id) ?? 0) + 1;
        responseUses.set(id, uses);
        // A response_url works five times; Slack answers later posts with 404 `used_url`.
        if (uses > 5) return [404, { ok: false, error: 'used_url' }];
        return [200, { ok: true }];
      }
      default:
        return [200, { ok: false, error: 'unknown_method' }];
    }
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    baseUrl: `${origin}/api/`,
    token,
    responseUrl: (id) => `${origin}/response/${encodeURIComponent(id)}`,
    failNext: (method, n, failure) => {
      for (let i = 0; i < n; i += 1) failures.push({ method, failure });
    },
    setDown: (value) => {
      down = value;
    },
    failUntil: (method, until, failure) => {
      windows.push({ method, until: until.getTime(), failure });
    },
    setClock: (value) => {
      clock = value;
    },
    onCall: (value) => {
      hook = value;
    },
    calls: (method) => calls.filter((c) => method === undefined || c.method === method),
    succeeded: (method) =>
      calls.filter((c) => (method === undefined || c.method === method) && c.response?.['ok'] === true),
    messages: (channel) =>
      [...messages.values()].filter((m) => channel === undefined || m.channel === channel),
    violations: () => [...violations],
    addUser: (user) => {
      users.set(user.id, {
        id: user.id,
        name: user.name ?? user.id.toLowerCase(),
        real_name: user.real_name ?? `User ${user.id}`,
        tz: user.tz ?? 'Europe/Berlin',
        profile: { email: user.email ?? `${user.id.toLowerCase()}@leadline.example` },
      });
    },
    reset: () => {
      calls = [];
      failures = [];
      violations = [];
      messages = new Map();
      windows.length = 0;
      users = new Map();
      responseUses = new Map();
      down = false;
      hook = null;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function validate(method: string, body: Json): BlockKitViolation[] {
  if (MESSAGE_METHODS.has(method) && body['blocks'] !== undefined) return checkMessage(body);
  if (VIEW_METHODS.has(method) && typeof body['view'] === 'object' && body['view'] !== null) {
    return checkView(body['view'] as Json);
  }
  return [];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string | undefined): Json {
  if (text === '') return {};
  if (contentType?.includes('application/json')) {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null ? (value as Json) : {};
    } catch {
      return {};
    }
  }
  // Form-encoded, as Slack's read methods take: JSON-looking values (view, blocks) are decoded.
  const out: Json = {};
  for (const [key, value] of new URLSearchParams(text)) {
    out[key] = /^[[{]/.test(value) ? safeJson(value) : value;
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
