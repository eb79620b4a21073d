import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withTransaction } from '../../../src/db/pool.ts';
import { dealTrigger, eventTrigger, type TriggerInstance } from '../../../src/engine/automation.ts';
import type { LeadlineEvent } from '../../../src/engine/event.ts';
import { type AutomationInput, runAutomation } from '../../../src/app/processing/automation.ts';
import type { AppContext } from '../../../src/app/context.ts';
import { checkMessage } from '../../support/block-kit-limits.ts';
import { countSlackKicks, createTestDatabase, type TestDatabase, waitFor } from '../../support/db.ts';
import { event, fixedClock, jobContext, testRuleset } from '../../support/engine-fixtures.ts';

/** Each rule listens to its own event type, so every test fires exactly the rules it means to. */
const RULES_YAML = `
version: automation-test
sources:
  - { name: website, scheme: standard, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }
thresholds:
  - { name: warm, score: 50 }
  - { name: hot, score: 80 }
intent:
  intents: [research, b2b, co_creation]
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages:
      - { id: new, name: New lead }
      - { id: discovery, name: Discovery call }
      - { id: proposal, name: Proposal }
      - { id: won, name: Won }
    assignment: { strategy: round_robin, members: [anna, ben] }
  - id: research
    name: Academic research
    intent: research
    stages:
      - { id: new, name: New enquiry }
      - { id: quote_sent, name: Quote sent }
    assignment: { strategy: round_robin, members: [anna] }
team:
  members:
    - { id: anna, slack_user_id: U0ANNA001, name: Anna Becker, role: rep }
    - { id: ben, slack_user_id: U0BEN0002, name: Ben Ortiz, role: rep }
    - { id: lena, slack_user_id: U0LENA003, name: Lena Wagner, role: manager }
    - { id: sam, slack_user_id: U0SAM0004, name: Sam Admin, role: admin, active: false }
automation:
  - id: meeting-discovery
    trigger: { type: event, event: meeting.booked }
    actions:
      - { type: move_to_stage, stage: discovery }
      - { type: create_task, title: Prepare the discovery call, due_in_hours: 4, assignee: owner }
      - { type: send_notification, channel: owner, template: demo_requested }
  - id: hot-alert
    trigger: { type: score_threshold, threshold: hot }
    actions:
      - { type: send_notification, channel: "#sales-hot", template: hot_lead }
      - { type: send_notification, channel: managers, template: hot_lead }
      - { type: create_task, title: Call the hot lead, assignee: managers }
  - id: demo-route
    trigger: { type: event, event: form.submitted, where: [{ field: metadata.form_type, op: equals, value: demo }] }
    actions: [{ type: route_to_pipeline, pipeline: b2b }]
  - id: won-sync
    trigger: { type: deal_won }
    actions:
      - { type: sync_moco, entity: deal }
      - { type: send_notification, channel: "#wins", template: deal_won }
      - { type: create_task, title: Send the welcome pack, due_in_hours: 48, assignee: lena }
  - id: reply-fields
    trigger: { type: event, event: email.replied }
    actions:
      - { type: update_field, field: deal.priority, value: high }
      - { type: update_field, field: lead.company, value: Genomics Lab GmbH }
      - { type: update_field, field: deal.value, value: 5000 }
  - id: interested-ben
    trigger: { type: event, event: lead.interested }
    actions: [{ type: assign_owner, member: ben }]
  - id: linkedin-rotation
    trigger: { type: event, event: linkedin.replied }
    actions: [{ type: assign_owner }]
  - id: webinar-quote
    trigger: { type: event, event: webinar.attended }
    actions: [{ type: move_to_stage, stage: quote_sent }]
  - id: content-sync
    trigger: { type: event, event: content.downloaded }
    actions:
      - { type: sync_moco, entity: contact }
      - { type: create_task, title: Send the protocol, assignee: ben }
      - { type: send_notification, channel: C0CONTENT1, template: content_interest }
  - id: content-title
    trigger: { type: event, event: content.downloaded }
    actions: [{ type: update_field, field: lead.title, value: Lab head }]
`;

