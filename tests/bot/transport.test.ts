import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPing } from '../../src/bot/ping.ts';
import {
  COMMAND_FAILED_TEXT,
  createSlackApp,
  SLACK_EVENTS_PATH,
  type SlackApp,
} from '../../src/bot/slack-app.ts';
import type { Logger } from '../../src/log.ts';
import {
  blockActionsBody,
  FORM,
  SLACK_IDS,
  signSlackRequest,
  slashCommandBody,
  viewSubmissionBody,
} from '../support/slack-signer.ts';

const SIGNING_SECRET = 'leadline-test-signing-secret-8c2d';

interface LogLine {
  level: number;
  msg: string;
  component?: string;
}

function captureLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  return { log, lines };
}

/** A stand-in for Slack's Web API: records every call and answers like Slack would. */
async function startFakeSlackApi() {
  const calls: { method: string; authorization: string | undefined }[] = [];
  const server = createServer((req, res) => {
    const method = (req.url ?? '').replace(/^\/api\//, '');
    calls.push({ method, authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (method === 'auth.test') {
        res.end(
          JSON.stringify({
            ok: true,
            user_id: SLACK_IDS.botUser,
            bot_id: 'B0LEADBOT',
            team_id: SLACK_IDS.team,
          }),
        );
      } else if (method === 'apps.connections.open') {
        res.end(JSON.stringify({ ok: false, error: 'invalid_auth' }));
      } else {
        res.end(JSON.stringify({ ok: true }));
      }
    });
  });
  const url = await listen(server);
  return { apiUrl: `${url}/api/`, calls, close: () => close(server) };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** One `http.createServer` serving Slack and Hono on one port, composed as the runtime does. */
async function startStack(slack: SlackApp): Promise<{ url: string; server: Server }> {
  const hono = new Hono();
  hono.get('/healthz', (c) => c.json({ status: 'ok' }));
  hono.post('/echo', async (c) => c.json({ body: await c.req.text(), type: c.req.header('content-type') }));
  const honoListener = getRequestListener(hono.fetch);
  const server = createServer((req, res) => slack.requestListener(req, res, () => honoListener(req, res)));
  return { url: await listen(server), server };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function postSlack(
  url: string,
  body: string,
  options: { contentType?: string; timestamp?: number; secret?: string } = {},
) {
  const headers = signSlackRequest({
    signingSecret: options.secret ?? SIGNING_SECRET,
    body,
    timestamp: options.timestamp ?? nowSeconds(),
  });
  return fetch(`${url}${SLACK_EVENTS_PATH}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': options.contentType ?? FORM },
    body,
  });
}

describe('Slack transport on the shared HTTP server', () => {
  let api: Awaited<ReturnType<typeof startFakeSlackApi>>;
  let slack: SlackApp;
  let stack: { url: string; server: Server };
  let logs: LogLine[];
  /** Everything that reached Bolt's middleware, i.e. passed signature verification. */
  const reached: unknown[] = [];
  const finished: string[] = [];

  beforeAll(async () => {
    api = await startFakeSlackApi();
    const captured = captureLogger();
    logs = captured.lines;
    slack = createSlackApp({
      signingSecret: SIGNING_SECRET,
      botToken: 'xoxb-test-token',
      apiUrl: api.apiUrl,
      botUserId: SLACK_IDS.botUser,
      log: captured.log,
    });
    slack.app.use(async ({ body, next }) => {
      reached.push(body);
      await next();
    });
    registerPing(slack.app);
    slack.app.command('/lead', async ({ command, ack }) => {
      if (command.text === 'boom') throw new Error('lead store unavailable');
      if (command.text === 'slow') {
        await ack({ response_type: 'ephemeral', text: 'working on it' });
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        finished.push('slow');
      }
      // 'silent': never acks, as a buggy listener would.
    });
    slack.app.action('lead.claim', async ({ ack, action }) => {
      await ack();
      finished.push(`claim:${'value' in action ? action.value : ''}`);
    });
    slack.app.view('lead.handover', async ({ ack, view }) => {
      await ack({ response_action: 'clear' });
      finished.push(`handover:${view.private_metadata}`);
    });
    slack.app.event('app_home_opened', async ({ event }) => {
      finished.push(`home:${event.user}`);
    });
    await slack.start();
    stack = await startStack(slack);
  });

  afterAll(async () => {
    await close(stack.server);
    await slack.stop();
    await api.close();
  });

  it('answers a signed `/lead ping` with an ephemeral pong, without calling Slack', async () => {
    const res = await postSlack(stack.url, slashCommandBody({ command: '/lead', text: 'ping' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_type: 'ephemeral', text: 'pong' });
    expect(api.calls).toEqual([]);
  });

  it('rejects a bad signature with 401 before any listener runs', async () => {
    const before = reached.length;
    const res = await postSlack(stack.url, slashCommandBody({ command: '/lead', text: 'ping' }), {
      secret: 'not-the-signing-secret',
    });
    expect(res.status).toBe(401);
    expect(reached.length).toBe(before);
    // Bolt's warning went through Leadline's logger.
    expect(logs.some((l) => l.component === 'slack' && /signature mismatch/.test(l.msg))).toBe(true);
  });

  it('rejects a body changed after signing', async () => {
    const before = reached.length;
    const body = slashCommandBody({ command: '/lead', text: 'ping' });
    const headers = signSlackRequest({ signingSecret: SIGNING_SECRET, body, timestamp: nowSeconds() });
    const res = await fetch(`${stack.url}${SLACK_EVENTS_PATH}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': FORM },
      body: body.replace('text=ping', 'text=pong'),
    });
    expect(res.status).toBe(401);
    expect(reached.length).toBe(before);
  });

  it('rejects stale (>5 min old) and future (>5 min ahead) timestamps with 401', async () => {
    const before = reached.length;
    const body = slashCommandBody({ command: '/lead', text: 'ping' });
    const stale = await postSlack(stack.url, body, { timestamp: nowSeconds() - 6 * 60 });
    const future = await postSlack(stack.url, body, { timestamp: nowSeconds() + 6 * 60 });
    expect([stale.status, future.status]).toEqual([401, 401]);
    expect(reached.length).toBe(before);
  });

  it('rejects a request without signature headers', async () => {
    const res = await fetch(`${stack.url}${SLACK_EVENTS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: slashCommandBody({ command: '/lead', text: 'ping' }),
    });
    expect(res.status).toBe(401);
  });

  it('serves Hono routes on the same port', async () => {
    const res = await fetch(`${stack.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    // GET on Slack's path is not Bolt's either: Hono answers it.
    expect((await fetch(`${stack.url}${SLACK_EVENTS_PATH}`)).status).toBe(404);
  });

  it('hands POST bodies for other paths to Hono unread', async () => {
    const body = JSON.stringify({ email: 'ada.lovelace@genomics-lab.example', note: 'x'.repeat(100_000) });
    const res = await fetch(`${stack.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ body, type: 'application/json' });
  });

  it('passes request targets URL parsers reject to Hono instead of throwing', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${stack.url}/`, { path: '//', method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end('x');
    });
    expect(status).toBe(404);
  });

  it('answers url_verification with the challenge', async () => {
    const body = JSON.stringify({
      token: 'deprecated',
      challenge: 'c3po-r2d2-bb8',
      type: 'url_verification',
    });
    const res = await postSlack(stack.url, body, { contentType: 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: 'c3po-r2d2-bb8' });
  });

  it('answers ssl_check (unsigned, as Slack sends it) and dispatches nothing', async () => {
    const before = reached.length;
    const res = await fetch(`${stack.url}${SLACK_EVENTS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: 'ssl_check=1&token=deprecated&command=%2Flead&text=ping',
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(reached.length).toBe(before);
  });

  it('routes block_actions and view_submission on the same path', async () => {
    const action = await postSlack(
      stack.url,
      blockActionsBody({ actionId: 'lead.claim', value: 'lead_42', messageTs: '1763640000.000100' }),
    );
    expect(action.status).toBe(200);
    const view = await postSlack(
      stack.url,
      viewSubmissionBody({
        callbackId: 'lead.handover',
        values: { note: { note_input: { type: 'plain_text_input', value: 'Call on Friday' } } },
        privateMetadata: '{"leadId":"lead_42"}',
      }),
    );
    expect(view.status).toBe(200);
    expect(await view.json()).toEqual({ response_action: 'clear' });
    await expect
      .poll(() => finished)
      .toEqual(expect.arrayContaining(['claim:lead_42', 'handover:{"leadId":"lead_42"}']));
  });

  it('acknowledges Events API deliveries before listeners run', async () => {
    const body = JSON.stringify({
      token: 'deprecated',
      team_id: SLACK_IDS.team,
      api_app_id: SLACK_IDS.appId,
      type: 'event_callback',
      event_id: 'Ev0HOME0001',
      event_time: nowSeconds(),
      event: { type: 'app_home_opened', user: SLACK_IDS.user, channel: 'D0DIRECT01', tab: 'home' },
    });
    const res = await postSlack(stack.url, body, { contentType: 'application/json' });
    expect(res.status).toBe(200);
    await expect.poll(() => finished).toContain(`home:${SLACK_IDS.user}`);
  });

  it('acks first and works afterwards', async () => {
    const res = await postSlack(stack.url, slashCommandBody({ command: '/lead', text: 'slow' }));
    expect(await res.json()).toEqual({ response_type: 'ephemeral', text: 'working on it' });
    expect(finished).not.toContain('slow');
    await expect.poll(() => finished, { timeout: 3_000 }).toContain('slow');
  });

  it('answers 200 with an ephemeral error when a /lead listener throws before ack', async () => {
    const res = await postSlack(stack.url, slashCommandBody({ command: '/lead', text: 'boom' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_type: 'ephemeral', text: COMMAND_FAILED_TEXT });
    expect(logs.some((l) => l.msg === 'Slack listener failed')).toBe(true);
  });

  it('answers within Slack’s 3 s when no listener acknowledges', async () => {
    const started = performance.now();
    const res = await postSlack(stack.url, slashCommandBody({ command: '/lead', text: 'silent' }));
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_type: 'ephemeral', text: COMMAND_FAILED_TEXT });
    expect(elapsed).toBeLessThan(3_000);
  });
});

describe('stopping the Slack transport', () => {
  it('waits for listener work that runs after the ack', async () => {
    const api = await startFakeSlackApi();
    const slack = createSlackApp({ signingSecret: SIGNING_SECRET, botToken: 'xoxb-test-token', apiUrl: api.apiUrl, botUserId: SLACK_IDS.botUser, log: captureLogger().log });
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const working = new Promise<void>((resolve) => (started = resolve));
    slack.app.command('/lead', async ({ ack }) => {
      await ack({ response_type: 'ephemeral', text: 'on it' });
      started();
      await gate;
      order.push('work finished');
    });
    const stack = await startStack(slack);
    try {
      const res = await postSlack(stack.url, slashCommandBody({ command: '/lead', text: 'slow' }));
      expect(await res.json()).toEqual({ response_type: 'ephemeral', text: 'on it' });
      await working;
      const stopped = slack.stop().then(() => order.push('stopped'));
      // Let a stop that does not wait resolve first, had it been so.
      for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
      release();
      await stopped;
      expect(order).toEqual(['work finished', 'stopped']);
    } finally {
      await close(stack.server);
      await api.close();
    }
  });
});

describe('Slack transport without a known bot user id', () => {
  it('makes no Slack call at start-up and one auth.test for all requests', async () => {
    const api = await startFakeSlackApi();
    const slack = createSlackApp({
      signingSecret: SIGNING_SECRET,
      botToken: 'xoxb-test-token',
      apiUrl: api.apiUrl,
      log: pino({ level: 'silent' }),
    });
    const contexts: unknown[] = [];
    slack.app.command('/lead', async ({ ack, context }) => {
      contexts.push(context.botUserId);
      await ack();
    });
    await slack.start();
    const stack = await startStack(slack);
    try {
      expect(api.calls).toEqual([]);
      for (let i = 0; i < 3; i += 1) {
        const res = await postSlack(stack.url, slashCommandBody({ command: '/lead', text: 'help' }));
        expect(res.status).toBe(200);
      }
      expect(api.calls).toEqual([{ method: 'auth.test', authorization: 'Bearer xoxb-test-token' }]);
      expect(contexts).toEqual([SLACK_IDS.botUser, SLACK_IDS.botUser, SLACK_IDS.botUser]);
    } finally {
      await close(stack.server);
      await api.close();
    }
  });
});

describe('Slack transport in Socket Mode', () => {
  it('leaves HTTP to the next listener and connects through the configured API base', async () => {
    const api = await startFakeSlackApi();
    const slack = createSlackApp({
      signingSecret: SIGNING_SECRET,
      botToken: 'xoxb-test-token',
      apiUrl: api.apiUrl,
      appToken: 'xapp-1-test-token',
      log: pino({ level: 'silent' }),
    });
    let nextCalled = 0;
    const req = { method: 'POST', url: SLACK_EVENTS_PATH, headers: {} } as IncomingMessage;
    slack.requestListener(req, {} as never, () => {
      nextCalled += 1;
    });
    expect(nextCalled).toBe(1);
    try {
      // The fake answers invalid_auth, which the Socket Mode client treats as unrecoverable.
      await expect(slack.start()).rejects.toThrow(/invalid_auth/);
      expect(api.calls).toEqual([
        { method: 'apps.connections.open', authorization: 'Bearer xapp-1-test-token' },
      ]);
    } finally {
      await slack.stop();
      await api.close();
    }
  });
});
