import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ConflictView, renderConflict } from '../../../src/slack/render/conflict.ts';
import { withTransaction } from '../../../src/db/pool.ts';
import type { LeadIdentity } from '../../../src/engine/event.ts';
import { postConflictMessages } from '../../../src/app/processing/conflicts.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import type { RoutingResult } from '../../../src/app/processing/routing.ts';
import { event, ROUTING_SCORING_YAML, routeLeads, scoringOnly, storeEvents, testRuleset } from '../../support/engine-fixtures.ts';
import { type SlackHarness, startSlackHarness } from '../../support/slack-harness.ts';

// routing-step.test.ts's ruleset (a protocol download is research intent, so demo + protocol is a
// 50/50 tie), plus a manager rule, managers and an admin, and the Slack channels.
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
    assignment: { strategy: round_robin }
routing:
  threshold: 40
  min_confidence: 60
  conflict_margin: 10
  manager_decides:
    - id: key-accounts
      description: "Key accounts <go> to the account team & nobody else"
      when: [{ field: lead.company, op: equals, value: Key Account Corp }]
team:
  members:
    - { id: anna, slack_user_id: U0ANNA001, name: Anna, role: rep }
    - { id: ben, slack_user_id: U0BEN0002, name: Ben, role: rep }
    - { id: carla, slack_user_id: U0CARLA03, name: Carla, role: rep }
    - { id: lena, slack_user_id: U0LENA004, name: Lena, role: manager }
    - { id: max, slack_user_id: U0MAX0005, name: Max, role: admin }
slack:
  routing_channel: "#lead-routing"
