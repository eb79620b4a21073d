import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import {
  App,
  type Authorize,
  type Logger as BoltLogger,
  ErrorCode,
  HTTPModuleFunctions,
  HTTPReceiver,
  LogLevel,
  type ReceiverProcessEventErrorHandlerArgs,
  type ReceiverUnhandledRequestHandlerArgs,
  SocketModeReceiver,
  webApi,
} from '@slack/bolt';
import type { ErrorCode as LeadlineErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { trackListenerWork } from './listener-work.ts';
import { acknowledgeLeftovers, readSlackBody, slackBodyProblem } from './slack-guard.ts';

/** The one path Slack posts to: slash commands, interactivity and the Events API alike. */
export const SLACK_EVENTS_PATH = '/slack/events';

/**
 * How long Bolt waits for a listener's `ack()` before answering on its behalf. Slack gives up at
 * 3,000 ms; Bolt's own default (3,001 ms) would answer after the user already saw a timeout.
 */
export const ACK_DEADLINE_MS = 2_500;

/** Slack signs with a timestamp; Bolt rejects old ones, this also rejects ones from the future. */
const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/** What a user sees when `/lead` failed before its listener answered. */
export const COMMAND_FAILED_TEXT =
  'Sorry, Leadline could not handle that command just now. Please try again.';

export interface SlackAppOptions {
  signingSecret: string;
  botToken: string;
  /** Web API base, e.g. `https://slack.com/api/`, or a local fake in tests. */
  apiUrl: string;
  /** An app-level token (`xapp-…`) switches to Socket Mode, for local development. */
  appToken?: string;
  /** The bot's user id; when unknown, one `auth.test` on the first request finds it. */
  botUserId?: string;
  log: Logger;
}

export interface SlackApp {
  /** The Bolt app; listener modules call `register(app, deps)` on it. */
  app: App;
  /**
   * Node request listener for the shared HTTP server: serves `POST /slack/events` and calls
   * `next()` for every other request, with its body unread.
   */
  requestListener: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  /** Opens the Socket Mode connection; nothing to do in HTTP mode (the shared server serves). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds Leadline's Slack transport. In HTTP mode Bolt's `HTTPReceiver` owns `POST /slack/events`
 * on Leadline's own server (no second port, no Slack call at start-up); with `appToken` it uses
 * Socket Mode instead. Listeners ack first and work afterwards (`processBeforeResponse: false`).
 *
 * @example
 * const slack = createSlackApp({ signingSecret, botToken, apiUrl: 'https://slack.com/api/', log });
 * registerPing(slack.app);
 * const hono = getRequestListener(app.fetch);
 * const server = createServer((req, res) => slack.requestListener(req, res, () => hono(req, res)));
 * await slack.start();
 */
export function createSlackApp(options: SlackAppOptions): SlackApp {
  const log = options.log.child({ component: 'slack' });
  const logger = boltLogger(log);
  // Bolt adds its logger to this object; each app gets a fresh one.
  const clientOptions: webApi.WebClientOptions = { slackApiUrl: withTrailingSlash(options.apiUrl) };

  const receiver = createReceiver(options, log, logger, clientOptions);

  const app: App = new App({
    receiver,
    authorize: singleWorkspace(() => app.client, options.botToken, options.botUserId),
    logger,
    logLevel: logger.getLevel(),
    clientOptions,
    // Leadline keeps conversation state in PostgreSQL, not in Bolt's per-process memory store.
    convoStore: false,
    extendedErrorHandler: true,
  });
  // With `authorize`, Bolt leaves `app.client` without a token; listeners get an authorized
  // `client` argument anyway, and this keeps `app.client` usable for the same workspace.
  app.client = new webApi.WebClient(options.botToken, app.webClientOptions);

  // First of all middleware, so it sees each request's work to its end.
  const work = trackListenerWork(app);
  acknowledgeLeftovers(app, log, { response_type: 'ephemeral', text: COMMAND_FAILED_TEXT });

  // Logged once here, then rethrown so the receiver answers Slack (see answerFailedEvent).
  app.error(async ({ error, body }: { error: Error; body: unknown }) => {
    log.error({ err: error, slack: describeBody(body) }, 'Slack listener failed');
    throw error;
  });

  if (receiver instanceof SocketModeReceiver) {
    return {
      app,
      requestListener: (_req, _res, next) => next(),
      start: async () => {
        await app.start();
        log.info('Slack Socket Mode connected');
      },
      stop: async () => {
        await receiver.client.disconnect();
        await work.settled();
      },
    };
  }
  return {
    app,
    requestListener: httpRequestListener(receiver, log),
    // HTTP mode shares Leadline's server: Bolt's own `start()` would open a second one. Stopping
    // waits for listener work after the ack; the server stops taking requests alongside.
    start: async () => {},
    stop: () => work.settled(),
  };
}

function createReceiver(
  options: SlackAppOptions,
  log: Logger,
  logger: ReturnType<typeof boltLogger>,
  clientOptions: webApi.WebClientOptions,
): SocketModeReceiver | HTTPReceiver {
  if (options.appToken !== undefined && options.appToken !== '') {
    return new SocketModeReceiver({
      appToken: options.appToken,
      logger,
      // The Socket Mode client opens its connection through apps.connections.open on this base.
      installerOptions: { clientOptions: { ...clientOptions } },
    });
  }
  return new HTTPReceiver({
    signingSecret: options.signingSecret,
    endpoints: SLACK_EVENTS_PATH,
    signatureVerification: true,
    processBeforeResponse: false,
    logger,
    unhandledRequestTimeoutMillis: ACK_DEADLINE_MS,
    unhandledRequestHandler: answerUnacknowledged(log),
    processEventErrorHandler: answerFailedEvent,
  });
}

// Bolt answers POST /slack/events; every other request goes on, body unread, to `next` (Hono).
function httpRequestListener(receiver: HTTPReceiver, log: Logger): SlackApp['requestListener'] {
  return (req, res, next) => {
    const path = pathOf(req.url);
    // A target no URL parser accepts (`//`) is not Slack's, and would make Bolt throw.
    if (path === null) {
      next();
      return;
    }
    if (req.method === 'POST' && path === SLACK_EVENTS_PATH && fromTheFuture(req)) {
      log.warn({ path: req.url }, 'Slack request timestamp is in the future; rejected');
      res.writeHead(401).end();
      return;
    }
    if (req.method !== 'POST' || path !== SLACK_EVENTS_PATH) {
      dispatch(receiver, req, res, next, log);
      return;
    }
    void guardedDispatch(receiver, req, res, log);
  };
}

// Reads and checks the body before Bolt sees it (see slack-guard.ts); Bolt reuses the buffer.
async function guardedDispatch(receiver: HTTPReceiver, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  try {
    const raw = await readSlackBody(req);
    if (raw === null) {
      res.writeHead(413).end();
      return;
    }
    const problem = slackBodyProblem(raw, req.headers['content-type']);
    if (problem !== null) {
      log.warn({ problem }, 'Slack request body is not a Slack payload; refused');
      const error: LeadlineErrorCode = 'invalid_payload';
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error, message: problem }));
      return;
    }
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
    dispatch(receiver, req, res, () => res.writeHead(404).end(), log);
  } catch (err) {
    log.error({ err, path: req.url }, 'Slack request could not be read');
    if (!res.headersSent) res.writeHead(400).end();
  }
}