const NOW = '2026-11-20T12:00:00.000Z';

describe('automation step', () => {
  let db: TestDatabase;
  const ruleset = testRuleset(RULES_YAML);
  const clock = fixedClock(NOW);
  let kicks: unknown[] = [];
  let listener: Awaited<ReturnType<typeof countSlackKicks>>;
  let ctx: AppContext;

  beforeAll(async () => {
    db = await createTestDatabase();
    ctx = jobContext(db, ruleset, clock.now);
    // Wake-ups made inside a transaction arrive as NOTIFY when it commits: count them.
    listener = await countSlackKicks(db);
    kicks = listener.kicks;
  });
  afterAll(async () => {
    await listener.stop();
    await db.drop();
  });
  beforeEach(async () => {
    clock.set(NOW);
    kicks.length = 0;
    await db.reset();
  });

  const run = (inputs: AutomationInput[]) =>
    withTransaction(db.pool, (tx) => runAutomation(tx, ctx, inputs, clock.now()));
  const query = async (text: string, values: unknown[] = []) => (await db.pool.query(text, values)).rows;

  async function lead(fields: { company?: string; score?: number; fullName?: string } = {}): Promise<number> {
    const [row] = await query(
      `INSERT INTO leads (email, full_name, company, score, grade, intent_weights, primary_intent, intent_confidence,
         last_activity_at, created_at)
       VALUES ($1, $2, $3, $4, 'B', '{"b2b": 40}', 'b2b', 100, $5, $5) RETURNING id`,
      [
        `lead-${randomUUID().slice(0, 8)}@genomics-lab.example`,
        fields.fullName ?? 'Ada Lovelace',
        fields.company ?? 'Genomics Lab',
        fields.score ?? 60,
        clock.now(),
      ],
    );
    return row.id;
  }

  async function deal(
    leadId: number,
    fields: { pipeline?: string; stage?: string; owner?: string | null; status?: string } = {},
  ): Promise<number> {
    const [row] = await query(
      `INSERT INTO deals (lead_id, pipeline_id, stage_id, owner_member_id, status, ruleset_version, created_at,
         stage_entered_at, closed_at)
       VALUES ($1, $2, $3, $4, $5, 'test', $6, $6, CASE WHEN $5 <> 'open' THEN $6::timestamptz END) RETURNING id`,
      [
        leadId,
        fields.pipeline ?? 'b2b',
        fields.stage ?? 'new',
        fields.owner === undefined ? 'anna' : fields.owner,
        fields.status ?? 'open',
        new Date(clock.now().getTime() - 3 * 24 * 3600_000),
      ],
    );
    return row.id;
  }

  const on = (leadId: number, type: string, overrides: Partial<LeadlineEvent> = {}): TriggerInstance =>
    eventTrigger(String(leadId), { ...event(type, overrides), id: randomUUID() });
  const actions = (leadId: number) =>
    query(
      `SELECT rule_id, action_index, action->>'type' AS type, status, result, error, done_at
       FROM automation_actions WHERE lead_id = $1 ORDER BY rule_id, action_index`,
      [leadId],
    );

  it('moves the stage, creates the owner a task and DMs the owner, once', async () => {
    const leadId = await lead();
    const dealId = await deal(leadId);
    const trigger = on(leadId, 'meeting.booked');
    const summary = await run([{ leadId, triggers: [trigger] }]);
    expect(summary).toMatchObject({ planned: 3, executed: 3, failed: 0, skipped: 0, notifications: 1 });

    const [moved] = await query('SELECT stage_id, stage_entered_at FROM deals WHERE id = $1', [dealId]);
    expect(moved).toEqual({ stage_id: 'discovery', stage_entered_at: new Date(NOW) });
    expect(
      await query('SELECT from_stage, to_stage, cause FROM deal_stage_history WHERE deal_id = $1', [dealId]),
    ).toEqual([{ from_stage: 'new', to_stage: 'discovery', cause: 'automation:meeting-discovery' }]);
    const key = `meeting-discovery:${leadId}:${trigger.id}`;
    expect(await query('SELECT title, assignee_member_id, due_at, source_key, deal_id FROM tasks')).toEqual([
      {
        title: 'Prepare the discovery call',
        assignee_member_id: 'anna',
        due_at: new Date('2026-11-20T16:00:00.000Z'),
        source_key: `${key}#1`,
        deal_id: dealId,
      },
    ]);
    const [message] = await query('SELECT key, kind, channel, method, lead_id, payload FROM slack_outbox');
    expect(message).toMatchObject({
      key: `notify:${key}#2`,
      kind: 'notification',
      channel: 'U0ANNA001',
      method: 'chat.postMessage',
      lead_id: leadId,
    });
    expect(message.payload.text).toContain('Demo requested by Ada Lovelace (Genomics Lab)');
    expect(checkMessage(message.payload)).toEqual([]);
    expect((await actions(leadId)).map((a) => [a.type, a.status])).toEqual([
      ['move_to_stage', 'done'],
      ['create_task', 'done'],
      ['send_notification', 'done'],
    ]);
    await waitFor(async () => kicks.length > 0);
    expect(kicks).toHaveLength(1);

    // The same trigger again (a retried job, an hour later): nothing runs, nothing changes.
    clock.set('2026-11-20T13:00:00.000Z');
    const before = await query('SELECT * FROM automation_actions ORDER BY action_index');
    // The deal is in discovery now, so the engine plans the move as a skip; its key is taken anyway.
    const again = await run([{ leadId, triggers: [trigger] }]);
    expect(again).toEqual({
      planned: 2,
      executed: 0,
      failed: 0,
      skipped: 0,
      repeated: 2,
      notifications: 0,
      cascadeStopped: 0,
    });
    expect(await query('SELECT * FROM automation_actions ORDER BY action_index')).toEqual(before);
    expect(await query('SELECT stage_entered_at FROM deals WHERE id = $1', [dealId])).toEqual([
      { stage_entered_at: new Date(NOW) },
    ]);
    expect(await query('SELECT count(*)::int AS n FROM tasks')).toEqual([{ n: 1 }]);
    expect(await query('SELECT count(*)::int AS n FROM slack_outbox')).toEqual([{ n: 1 }]);
    expect(await query('SELECT count(*)::int AS n FROM deal_stage_history')).toEqual([{ n: 1 }]);
    await waitFor(async () => kicks.length > 0);
    expect(kicks).toHaveLength(1);
  });

  it('records why nothing happened when a rule has nothing to act on', async () => {
    const noDeal = await lead();
    const research = await lead();
    await deal(research, { pipeline: 'b2b', stage: 'new' });
    const summary = await run([
      { leadId: noDeal, triggers: [on(noDeal, 'meeting.booked')] },
      { leadId: research, triggers: [on(research, 'webinar.attended')] },
    ]);
    expect(summary).toMatchObject({ planned: 0, executed: 0, failed: 0, skipped: 4 });
    expect((await actions(noDeal)).map((a) => [a.type, a.status, a.result])).toEqual([
      ['move_to_stage', 'skipped', { skipped: 'no_deal' }],
      ['create_task', 'skipped', { skipped: 'no_owner' }],
      // No deal, so no owner to DM: the engine skips it rather than failing.
      ['send_notification', 'skipped', { skipped: 'no_owner' }],
    ]);
    // quote_sent is a research stage; the lead's deal is in b2b.
    expect((await actions(research)).map((a) => [a.type, a.status, a.result])).toEqual([
      ['move_to_stage', 'skipped', { skipped: 'stage_not_in_pipeline' }],
    ]);
  });

  it('notifies a channel and every active manager, escaping what the lead typed', async () => {
    const leadId = await lead({
      company: '<!channel> Evil & Co',
      fullName: '<@U0BOSS> *Mallory*',
      score: 85,
    });
    const trigger: TriggerInstance = {
      type: 'score_threshold',
      id: 'threshold:hot:up:evt-1',
      leadId: String(leadId),
      threshold: 'hot',
      direction: 'up',
      score: 85,
    };
    const summary = await run([{ leadId, triggers: [trigger] }]);
    expect(summary).toMatchObject({ executed: 3, failed: 0, notifications: 2 });
    const messages = await query('SELECT key, channel, payload FROM slack_outbox ORDER BY key');
    const key = `hot-alert:${leadId}:threshold:hot:up:evt-1`;
    expect(messages.map((m) => [m.key, m.channel])).toEqual([
      [`notify:${key}#0`, '#sales-hot'],
      // Sam is an admin but inactive: only Lena hears about it.
      [`notify:${key}#1:lena`, 'U0LENA003'],
    ]);
    for (const { payload } of messages) {
      const json = JSON.stringify(payload);
      expect(json).not.toContain('<!channel>');
      expect(json).not.toContain('<@U0BOSS>');
      expect(json).toContain('&lt;!channel&gt; Evil &amp; Co');
      expect(payload.text).toContain('&lt;@U0BOSS&gt;');
      expect(checkMessage(payload)).toEqual([]);
    }
    expect(await query('SELECT title, assignee_member_id FROM tasks')).toEqual([
      { title: 'Call the hot lead', assignee_member_id: 'lena' },
    ]);
  });

  it('keeps notifications within Block Kit limits whatever a form supplied', async () => {
    const leadId = await lead({
      company: '&<>'.repeat(3_000),
      fullName: `${'Ä'.repeat(5_000)}😀`,
      score: 90,
    });
    const trigger: TriggerInstance = {
      type: 'score_threshold',
      id: 'threshold:hot:up:evt-2',
      leadId: String(leadId),
      threshold: 'hot',
      direction: 'up',
      score: 90,
    };
    await run([{ leadId, triggers: [trigger] }]);
    const messages = await query('SELECT payload FROM slack_outbox');
    expect(messages).toHaveLength(2);
    for (const { payload } of messages) {
      expect(checkMessage(payload)).toEqual([]);
      expect(payload.text.length).toBeLessThanOrEqual(4_000);
      expect(payload.text).not.toMatch(/[<>]/);
    }
  });

  it('routes a lead to a pipeline, and a later trigger of the same run sees the new deal', async () => {
    const leadId = await lead();
    const summary = await run([
      {
        leadId,
        triggers: [
          on(leadId, 'form.submitted', { metadata: { form_type: 'demo' } }),
          on(leadId, 'meeting.booked'),
        ],
      },
    ]);
    expect(summary).toMatchObject({ failed: 0, skipped: 0, executed: 4 });
    const deals = await query(
      'SELECT id, pipeline_id, stage_id, owner_member_id FROM deals WHERE lead_id = $1',
      [leadId],
    );
    expect(deals).toHaveLength(1);
    expect(deals[0]).toMatchObject({ pipeline_id: 'b2b', stage_id: 'discovery' });
    expect(['anna', 'ben']).toContain(deals[0].owner_member_id);
    const [route] = (await actions(leadId)).filter((a) => a.type === 'route_to_pipeline');
    expect(route).toMatchObject({ status: 'done', result: { decision: 'route', dealId: deals[0].id } });
    expect(
      await query(`SELECT kind, pipeline_id FROM routing_decisions WHERE lead_id = $1`, [leadId]),
    ).toEqual([{ kind: 'route', pipeline_id: 'b2b' }]);
  });

  it('assigns a named owner, or the pipeline rotation’s pick', async () => {
    const named = await lead();
    const namedDeal = await deal(named, { owner: 'anna' });
    const rotated = await lead();
    const rotatedDeal = await deal(rotated, { owner: null });
    const summary = await run([
      { leadId: named, triggers: [on(named, 'lead.interested')] },
      { leadId: rotated, triggers: [on(rotated, 'linkedin.replied')] },
    ]);
    expect(summary).toMatchObject({ executed: 2, failed: 0 });
    const owners = await query('SELECT id, owner_member_id FROM deals ORDER BY id');
    expect(owners.find((d) => d.id === namedDeal)?.owner_member_id).toBe('ben');
    expect(['anna', 'ben']).toContain(owners.find((d) => d.id === rotatedDeal)?.owner_member_id);
    const [namedAction] = await actions(named);
    expect(namedAction?.result).toMatchObject({ dealId: namedDeal, previousOwner: 'anna', owner: 'ben' });
    expect(await query('SELECT count(*)::int AS n FROM assignments')).toEqual([{ n: 2 }]);
  });

  it('queues a won deal for MOCO, announces it and creates the follow-up task', async () => {
    const leadId = await lead();
    const dealId = await deal(leadId, { stage: 'won', status: 'won' });
    const trigger = dealTrigger('deal_won', {
      dealId: String(dealId),
      leadId: String(leadId),
      pipelineId: 'b2b',
      stageId: 'won',
      stageEnteredAt: new Date('2026-11-17T12:00:00Z'),
    });
    const summary = await run([{ leadId, triggers: [trigger] }]);
    expect(summary).toMatchObject({ executed: 3, failed: 0 });
    const key = `won-sync:${leadId}:${trigger.id}`;
    expect(await query('SELECT source_key, entity, lead_id, deal_id, state FROM moco_sync_requests')).toEqual(
      [{ source_key: `${key}#0`, entity: 'deal', lead_id: leadId, deal_id: dealId, state: 'pending' }],
    );
    const [sync] = await actions(leadId);
    expect(sync?.result).toMatchObject({ entity: 'deal', state: 'pending' });
    expect(await query('SELECT channel FROM slack_outbox')).toEqual([{ channel: '#wins' }]);
    expect(await query('SELECT assignee_member_id, due_at FROM tasks')).toEqual([
      { assignee_member_id: 'lena', due_at: new Date('2026-11-22T12:00:00.000Z') },
    ]);
  });

  it('writes only the allowlisted columns update_field names', async () => {
    const leadId = await lead();
    const dealId = await deal(leadId);
    const leadBefore = (await query('SELECT * FROM leads WHERE id = $1', [leadId]))[0];
    const dealBefore = (await query('SELECT * FROM deals WHERE id = $1', [dealId]))[0];
    clock.set('2026-11-20T12:30:00.000Z');
    const summary = await run([{ leadId, triggers: [on(leadId, 'email.replied')] }]);
    expect(summary).toMatchObject({ executed: 3, failed: 0 });
    const leadAfter = (await query('SELECT * FROM leads WHERE id = $1', [leadId]))[0];
    const dealAfter = (await query('SELECT * FROM deals WHERE id = $1', [dealId]))[0];
    expect(leadAfter).toEqual({
      ...leadBefore,
      company: 'Genomics Lab GmbH',
      updated_at: new Date('2026-11-20T12:30:00.000Z'),
    });
    expect(dealAfter).toEqual({
      ...dealBefore,
      priority: 'high',
      value: 5000,
      updated_at: new Date('2026-11-20T12:30:00.000Z'),
    });
    expect((await actions(leadId)).map((a) => a.result)).toEqual([
      { field: 'deal.priority', value: 'high', previous: null },
      { field: 'lead.company', value: 'Genomics Lab GmbH', previous: 'Genomics Lab' },
      { field: 'deal.value', value: 5000, previous: null },
    ]);
  });

  it('refuses update_field on fields outside the allowlist when the ruleset is parsed', () => {
    for (const field of ['lead.score', 'deal.owner_member_id', 'lead.email; DROP TABLE leads']) {
      const yaml = RULES_YAML.replace('field: lead.company', `field: "${field}"`);
      expect(() => testRuleset(yaml)).toThrow(/must be one of lead\.company/);
    }
  });

  it('logs a failing action and still runs the rule’s other actions and the other rules', async () => {
    const leadId = await lead();
    await deal(leadId);
    // Any insert into the MOCO queue now fails, as a broken table or a bug would.
    await db.pool.query(
      'ALTER TABLE moco_sync_requests ADD CONSTRAINT test_refuse_sync CHECK (false) NOT VALID',
    );
    const trigger = on(leadId, 'content.downloaded');
    try {
      const summary = await run([{ leadId, triggers: [trigger] }]);
      expect(summary).toMatchObject({ planned: 4, executed: 3, failed: 1, notifications: 1 });
    } finally {
      await db.pool.query('ALTER TABLE moco_sync_requests DROP CONSTRAINT test_refuse_sync');
    }
    const log = await actions(leadId);
    expect(log.map((a) => [a.rule_id, a.type, a.status])).toEqual([
      ['content-sync', 'sync_moco', 'failed'],
      ['content-sync', 'create_task', 'done'],
      ['content-sync', 'send_notification', 'done'],
      ['content-title', 'update_field', 'done'],
    ]);
    expect(log[0]?.error).toMatch(/test_refuse_sync/);
    expect(log[0]?.done_at).toEqual(new Date(NOW));
    expect(await query('SELECT count(*)::int AS n FROM moco_sync_requests')).toEqual([{ n: 0 }]);
    expect(await query('SELECT assignee_member_id FROM tasks')).toEqual([{ assignee_member_id: 'ben' }]);
    expect(await query('SELECT title FROM leads WHERE id = $1', [leadId])).toEqual([{ title: 'Lab head' }]);
    // An unknown template still tells the channel something, through the generic layout.
    const [message] = await query('SELECT channel, payload FROM slack_outbox');
    expect(message.channel).toBe('C0CONTENT1');
    expect(message.payload.text).toContain('Content interest: Ada Lovelace');
    expect(checkMessage(message.payload)).toEqual([]);

    // Failed actions are not retried by a repeated run either: the log is the place to look.
    const again = await run([{ leadId, triggers: [trigger] }]);
    expect(again).toMatchObject({ executed: 0, failed: 0, repeated: 4 });
  });

  it('keeps what ran before a failing action exactly once when the run starts over isolated', async () => {
    const leadId = await lead();
    await deal(leadId);
    // sync_moco succeeds before create_task fails: the optimistic run is rolled back and redone.
    await db.pool.query('ALTER TABLE tasks ADD CONSTRAINT test_refuse_task CHECK (false) NOT VALID');
    try {
      const summary = await run([{ leadId, triggers: [on(leadId, 'content.downloaded')] }]);
      expect(summary).toMatchObject({ planned: 4, executed: 3, failed: 1, notifications: 1 });
    } finally {
      await db.pool.query('ALTER TABLE tasks DROP CONSTRAINT test_refuse_task');
    }
    expect((await actions(leadId)).map((a) => [a.type, a.status])).toEqual([
      ['sync_moco', 'done'],
      ['create_task', 'failed'],
      ['send_notification', 'done'],
      ['update_field', 'done'],
    ]);
    expect(await query('SELECT count(*)::int AS n FROM moco_sync_requests')).toEqual([{ n: 1 }]);
    expect(await query('SELECT count(*)::int AS n FROM slack_outbox')).toEqual([{ n: 1 }]);
    expect(await query('SELECT count(*)::int AS n FROM tasks')).toEqual([{ n: 0 }]);
  });

  it('runs without a queue to kick', async () => {
    const leadId = await lead();
    await deal(leadId);
    const noQueue = jobContext(db, ruleset, clock.now);
    const summary = await withTransaction(db.pool, (tx) =>
      runAutomation(tx, noQueue, [{ leadId, triggers: [on(leadId, 'meeting.booked')] }], clock.now()),
    );
    expect(summary).toMatchObject({ executed: 3, notifications: 1 });
  });
});