`;

const CHANNEL = '#lead-routing';
const START = '2026-11-20T09:30:00Z';

describe('routing-conflict messages', () => {
  let h: SlackHarness;
  const ruleset = testRuleset(RULES_YAML);

  beforeAll(async () => {
    h = await startSlackHarness(ruleset, () => {}, { start: START });
  });
  afterAll(async () => {
    expect(h.fake.violations()).toEqual([]);
    await h.stop();
  });
  beforeEach(async () => {
    await h.db.reset();
    h.fake.reset();
    h.clock.set(START);
  });

  const demo = (lead: LeadIdentity, at = '2026-11-20T09:00:00Z') =>
    event('form.submitted', { lead, metadata: { form_type: 'demo' }, occurredAt: at });
  const protocol = (lead: LeadIdentity, at = '2026-11-20T09:01:00Z') =>
    event('content.downloaded', { lead, metadata: { content_type: 'protocol' }, occurredAt: at });
  const pricing = (lead: LeadIdentity) =>
    event('page.viewed', { lead, metadata: { url: '/pricing' }, occurredAt: '2026-11-20T09:02:00Z' });

  /**
   * Scores the events without routing, then routes and posts in one transaction, exactly as the
   * processing job does once `postConflictMessages` follows routing.
   */
  async function scoreThenRoute(events: ReturnType<typeof event>[]) {
    const email = events[0]!.lead.email!;
    await processEvents(await storeEvents(h.db, events), {
      ...h.ctx,
      ruleset: scoringOnly(ruleset),
    });
    const { rows } = await h.db.pool.query<{ id: number }>('SELECT id FROM leads WHERE email = $1', [email]);
    const leadId = rows[0]!.id;
    return routeAndPost(leadId);
  }

  async function routeAndPost(leadId: number) {
    return withTransaction(h.db.pool, async (tx) => {
      const now = h.clock.now();
      const results = await routeLeads(tx, h.ctx, [leadId], now);
      const posted = await postConflictMessages(tx, h.ctx, results, now);
      return { leadId, results, posted };
    });
  }

  const conflictOf = async (leadId: number) =>
    (
      await h.db.pool.query<{ id: number; outbox_key: string | null; cause: string }>(
        'SELECT id, outbox_key, cause FROM routing_conflicts WHERE lead_id = $1',
        [leadId],
      )
    ).rows[0]!;

  const strings = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value]
      : Array.isArray(value)
        ? value.flatMap(strings)
        : typeof value === 'object' && value !== null
          ? Object.values(value).flatMap(strings)
          : [];

  it('posts one message to #lead-routing with the lead, score, confidences, cause and a button per pipeline', async () => {
    const lead = { email: 'torn@uni.example', fullName: 'Toni Berg', company: 'Uni Lab', ids: {} };
    const { leadId, posted } = await scoreThenRoute([demo(lead), protocol(lead)]);
    const conflict = await conflictOf(leadId);
    expect(posted).toEqual([conflict.id]);
    expect(conflict.outbox_key).toBe(`conflict:${conflict.id}`);
    await h.deliver();

    const messages = h.fake.messages(CHANNEL);
    expect(messages).toHaveLength(1);
    const message = messages[0]!;
    expect(message.text).toMatch(/^Routing conflict: Toni Berg \(Uni Lab\), score 45\. A manager decides\.$/);
    const blocks = JSON.stringify(message.blocks);
    expect(blocks).toContain('*Toni Berg* · Uni Lab · uni.example');
    expect(blocks).toContain('Score *45*');
    expect(blocks).toContain('*research* 50% confidence · 40 pts → Research');
    expect(blocks).toContain('*b2b* 50% confidence · 40 pts → B2B customers');
    expect(blocks).toContain(
      'the intent is unclear. research (50%) and b2b (50%) are within 10 points of each other',
    );
    const actions = (message.blocks as { type: string; elements?: { action_id: string; value: string }[] }[])
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements ?? [])
      .map((e) => [e.action_id, e.value]);
    expect(actions).toEqual([
      ['conflict.route:research', `${conflict.id}:research`],
      ['conflict.route:b2b', `${conflict.id}:b2b`],
      ['conflict.pool', String(conflict.id)],
    ]);
    expect(h.fake.calls('chat.postMessage')[0]?.body['channel']).toBe(CHANNEL);
    expect(h.fake.violations()).toEqual([]);
  });

  it('names a manager rule and its description in words', async () => {
    const lead = { email: 'cto@keyaccount.example', company: 'Key Account Corp', ids: {} };
    const { leadId } = await scoreThenRoute([demo(lead), pricing(lead)]);
    expect((await conflictOf(leadId)).cause).toBe('manager_rule');
    await h.deliver();
    const blocks = JSON.stringify(h.fake.messages(CHANNEL)[0]?.blocks);
    expect(blocks).toContain(
      'rule *key-accounts* says a manager decides leads like this one: Key accounts &lt;go&gt; to the account team &amp; nobody else',
    );
    expect(blocks).toContain('*b2b* 100% confidence · 50 pts → B2B customers');
    expect(blocks).toContain(`Lead #${leadId}`);
    expect(h.fake.violations()).toEqual([]);
  });

  it('renders a lead whose name and company carry Slack markup inert', async () => {
    const evil = '<!channel> <@U123> <https://evil.example|click>';
    const lead = { email: 'evil@evil.example', fullName: evil, company: `${evil} & Co`, ids: {} };
    await scoreThenRoute([demo(lead), protocol(lead)]);
    await h.deliver();
    const [message] = h.fake.messages(CHANNEL);
    const all = strings({ text: message?.text, blocks: message?.blocks });
    for (const text of all) {
      expect(text).not.toMatch(/<!|<@|<https?:|<mailto:/);
    }
    expect(message?.text).toContain('&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt;');
    expect(JSON.stringify(message?.blocks)).toContain('&amp; Co');
    expect(h.fake.violations()).toEqual([]);
  });

  it('sends nothing new when an unchanged conflict is posted again', async () => {
    const lead = { email: 'again@uni.example', fullName: 'Ada Again', ids: {} };
    const first = await scoreThenRoute([demo(lead), protocol(lead)]);
    await h.deliver();
    const callsBefore = h.fake.calls().length;
    h.clock.advance(60_000);

    // A retried job posting the same results, and routing the same ambiguity again.
    const again = await withTransaction(h.db.pool, (tx) =>
      postConflictMessages(tx, h.ctx, first.results as RoutingResult[], h.clock.now()),
    );
    expect(again).toEqual([]);
    await h.db.pool.query(`UPDATE leads SET status = 'pool' WHERE id = $1`, [first.leadId]);
    const rerouted = await routeAndPost(first.leadId);
    expect(rerouted.results.map((r) => r.conflictOpened)).toEqual([false]);
    expect(rerouted.posted).toEqual([]);
    await h.deliver();

    expect(h.fake.calls()).toHaveLength(callsBefore);
    expect(h.fake.messages(CHANNEL)).toHaveLength(1);
    expect(h.fake.violations()).toEqual([]);
  });

  it('updates the same message when the conflict is refreshed with new candidates', async () => {
    const lead = { email: 'shift@uni.example', fullName: 'Sam Shift', ids: {} };
    const { leadId } = await scoreThenRoute([demo(lead), protocol(lead)]);
    await h.deliver();
    h.clock.advance(60_000);

    // Two more protocol downloads: research now clearly leads, and its pipeline has a manager decide.
    await h.db.pool.query(`UPDATE leads SET status = 'pool' WHERE id = $1`, [leadId]);
    await processEvents(
      await storeEvents(h.db, [
        protocol(lead, '2026-11-20T09:10:00Z'),
        protocol(lead, '2026-11-20T09:11:00Z'),
      ]),
      { ...h.ctx, ruleset: { ...ruleset, pipelines: [] } },
    );
    const { posted } = await routeAndPost(leadId);
    const conflict = await conflictOf(leadId);
    expect(conflict.cause).toBe('pipeline_manager_decides');
    expect(posted).toEqual([conflict.id]);
    await h.deliver();

    expect(h.fake.succeeded('chat.postMessage')).toHaveLength(1);
    expect(h.fake.succeeded('chat.update')).toHaveLength(1);
    const [message] = h.fake.messages(CHANNEL);
    expect(message?.updates).toBe(1);
    expect(JSON.stringify(message?.blocks)).toContain('a manager decides every lead for *Research*');
    expect(h.fake.violations()).toEqual([]);
  });
});

