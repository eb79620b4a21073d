import type { LeadProfile } from '../../src/engine/event.ts';
import { processEvents } from '../../src/app/processing/process-events.ts';
import { event, storeEvents, TEST_RULES_YAML, testRuleset } from './engine-fixtures.ts';
import { SIGNING_SECRET, type SlackHarness } from './slack-harness.ts';
import { signSlackRequest } from './slack-signer.ts';

/**
 * Fixtures for the `/lead`, modal, Home tab, digest and erasure tests: a ruleset with pipelines, a
 * team (three reps, a manager, an admin), SLA and Slack sections, and helpers to seed leads through
 * the real processing path and to wait for replies the listeners send after their ack.
 */

export const USERS = {
  anna: 'U0ANNA001',
  ben: 'U0BEN0002',
  carla: 'U0CARLA03',
  lena: 'U0LENA004',
  sam: 'U0SAMADM5',
  outsider: 'U0OUTSIDE',
} as const;

export const LEAD_DESK_YAML = `${TEST_RULES_YAML}
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages: [{ id: new, name: New lead }, { id: discovery, name: Discovery }]
    assignment: { strategy: round_robin, members: [anna, ben, carla] }
  - id: research
    name: Research
    intent: research
    stages: [{ id: new, name: New enquiry }]
    assignment: { strategy: round_robin }
routing: { threshold: 40, min_confidence: 60, conflict_margin: 10 }
deals:
  currency: EUR
  products: [{ id: pilot, name: Pilot study, unit: study, unit_price: 4800 }]
sla:
  claim_minutes: { CRITICAL: 5, HIGH: 60 }
slack:
  hot_leads_channel: C0HOTLEAD1
  routing_channel: C0ROUTING1
  managers_channel: C0MANAGER1
  digest_channel: C0SALES001
  hot_threshold: hot
team:
  members:
    - { id: anna, slack_user_id: ${USERS.anna}, name: Anna, role: rep }
    - { id: ben, slack_user_id: ${USERS.ben}, name: Ben, role: rep }
    - { id: carla, slack_user_id: ${USERS.carla}, name: Carla, role: rep }
    - { id: lena, slack_user_id: ${USERS.lena}, name: Lena, role: manager }
    - { id: sam, slack_user_id: ${USERS.sam}, name: Sam, role: admin }
`;

export function leadDeskRuleset() {
  return testRuleset(LEAD_DESK_YAML);
}

/**
 * Seeds one lead through intake rows and `processEvents`: a demo request (30 points, b2b) and,
 * with `pricing`, a pricing view (10 more, so the lead routes to b2b at score 40).
 */
export async function seedLead(
  h: SlackHarness,
  email: string,
  profile: LeadProfile = {},
  options: { pricing?: boolean; occurredAt?: string } = {},
): Promise<number> {
  const at = options.occurredAt ?? '2026-11-20T09:00:00.000Z';
  const lead = { email, ids: {}, ...profile };
  const events = [event('form.submitted', { lead, metadata: { form_type: 'demo' }, occurredAt: at })];
  if (options.pricing !== false) {
    events.push(event('page.viewed', { lead, metadata: { url: '/pricing' }, occurredAt: at }));
  }
  await processEvents(await storeEvents(h.db, events), h.ctx);
  const { rows } = await h.db.pool.query<{ id: number }>('SELECT id FROM leads WHERE email = $1', [email]);
  return rows[0]!.id;
}

/** Delivers the outbox until the fake Slack saw a call matching `match` (listeners answer after their ack). */
export async function waitForCall(
  h: SlackHarness,
  match: (call: ReturnType<SlackHarness['fake']['calls']>[number]) => boolean,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await h.deliver();
    const found = h.fake.calls().find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('timed out waiting for a Slack call');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let responseCounter = 0;

/**
 * Runs `/lead <text>` as `userId` and returns the ack (status and body) and a function that waits
 * for the reply sent later through the command's response_url.
 */
export async function lead(h: SlackHarness, text: string, userId: string = USERS.anna) {
  responseCounter += 1;
  const responseId = `cmd-${responseCounter}`;
  const res = await h.command({
    command: '/lead',
    text,
    userId,
    responseUrl: h.fake.responseUrl(responseId),
  });
  const raw = await res.text();
  const ack =
    raw === '' ? null : (JSON.parse(raw) as { text?: string; blocks?: unknown[]; response_type?: string });
  return {
    status: res.status,
    ack,
    responseId,
    reply: async () => {
      const call = await waitForCall(h, (c) => c.method === 'response_url' && c.responseId === responseId);
      return call.body as { text: string; blocks: Record<string, unknown>[]; replace_original?: boolean };
    },
  };
}

/** Every text in a message or view, joined: for asserting on what a person would read. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(textOf).join('\n');
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .filter(
        ([key]) =>
          key === 'text' || key === 'fields' || key === 'elements' || key === 'blocks' || key === 'accessory',
      )
      .map(([, v]) => textOf(v))
      .join('\n');
  }
  return '';
}

/** Action ids of every button in blocks. */
export function actionIds(blocks: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      if (typeof record['action_id'] === 'string') out.push(record['action_id']);
      Object.values(record).forEach(walk);
    }
  };
  walk(blocks);
  return out;
}

/** Posts a Slack-signed Events API callback (JSON), as Slack delivers `app_home_opened`. */
export async function postEvent(h: SlackHarness, slackEvent: Record<string, unknown>): Promise<Response> {
  const body = JSON.stringify({
    token: 'deprecated-verification-token',
    team_id: 'T0LEADLINE',
    api_app_id: 'A0LEADLINE',
    event: slackEvent,
    type: 'event_callback',
    event_id: `Ev${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T0LEADLINE', user_id: 'U0LEADBOT', is_bot: true }],
  });
  return fetch(`${h.url}/slack/events`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      ...signSlackRequest({ signingSecret: SIGNING_SECRET, body, timestamp: Math.floor(Date.now() / 1000) }),
    },
  });
}
