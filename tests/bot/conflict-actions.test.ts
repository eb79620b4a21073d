import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  INVALID_BUTTON_TEXT,
  NOT_A_CHOICE_TEXT,
  NOT_A_MANAGER_TEXT,
  registerConflictActions,
  UNKNOWN_CONFLICT_TEXT,
} from '../../src/bot/conflict-actions.ts';
import { withTransaction } from '../../src/db/pool.ts';
import type { LeadIdentity } from '../../src/engine/event.ts';
import { postConflictMessages } from '../../src/app/processing/conflicts.ts';
import { processEvents } from '../../src/app/processing/process-events.ts';
import { waitFor } from '../support/db.ts';
import { event, ROUTING_SCORING_YAML, routeLeads, scoringOnly, storeEvents, testRuleset } from '../support/engine-fixtures.ts';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.ts';

// routing-step.test.ts's ruleset (demo + protocol download is a 50/50 b2b/research tie), with two
// managers, an admin and the Slack channels.
const RULES_YAML = `${ROUTING_SCORING_YAML}
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages: [{ id: new, name: New lead }, { id: discovery, name: Discovery }]
    assignment: { strategy: round_robin, members: [anna, ben, carla] }
  - id: research
    name: Research
    intent: research
    manager_decides: true
    stages: [{ id: new, name: New enquiry }]
    assignment: { strategy: round_robin, members: [carla] }
routing: { threshold: 40, min_confidence: 60, conflict_margin: 10 }
team:
  members:
    - { id: anna, slack_user_id: U0ANNA001, name: Anna, role: rep }
    - { id: ben, slack_user_id: U0BEN0002, name: Ben, role: rep }
    - { id: carla, slack_user_id: U0CARLA03, name: Carla, role: rep }
    - { id: lena, slack_user_id: U0LENA004, name: Lena, role: manager }
    - { id: omar, slack_user_id: U0OMAR006, name: Omar, role: manager }
    - { id: max, slack_user_id: U0MAX0005, name: Max, role: admin }
slack:
  routing_channel: "#lead-routing"
`;

const CHANNEL = '#lead-routing';
const REP = 'U0ANNA001';
const LENA = 'U0LENA004';
const OMAR = 'U0OMAR006';
const MAX = 'U0MAX0005';