describe('renderConflict', () => {
  const base: ConflictView = {
    conflictId: 7,
    lead: {
      id: 42,
      fullName: 'Ada Lovelace',
      company: 'Genomics Lab',
      email: 'ada@genomics-lab.example',
      score: 72,
      grade: 'B',
      intentWeights: { b2b: 40, research: 40 },
    },
    cause: 'ambiguous_intent',
    candidates: [
      { intent: 'b2b', confidence: 50, pipelineId: 'b2b' },
      { intent: 'research', confidence: 50, pipelineId: null },
    ],
    confidences: { research: 50, b2b: 50, co_creation: 0 },
    conflictMargin: 10,
    rule: 'routing.conflict_margin',
    pipelines: [{ id: 'b2b', name: 'B2B customers' }],
    timeZone: 'Europe/Berlin',
  };

  it('shows candidates without a pipeline as text only', () => {
    const { blocks } = renderConflict(base);
    const json = JSON.stringify(blocks);
    expect(json).toContain('*research* 50% confidence · 40 pts → no pipeline serves this intent');
    expect(json.match(/"conflict\.route/g)).toHaveLength(1);
  });

  it('replaces the buttons with who decided and when, in the ruleset time zone', () => {
    const at = new Date('2026-11-20T09:42:00Z');
    const routed = renderConflict({
      ...base,
      decision: { kind: 'route', pipelineId: 'b2b', by: 'U0LENA004', at, ownerSlackUserId: 'U0ANNA001' },
    });
    expect(routed.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(routed.blocks)).toContain('Routed to B2B customers by <@U0LENA004> at 10:42');
    expect(JSON.stringify(routed.blocks)).toContain('Owner: <@U0ANNA001>');
    expect(routed.text).toContain('Routed to B2B customers by <@U0LENA004> at 10:42.');
    const pooled = renderConflict({ ...base, decision: { kind: 'pool', by: 'U0MAX0005', at } });
    expect(pooled.text).toContain('Kept in the pool by <@U0MAX0005> at 10:42.');
  });

  it('keeps very long lead data within Block Kit limits', () => {
    const long = 'x'.repeat(5_000);
    const { text, blocks } = renderConflict({
      ...base,
      lead: { ...base.lead, fullName: long, company: long },
    });
    expect(text.length).toBeLessThanOrEqual(4_000);
    const header = blocks[0] as { text: { text: string } };
    expect(header.text.text.length).toBeLessThanOrEqual(150);
  });
});