function dispatch(receiver: HTTPReceiver, req: IncomingMessage, res: ServerResponse, next: () => void, log: Logger): void {
  try {
    receiver.requestListener(req, res);
  } catch (err) {
    // Bolt throws synchronously, before reading the body, for every path it does not own.
    if (isDeferred(err)) {
      next();
      return;
    }
    log.error({ err, path: req.url }, 'Slack request dispatch failed');
    if (!res.headersSent) res.writeHead(500).end();
  }
}

/**
 * Adapts Leadline's pino logger to Bolt's Logger interface. Levels follow pino (Bolt's `setLevel`
 * and `setName` are ignored: the web client renames its logger on every construction).
 *
 * @example
 * new App({ logger: boltLogger(log), ... });
 */
export function boltLogger(log: Logger): BoltLogger {
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...msg: unknown[]): void => {
      if (!log.isLevelEnabled(level)) return;
      const err = msg.find((part): part is Error => part instanceof Error);
      const text = msg
        .filter((part) => part !== err)
        .map((part) => (typeof part === 'string' ? part : inspect(part, { depth: 4, breakLength: Infinity })))
        .join(' ');
      if (err === undefined) log[level](text);
      else log[level]({ err }, text === '' ? err.message : text);
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: () => {},
    setName: () => {},
    getLevel: () => boltLevel(log.level),
  };
}

