import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeDeal, reopenDeal } from '../../../src/app/changes/deal.ts';
import { routeLeadByManager } from '../../../src/app/commands/route-by-manager.ts';
import type { AppContext } from '../../../src/app/context.ts';
import { type AutomationInput, runAutomation } from '../../../src/app/processing/automation.ts';
import { withTransaction } from '../../../src/db/pool.ts';
import { eventTrigger, MAX_CASCADE_DEPTH } from '../../../src/engine/automation.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { event, fixedClock, jobContext, testRuleset } from '../../support/engine-fixtures.ts';

// Every deal rule creates a task named after what fired it, so the tasks table shows which fired.
const RULES_YAML = `
version: deal-lifecycle-test
intent:
  intents: [research, b2b, co_creation]
deals: { currency: EUR }
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages:
      - { id: new, name: New lead }
      - { id: discovery, name: Discovery call }
      - { id: pilot, name: Pilot run }
      - { id: proposal, name: Proposal, probability: 60 }
      - { id: won, name: Won, won: true }
      - { id: lost, name: Lost, lost: true }
    assignment: { strategy: round_robin, members: [anna] }
slack: { deals_channel: C0DEALS001 }
team:
  members:
    - { id: anna, slack_user_id: U0ANNA001, name: Anna, role: rep }
    - { id: lena, slack_user_id: U0LENA004, name: Lena, role: manager }
automation:
  - id: on-won
    trigger: { type: deal_won }
    actions: [{ type: create_task, title: deal_won, assignee: lena }]
  - id: on-lost
    trigger: { type: deal_lost }
    actions: [{ type: create_task, title: deal_lost, assignee: lena }]
  - id: on-proposal
    trigger: { type: stage_entered, stage: proposal }
    actions: [{ type: create_task, title: stage_entered proposal, assignee: lena }]
  - id: on-new
    trigger: { type: stage_entered, stage: new }
    actions: [{ type: create_task, title: stage_entered new, assignee: lena }]
  - id: signed-wins
    trigger: { type: event, event: contract.signed }
    actions: [{ type: move_to_stage, stage: won }]
  - id: loop-start
    trigger: { type: event, event: loop.started }
    actions: [{ type: move_to_stage, stage: discovery }]
  - id: loop-there
    trigger: { type: stage_entered, stage: discovery }
    actions: [{ type: move_to_stage, stage: pilot }]
  - id: loop-back
    trigger: { type: stage_entered, stage: pilot }
    actions: [{ type: move_to_stage, stage: discovery }]
`;

const NOW = '2026-11-20T12:00:00.000Z';