describe('routing-conflict buttons', () => {
  let h: SlackHarness;
  const ruleset = testRuleset(RULES_YAML);

  beforeAll(async () => {
    h = await startSlackHarness(ruleset, (app, ctx) => registerConflictActions(app, ctx), {
      start: '2026-11-20T09:30:00Z',
    });
  });
  afterAll(async () => {
    expect(h.fake.violations()).toEqual([]);
    await h.stop();
  });
  beforeEach(async () => {
    await h.db.reset();
    h.fake.reset();
    h.clock.set('2026-11-20T09:30:00Z');
  });

  /** A posted 50/50 conflict, routed and announced the way the processing job does it. */
  async function postedConflict(email = 'torn@uni.example') {
    const lead: LeadIdentity = { email, fullName: 'Toni Berg', company: 'Uni Lab', ids: {} };
    const events = [
      event('form.submitted', { lead, metadata: { form_type: 'demo' }, occurredAt: '2026-11-20T09:00:00Z' }),
      event('content.downloaded', {
        lead,
        metadata: { content_type: 'protocol' },
        occurredAt: '2026-11-20T09:01:00Z',
      }),
    ];
    await processEvents(await storeEvents(h.db, events), {
      ...h.ctx,
      ruleset: scoringOnly(ruleset),
    });
    const { rows } = await h.db.pool.query<{ id: number }>('SELECT id FROM leads WHERE email = $1', [email]);
    const leadId = rows[0]!.id;
    await withTransaction(h.db.pool, async (tx) => {
      const results = await routeLeads(tx, h.ctx, [leadId], h.clock.now());
      await postConflictMessages(tx, h.ctx, results, h.clock.now());
    });
    await h.deliver();
    const { rows: conflicts } = await h.db.pool.query<{ id: number }>(
      'SELECT id FROM routing_conflicts WHERE lead_id = $1',
      [leadId],
    );
    const [message] = h.fake.messages(CHANNEL);
    // Decisions happen a few minutes later: 09:42 UTC is 10:42 in the ruleset's Europe/Berlin.
    h.clock.set('2026-11-20T09:42:00Z');
    return { leadId, conflictId: conflicts[0]!.id, messageTs: message!.ts };
  }

  let clicks = 0;
  function click(
    messageTs: string,
    userId: string,
    choice: { route: string; conflictId: number } | { pool: number } | { raw: string; actionId: string },
  ) {
    clicks += 1;
    const [actionId, value] =
      'route' in choice
        ? [`conflict.route:${choice.route}`, `${choice.conflictId}:${choice.route}`]
        : 'pool' in choice
          ? ['conflict.pool', String(choice.pool)]
          : [choice.actionId, choice.raw];
    const responseId = `click-${clicks}`;
    return {
      responseId,
      sent: h.action({
        userId,
        actionId,
        value,
        blockId: 'conflict-actions',
        messageTs,
        channelId: 'C0ROUTING1',
        responseUrl: h.fake.responseUrl(responseId),
      }),
    };
  }

  const count = async (sql: string, values: unknown[] = []) =>
    (await h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) q`, values)).rows[0]!.n;
  const ephemerals = () => count(`SELECT 1 FROM slack_outbox WHERE key LIKE 'reply:%'`);
  const state = async (leadId: number) => ({
    conflicts: (await h.db.pool.query('SELECT * FROM routing_conflicts ORDER BY id')).rows,
    lead: (await h.db.pool.query('SELECT status, owner_member_id FROM leads WHERE id = $1', [leadId])).rows,
    deals: await count('SELECT 1 FROM deals'),
    decisions: await count('SELECT 1 FROM routing_decisions'),
    audit: await count('SELECT 1 FROM audit_log'),
  });
  const ephemeralTexts = () =>
    h.fake.calls('response_url').map((c) => {
      expect(c.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      return c.body['text'];
    });

  it('refuses a rep and changes nothing', async () => {
    const { leadId, conflictId, messageTs } = await postedConflict();
    const before = await state(leadId);
    const { sent } = click(messageTs, REP, { route: 'b2b', conflictId });
    expect((await sent).status).toBe(200);
    await waitFor(async () => (await ephemerals()) === 1);
    await h.deliver();

    expect(ephemeralTexts()).toEqual([NOT_A_MANAGER_TEXT]);
    expect(await state(leadId)).toEqual(before);
    expect(before.lead).toEqual([{ status: 'conflict', owner_member_id: null }]);
    expect(h.fake.calls('chat.update')).toHaveLength(0);
    expect(h.fake.violations()).toEqual([]);
  });

  it('answers a refused click once when Slack delivers the same click twice', async () => {
    const { leadId, conflictId, messageTs } = await postedConflict();
    const before = await state(leadId);
    // Count the wake-ups each answer ends with, to know when the second delivery was handled.
    const queue = h.ctx.queue;
    let wakeUps = 0;
    h.ctx.queue = {
      send: queue.send.bind(queue),
      insert: queue.insert.bind(queue),
      retry: queue.retry.bind(queue),
      upsert: ((...args: unknown[]) => {
        wakeUps += 1;
        return (queue.upsert as (...a: unknown[]) => unknown).apply(queue, args);
      }) as typeof queue.upsert,
    };
    try {
      const press = {
        userId: REP,
        actionId: 'conflict.route:b2b',
        value: `${conflictId}:b2b`,
        blockId: 'conflict-actions',
        messageTs,
        channelId: 'C0ROUTING1',
        responseUrl: h.fake.responseUrl('retried-click'),
        // The same press: Slack's retry carries the same trigger id and action_ts.
        triggerId: '1337.4242.retried',
        actionTs: '1763640200.000001',
      };
      expect((await h.action(press)).status).toBe(200);
      await waitFor(async () => wakeUps === 1);
      await h.deliver();
      expect((await h.action(press)).status).toBe(200);
      await waitFor(async () => wakeUps === 2);
      await h.deliver();
    } finally {
      h.ctx.queue = queue;
    }
    expect(await ephemerals()).toBe(1);
    expect(ephemeralTexts()).toEqual([NOT_A_MANAGER_TEXT]);
    expect(await state(leadId)).toEqual(before);
  });

  it("routes the lead on a manager's click, updates the message once and DMs the new owner once", async () => {
    const { leadId, conflictId, messageTs } = await postedConflict();
    const { sent } = click(messageTs, LENA, { route: 'b2b', conflictId });
    expect((await sent).status).toBe(200);
    await waitFor(async () => (await count('SELECT 1 FROM audit_log')) === 1);
    await h.deliver();

    const { rows: deals } = await h.db.pool.query('SELECT pipeline_id, stage_id, owner_member_id FROM deals');
    expect(deals).toEqual([{ pipeline_id: 'b2b', stage_id: 'new', owner_member_id: 'anna' }]);
    const { rows: leads } = await h.db.pool.query('SELECT status, owner_member_id FROM leads');
    expect(leads).toEqual([{ status: 'routed', owner_member_id: 'anna' }]);
    const { rows: conflicts } = await h.db.pool.query(
      'SELECT resolved_by, resolution, resolved_at FROM routing_conflicts WHERE id = $1',
      [conflictId],
    );
    expect(conflicts).toEqual([
      { resolved_by: LENA, resolution: 'route:b2b', resolved_at: new Date('2026-11-20T09:42:00Z') },
    ]);
    const { rows: audit } = await h.db.pool.query('SELECT actor, action, lead_id, detail FROM audit_log');
    expect(audit).toEqual([
      {
        actor: `manager:${LENA}`,
        action: 'conflict.route',
        lead_id: leadId,
        detail: {
          conflictId,
          pipelineId: 'b2b',
          dealId: expect.any(Number),
          ownerMemberId: 'anna',
          memberId: 'lena',
        },
      },
    ]);

    const updates = h.fake.succeeded('chat.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]?.body['ts']).toBe(messageTs);
    const [message] = h.fake.messages(CHANNEL);
    expect(message?.updates).toBe(1);
    const blocks = JSON.stringify(message?.blocks);
    expect(blocks).toContain(`Routed to B2B customers by <@${LENA}> at 10:42`);
    expect(blocks).toContain('Owner: <@U0ANNA001>');
    expect(blocks).not.toContain('conflict.route');

    const dms = h.fake.succeeded('chat.postMessage').filter((c) => c.body['channel'] === 'U0ANNA001');
    expect(dms).toHaveLength(1);
    expect(dms[0]?.body['text']).toBe(
      `<@${LENA}> routed *Toni Berg* (Uni Lab) to *B2B customers*; the deal is yours.`,
    );
    expect(h.fake.calls('response_url')).toHaveLength(0);
    expect(h.fake.violations()).toEqual([]);
  });

  it('decides exactly once when twenty managers and admins click at the same moment', async () => {
    const { conflictId, messageTs } = await postedConflict();
    const deciders = [LENA, OMAR, MAX];
    const pending = Array.from({ length: 20 }, (_, i) => {
      const user = deciders[i % deciders.length]!;
      const choice =
        i % 3 === 0 ? { pool: conflictId } : { route: i % 3 === 1 ? 'b2b' : 'research', conflictId };
      return click(messageTs, user, choice).sent;
    });
    for (const res of await Promise.all(pending)) expect(res.status).toBe(200);
    await waitFor(async () => (await ephemerals()) === 19 && (await count('SELECT 1 FROM audit_log')) === 1);
    await h.deliver();

    const { rows } = await h.db.pool.query<{ resolved_by: string; resolution: string }>(
      'SELECT resolved_by, resolution FROM routing_conflicts',
    );
    expect(rows).toHaveLength(1);
    const winner = rows[0]!;
    expect(deciders).toContain(winner.resolved_by);
    const deals = await count('SELECT 1 FROM deals');
    expect(deals).toBe(winner.resolution === 'pool' ? 0 : 1);
    expect(await count('SELECT 1 FROM audit_log')).toBe(1);
    expect(h.fake.succeeded('chat.update')).toHaveLength(1);
    expect(h.fake.messages(CHANNEL)).toHaveLength(1);

    const texts = ephemeralTexts();
    expect(texts).toHaveLength(19);
    for (const text of texts) {
      expect(text).toMatch(new RegExp(`^Already decided by <@${winner.resolved_by}> at 10:42: `));
    }
    const dms = h.fake.succeeded('chat.postMessage').filter((c) => c.body['channel'] !== CHANNEL);
    expect(dms).toHaveLength(winner.resolution === 'pool' ? 0 : 1);
    expect(h.fake.violations()).toEqual([]);
  });

  it('keeps the lead in the pool on "Keep in pool"', async () => {
    const { leadId, conflictId, messageTs } = await postedConflict();
    const { sent } = click(messageTs, MAX, { pool: conflictId });
    expect((await sent).status).toBe(200);
    await waitFor(async () => (await count('SELECT 1 FROM audit_log')) === 1);
    await h.deliver();

    expect((await h.db.pool.query('SELECT status FROM leads WHERE id = $1', [leadId])).rows).toEqual([
      { status: 'pool' },
    ]);
    expect(await count('SELECT 1 FROM deals')).toBe(0);
    const { rows: decisions } = await h.db.pool.query(
      `SELECT kind, cause, reasons->>'rule' AS rule FROM routing_decisions ORDER BY id DESC LIMIT 1`,
    );
    expect(decisions).toEqual([{ kind: 'pool', cause: 'manager_kept_in_pool', rule: `manager:${MAX}` }]);
    const [message] = h.fake.messages(CHANNEL);
    expect(message?.updates).toBe(1);
    expect(JSON.stringify(message?.blocks)).toContain(`Kept in the pool by <@${MAX}> at 10:42`);
    expect(h.fake.succeeded('chat.postMessage')).toHaveLength(1);
    expect(h.fake.calls('response_url')).toHaveLength(0);
    expect(h.fake.violations()).toEqual([]);
  });

  it('answers unknown conflicts, forged pipelines and garbage values without deciding anything', async () => {
    const { leadId, conflictId, messageTs } = await postedConflict();
    const before = await state(leadId);
    const sent = [
      click(messageTs, LENA, { pool: conflictId + 1000 }).sent,
      click(messageTs, LENA, { route: 'enterprise', conflictId }).sent,
      click(messageTs, OMAR, { actionId: 'conflict.route:b2b', raw: `${conflictId}:B2B'; DROP TABLE leads` })
        .sent,
      click(messageTs, OMAR, { actionId: 'conflict.pool', raw: '-1' }).sent,
    ];
    for (const res of await Promise.all(sent)) expect(res.status).toBe(200);
    await waitFor(async () => (await ephemerals()) === 4);
    await h.deliver();

    expect(ephemeralTexts().sort()).toEqual(
      [UNKNOWN_CONFLICT_TEXT, NOT_A_CHOICE_TEXT, INVALID_BUTTON_TEXT, INVALID_BUTTON_TEXT].sort(),
    );
    expect(await state(leadId)).toEqual(before);
    expect(h.fake.violations()).toEqual([]);
  });
});