function boltLevel(level: string): LogLevel {
  if (level === 'trace' || level === 'debug') return LogLevel.DEBUG;
  if (level === 'info') return LogLevel.INFO;
  if (level === 'warn') return LogLevel.WARN;
  return LogLevel.ERROR;
}

// One workspace, one bot token. Without a known bot user id, a single auth.test on first use finds
// it (and is retried on the next request if it failed): start-up never calls Slack, and requests do
// not call auth.test each time, as Bolt's own token path would without both botId and botUserId.
function singleWorkspace(
  client: () => webApi.WebClient,
  botToken: string,
  botUserId: string | undefined,
): Authorize<boolean> {
  let identity: Promise<{ botUserId?: string; botId?: string }> | null =
    botUserId === undefined || botUserId === '' ? null : Promise.resolve({ botUserId });
  return async () => {
    identity ??= client()
      .auth.test({ token: botToken })
      .then(
        (result) => ({ botUserId: result.user_id, botId: result.bot_id }),
        (err: unknown) => {
          identity = null;
          throw err;
        },
      );
    return { botToken, ...(await identity) };
  };
}

function isDeferred(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { code?: unknown }).code === ErrorCode.HTTPReceiverDeferredRequestError
  );
}

// Bolt parses the path the same way (WHATWG URL against a dummy base).
function pathOf(url: string | undefined): string | null {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
}

function fromTheFuture(req: IncomingMessage): boolean {
  const header = req.headers['x-slack-request-timestamp'];
  if (typeof header !== 'string') return false;
  const timestamp = Number(header);
  return Number.isFinite(timestamp) && timestamp > Date.now() / 1000 + MAX_CLOCK_SKEW_SECONDS;
}

// Slack shows the user a bare "failed" for a non-200 slash command answer; a 200 with the error in
// the message is what Slack asks for. Interactions and events keep Bolt's answers (Slack retries
// events; interactions show Slack's own error in place).
async function answerFailedEvent(args: ReceiverProcessEventErrorHandlerArgs) {
  if (args.response.headersSent) return false;
  if (!isSlashCommand(args.request)) return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
  HTTPModuleFunctions.buildContentResponse(args.response, {
    response_type: 'ephemeral',
    text: COMMAND_FAILED_TEXT,
  });
  return true;
}

function answerUnacknowledged(log: Logger) {
  return (args: ReceiverUnhandledRequestHandlerArgs): void => {
    log.error(
      { path: args.request.url, deadlineMs: ACK_DEADLINE_MS },
      'Slack request not acknowledged in time; a listener must call ack() before slow work',
    );
    if (args.response.headersSent) return;
    if (isSlashCommand(args.request)) {
      HTTPModuleFunctions.buildContentResponse(args.response, {
        response_type: 'ephemeral',
        text: COMMAND_FAILED_TEXT,
      });
    } else {
      args.response.writeHead(404).end();
    }
  };
}

// Bolt buffers the body onto the request (`rawBody`) before dispatching, so the handlers above can
// tell a slash command (form fields with `command`) from an interaction (one `payload` field).
function isSlashCommand(req: IncomingMessage): boolean {
  const raw: unknown = (req as { rawBody?: unknown }).rawBody;
  if (!Buffer.isBuffer(raw) || req.headers['content-type'] !== 'application/x-www-form-urlencoded')
    return false;
  const fields = new URLSearchParams(raw.toString('utf8'));
  return fields.has('command') && !fields.has('payload');
}

// Enough to find the request in Slack's terms, without message text or lead data in the log.
function describeBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  const pick = (value: unknown, key: string): unknown =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  const actions = Array.isArray(b['actions']) ? b['actions'] : [];
  return {
    type: b['type'] ?? (b['command'] === undefined ? undefined : 'slash_command'),
    command: b['command'],
    event: pick(b['event'], 'type'),
    callbackId: pick(b['view'], 'callback_id'),
    actionIds: actions.length === 0 ? undefined : actions.map((a: unknown) => pick(a, 'action_id')),
    // user_change events carry a whole profile under `event.user`: only ids are logged.
    user: [b['user_id'], pick(b['user'], 'id'), pick(b['event'], 'user')].find((v) => typeof v === 'string'),
    team: b['team_id'] ?? pick(b['team'], 'id'),
  };
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
