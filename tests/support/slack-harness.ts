import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { App } from '@slack/bolt';
import { Hono } from 'hono';
import { createSlackApp, type SlackApp } from '../../src/bot/slack-app.ts';
import { createSlackApi, type SlackApi } from '../../src/clients/slack-api.ts';
import type { Ruleset } from '../../src/engine/ruleset.ts';
import { type Boss, startBoss } from '../../src/jobs/boss.ts';
import type { AppContext } from '../../src/app/context.ts';
import { createQueues } from '../../src/jobs/registry.ts';
import { deliverDue } from '../../src/slack/outbox/deliver.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { type FakeSlack, startFakeSlack } from './fake-slack.ts';
import {
  blockActionsBody,
  FORM,
  signSlackRequest,
  slashCommandBody,
  viewSubmissionBody,
} from './slack-signer.ts';

export const SIGNING_SECRET = 'leadline-test-signing-secret-0123';

export interface SlackHarness {
  db: TestDatabase;
  boss: Boss;
  fake: FakeSlack;
  slackApi: SlackApi;
  ctx: AppContext;
  clock: { now: () => Date; set(iso: string): void; advance(ms: number): void };
  /** Base URL of the one-port server (Bolt on /slack/events, Hono elsewhere). */
  url: string;
  /** POSTs a Slack-signed form body to /slack/events, as Slack would. */
  post(body: string): Promise<Response>;
  command(input: Parameters<typeof slashCommandBody>[0]): Promise<Response>;
  action(input: Parameters<typeof blockActionsBody>[0]): Promise<Response>;
  submit(input: Parameters<typeof viewSubmissionBody>[0]): Promise<Response>;
  /** Runs the outbox dispatcher at the injected time until nothing more is due now. */
  deliver(): Promise<void>;
  /**
   * Delivers until the outbox is empty, moving the injected clock to each paced slot; with
   * `restoreClock` the clock goes back to where the test had set it.
   */
  deliverAll(options?: { restoreClock?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Everything a Slack feature test needs, all real: a cloned database, pg-boss, a fake Slack Web API
 * on loopback, Bolt and Hono on one port with Slack-signed requests, and an injectable clock.
 * `register` attaches the listener modules under test.
 *
 * @example
 * const h = await startSlackHarness(ruleset, (app, ctx) => registerAlertActions(app, ctx));
 * await h.action({ actionId: 'lead.claim', value: '42', messageTs: '1.2' });
 */
export async function startSlackHarness(
  ruleset: Ruleset,
  register: (app: App, ctx: AppContext) => void,
  options: { start?: string } = {},
): Promise<SlackHarness> {
  let current = new Date(options.start ?? '2026-11-20T10:00:00Z');
  const clock = {
    now: () => new Date(current),
    set: (iso: string) => {
      current = new Date(iso);
    },
    advance: (ms: number) => {
      current = new Date(current.getTime() + ms);
    },
  };
  const db = await createTestDatabase();
  const log = createLogger('silent');
  const boss = await startBoss(db.url, log, { supervise: false });
  await createQueues(boss);
  const fake = await startFakeSlack({ clock: clock.now });
  const slackApi = createSlackApi({ baseUrl: fake.baseUrl, token: fake.token, timeoutMs: 2_000 });
  const ctx: AppContext = {
    pool: db.pool,
    queue: boss,
    ruleset,
    log,
    metrics: createMetrics({ defaults: false }),
    now: clock.now,
  };
  const slack: SlackApp = createSlackApp({
    signingSecret: SIGNING_SECRET,
    botToken: fake.token,
    apiUrl: fake.baseUrl,
    botUserId: 'U0LEADBOT',
    log,
  });
  register(slack.app, ctx);
  const hono = getRequestListener(new Hono().fetch);
  const server: Server = createServer((req, res) =>
    slack.requestListener(req, res, () => void hono(req, res)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const post = (body: string) =>
    fetch(`${url}/slack/events`, {
      method: 'POST',
      body,
      headers: {
        'content-type': FORM,
        ...signSlackRequest({
          signingSecret: SIGNING_SECRET,
          body,
          timestamp: Math.floor(Date.now() / 1000),
        }),
      },
    });
  const deliver = async () => {
    await deliverDue({ pool: db.pool, slack: slackApi, now: clock.now, log });
  };
  const deliverAll = async (options: { restoreClock?: boolean } = {}) => {
    const startedAt = clock.now().toISOString();
    for (let round = 0; round < 100; round += 1) {
      await deliver();
      const { rows } = await db.pool.query<{ at: Date | null }>(
        `SELECT min(next_attempt_at) AS at FROM slack_outbox WHERE state = 'pending'`,
      );
      const next = rows[0]?.at ?? null;
      if (next === null) {
        if (options.restoreClock === true) clock.set(startedAt);
        return;
      }
      if (next > clock.now()) clock.set(next.toISOString());
    }
    throw new Error('the outbox did not drain');
  };
  return {
    db,
    boss,
    fake,
    slackApi,
    ctx,
    clock,
    url,
    post,
    command: (input) => post(slashCommandBody(input)),
    action: (input) => post(blockActionsBody(input)),
    submit: (input) => post(viewSubmissionBody(input)),
    deliver,
    deliverAll,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await boss.stop({ graceful: false, close: true });
      await fake.close();
      await db.drop();
    },
  };
}

/**
 * The hooks a Slack feature file repeats, once: one harness for the file (stopped after it), and
 * before each test a clean database, a fresh fake Slack and the clock at `start`; by the end no
 * message may have broken a Block Kit limit. The harness exists from `beforeAll` on.
 *
 * @example
 * const h = useSlackHarness(ruleset, (app, ctx) => registerAlertActions(app, ctx), { start: '2026-11-20T10:00:00Z' });
 * it('claims', async () => { await h.action({ actionId: 'lead.claim', value: '42', messageTs: '1.2' }); });
 */
export function useSlackHarness(
  ruleset: Ruleset,
  register: (app: App, ctx: AppContext) => void,
  options: { start: string },
): SlackHarness {
  let current: SlackHarness | undefined;
  const violations: unknown[] = [];
  beforeAll(async () => {
    current = await startSlackHarness(ruleset, register, options);
  });
  afterAll(async () => {
    if (current === undefined) return;
    try {
      expect([...violations, ...current.fake.violations()]).toEqual([]);
    } finally {
      await current.stop();
    }
  });
  beforeEach(async () => {
    const h = current!;
    violations.push(...h.fake.violations());
    h.fake.reset();
    h.clock.set(options.start);
    await h.db.reset();
  });
  // Tests hold the harness before beforeAll has started it: every access reads the started one.
  return new Proxy({} as SlackHarness, {
    get: (_target, key) => {
      if (current === undefined) throw new Error('the Slack harness starts in beforeAll');
      return Reflect.get(current, key) as unknown;
    },
    set: (_target, key, value) => Reflect.set(current!, key, value),
  });
}