describe('deals that close', () => {
  let db: TestDatabase;
  let ctx: AppContext;
  const clock = fixedClock(NOW);

  beforeAll(async () => {
    db = await createTestDatabase();
    ctx = jobContext(db, testRuleset(RULES_YAML), clock.now);
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    clock.set(NOW);
    await db.reset();
  });

  const query = async (text: string, values: unknown[] = []) => (await db.pool.query(text, values)).rows;
  const tasks = async () => (await query('SELECT title FROM tasks ORDER BY id')).map((r) => r.title as string);

  async function openDeal(stage = 'new'): Promise<{ leadId: number; dealId: number }> {
    const [lead] = await query(
      `INSERT INTO leads (email, full_name, company, score, grade, created_at) VALUES ($1, 'Ada Lovelace', 'Genomics Lab', 60, 'B', $2)
       RETURNING id`,
      [`ada-${randomUUID().slice(0, 8)}@lab.example`, clock.now()],
    );
    const [deal] = await query(
      `INSERT INTO deals (lead_id, pipeline_id, stage_id, owner_member_id, ruleset_version, created_at, stage_entered_at)
       VALUES ($1, 'b2b', $2, 'anna', 'test', $3, $3) RETURNING id`,
      [lead.id, stage, clock.now()],
    );
    return { leadId: lead.id, dealId: deal.id };
  }

  it('marks a deal won once when twenty people mark it at the same moment, and fires deal_won once', async () => {
    const { dealId } = await openDeal('proposal');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        withTransaction(db.pool, (tx) =>
          closeDeal(tx, ctx, {
            dealId,
            outcome: 'won',
            actor: `slack:U0CLICK${String(i).padStart(3, '0')}`,
            now: clock.now(),
            close: { value: 12_000, currency: 'EUR' },
          }),
        ),
      ),
    );
    expect(results.filter((r) => r.closed)).toHaveLength(1);
    expect(results.filter((r) => !r.closed)).toEqual(Array(19).fill({ closed: false, status: 'won' }));
    const [deal] = await query('SELECT status, stage_id, value::float8 AS value, currency, closed_at FROM deals');
    expect(deal).toEqual({ status: 'won', stage_id: 'won', value: 12_000, currency: 'EUR', closed_at: new Date(NOW) });
    expect(await tasks()).toEqual(['deal_won']);
    const posts = await query(`SELECT channel, payload->>'text' AS text FROM slack_outbox WHERE kind = 'deal'`);
    expect(posts).toEqual([{ channel: 'C0DEALS001', text: 'Won: Ada Lovelace (Genomics Lab), 12,000 EUR' }]);
  });

  it('fires deal_lost and records the reason; a manager reopens it into its last open stage', async () => {
    const { dealId } = await openDeal('proposal');
    await withTransaction(db.pool, (tx) =>
      closeDeal(tx, ctx, { dealId, outcome: 'lost', actor: 'slack:U0ANNA001', now: clock.now(), close: { lostReason: 'Budget cut' } }),
    );
    expect(await query('SELECT status, stage_id, lost_reason FROM deals')).toEqual([
      { status: 'lost', stage_id: 'lost', lost_reason: 'Budget cut' },
    ]);
    clock.set('2026-11-21T09:00:00.000Z');
    const reopened = await withTransaction(db.pool, (tx) =>
      reopenDeal(tx, ctx, { dealId, actor: 'slack:U0LENA004', now: clock.now() }),
    );
    expect(reopened).toEqual({ reopened: true, stage: 'proposal' });
    expect(await query('SELECT status, stage_id, closed_at, lost_reason FROM deals')).toEqual([
      { status: 'open', stage_id: 'proposal', closed_at: null, lost_reason: null },
    ]);
    // Reopening re-enters the proposal stage: its rule fires for the new visit.
    expect(await tasks()).toEqual(['deal_lost', 'stage_entered proposal']);
  });

  it('fires stage_entered and deal_won when a rule moves the deal into the won stage', async () => {
    const { leadId } = await openDeal('proposal');
    const signed = eventTrigger(String(leadId), { ...event('contract.signed'), id: randomUUID() });
    await withTransaction(db.pool, (tx) => runAutomation(tx, ctx, [{ leadId, triggers: [signed] }], clock.now()));
    expect(await query('SELECT status, stage_id FROM deals')).toEqual([{ status: 'won', stage_id: 'won' }]);
    expect(await tasks()).toEqual(['deal_won']);
    const [moved] = await query(`SELECT result FROM automation_actions WHERE rule_id = 'signed-wins'`);
    expect(moved.result).toMatchObject({ from: 'proposal', to: 'won', closed: 'won' });
  });

  it('fires stage_entered for the deal a manager’s Route to… opens', async () => {
    const [lead] = await query(
      `INSERT INTO leads (email, full_name, score, grade, intent_weights, primary_intent, intent_confidence, created_at)
       VALUES ('route@lab.example', 'Rita Route', 50, 'C', '{"b2b": 50}', 'b2b', 100, $1) RETURNING id`,
      [clock.now()],
    );
    const routed = await routeLeadByManager(db.pool, ctx, {
      leadId: lead.id,
      pipelineId: 'b2b',
      slackUserId: 'U0LENA004',
      now: clock.now(),
    });
    expect(routed).toMatchObject({ routed: true, ownerMemberId: 'anna' });
    expect(await tasks()).toEqual(['stage_entered new']);
  });

  it('stops two rules that move a deal back and forth at the cascade bound, with the error logged', async () => {
    const { leadId } = await openDeal('new');
    const start = eventTrigger(String(leadId), { ...event('loop.started'), id: randomUUID() });
    const inputs: AutomationInput[] = [{ leadId, triggers: [start] }];
    const summary = await withTransaction(db.pool, (tx) => runAutomation(tx, ctx, inputs, clock.now()));
    expect(summary.cascadeStopped).toBe(1);
    // The event's move, then one move per cascade level up to the bound.
    const visits = await query('SELECT to_stage FROM deal_stage_history ORDER BY id');
    expect(visits).toHaveLength(MAX_CASCADE_DEPTH + 1);
    const stopped = await query(
      `SELECT rule_id, status, result->'cascade'->>'error' AS error FROM automation_actions WHERE result ? 'cascade'`,
    );
    expect(stopped).toEqual([
      {
        rule_id: expect.stringMatching(/^loop-(there|back)$/),
        status: 'done',
        error: expect.stringContaining(`rule cascade stopped at depth ${MAX_CASCADE_DEPTH}`),
      },
    ]);
  });
});
