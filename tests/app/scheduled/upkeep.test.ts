import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/app/context.ts';
import { runUpkeep } from '../../../src/app/scheduled/upkeep.ts';
import { checkMessage } from '../../support/block-kit-limits.ts';
import { countSlackKicks, createTestDatabase, type TestDatabase, waitFor } from '../../support/db.ts';
import { fixedClock, jobContext, testRuleset } from '../../support/engine-fixtures.ts';

const RULES_YAML = `
version: upkeep-test
sources:
  - { name: website, scheme: standard, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }
thresholds:
  - { name: hot, score: 80 }
intent:
  intents: [research, b2b]
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages:
      - { id: new, name: New lead }
      - { id: discovery, name: Discovery call }
      - { id: proposal, name: Proposal }
    assignment: { strategy: round_robin, members: [anna] }
team:
  members:
    - { id: anna, slack_user_id: U0ANNA001, name: Anna Becker, role: rep }
    - { id: ben, slack_user_id: U0BEN0002, name: Ben Ortiz, role: rep, active: false }
    - { id: lena, slack_user_id: U0LENA003, name: Lena Wagner, role: manager }
automation:
  - id: proposal-follow-up
    trigger: { type: time_in_stage, pipeline: b2b, stage: proposal, days: 7 }
    actions:
      - { type: send_notification, channel: owner, template: proposal_follow_up }
      - { type: create_task, title: Follow up on the proposal, due_in_hours: 24, assignee: owner }
upkeep:
  stalled_deal_days: 14
  stale_lead_days: 30
  ghost_risk_days: 60
  conflict_max_age_hours: 24
  unowned_deal_hours: 4
`;

const NOW = '2026-11-20T12:00:00.000Z';
const DAY = 24 * 3600_000;
const HOUR = 3600_000;

describe('upkeep job', () => {
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

  const query = async (text: string, values: unknown[] = []) => (await db.pool.query(text, values)).rows;
  const ago = (ms: number) => new Date(clock.now().getTime() - ms);

  async function lead(
    fields: { status?: string; lastActivity?: Date; company?: string } = {},
  ): Promise<number> {
    const [row] = await query(
      `INSERT INTO leads (email, full_name, company, status, last_activity_at, created_at)
       VALUES ($1, 'Ada Lovelace', $2, $3, $4, $5) RETURNING id`,
      [
        `lead-${randomUUID().slice(0, 8)}@genomics-lab.example`,
        fields.company ?? 'Genomics Lab',
        fields.status ?? 'routed',
        fields.lastActivity ?? ago(DAY),
        ago(90 * DAY),
      ],
    );
    return row.id;
  }

  async function deal(
    leadId: number,
    fields: { stage?: string; owner?: string | null; inStageFor?: number; createdAgo?: number } = {},
  ): Promise<number> {
    const [row] = await query(
      `INSERT INTO deals (lead_id, pipeline_id, stage_id, owner_member_id, ruleset_version, created_at, stage_entered_at)
       VALUES ($1, 'b2b', $2, $3, 'test', $4, $5) RETURNING id`,
      [
        leadId,
        fields.stage ?? 'new',
        fields.owner === undefined ? 'anna' : fields.owner,
        ago(fields.createdAgo ?? 30 * DAY),
        ago(fields.inStageFor ?? DAY),
      ],
    );
    return row.id;
  }

  const findings = () =>
    query(
      `SELECT key, kind, lead_id, deal_id, first_seen_at, last_seen_at, resolved_at FROM upkeep_findings ORDER BY key`,
    );
  const outbox = () => query('SELECT key, kind, channel, payload FROM slack_outbox ORDER BY key');

  it('reports a stalled deal once to its owner and resolves the finding when the deal moves', async () => {
    const leadId = await lead();
    const dealId = await deal(leadId, { stage: 'discovery', inStageFor: 20 * DAY });
    const first = await runUpkeep(ctx);
    expect(first).toMatchObject({ findings: 1, new: 1, resolved: 0, messages: 1, truncated: false });
    const key = `deal.stalled:${dealId}:discovery:${ago(20 * DAY).toISOString()}`;
    expect(await findings()).toEqual([
      {
        key,
        kind: 'deal.stalled',
        lead_id: leadId,
        deal_id: dealId,
        first_seen_at: new Date(NOW),
        last_seen_at: new Date(NOW),
        resolved_at: null,
      },
    ]);
    const [message] = await outbox();
    expect(message).toMatchObject({ key: `upkeep:${key}`, kind: 'upkeep', channel: 'U0ANNA001' });
    expect(message.payload.text).toContain('Discovery call for 20 days');
    expect(checkMessage(message.payload)).toEqual([]);
    await waitFor(async () => kicks.length > 0);
    expect(kicks).toHaveLength(1);

    // An hour later: still stalled, already announced.
    clock.set('2026-11-20T13:00:00.000Z');
    const second = await runUpkeep(ctx);
    expect(second).toMatchObject({ findings: 1, new: 0, messages: 0 });
    expect(await outbox()).toHaveLength(1);
    expect(await findings()).toMatchObject([
      {
        key,
        first_seen_at: new Date(NOW),
        last_seen_at: new Date('2026-11-20T13:00:00.000Z'),
        resolved_at: null,
      },
    ]);
    await waitFor(async () => kicks.length > 0);
    expect(kicks).toHaveLength(1);

    await db.pool.query(`UPDATE deals SET stage_id = 'proposal', stage_entered_at = $2 WHERE id = $1`, [
      dealId,
      clock.now(),
    ]);
    clock.set('2026-11-20T14:00:00.000Z');
    const third = await runUpkeep(ctx);
    expect(third).toMatchObject({ findings: 0, resolved: 1, messages: 0 });
    expect(await findings()).toMatchObject([{ key, resolved_at: new Date('2026-11-20T14:00:00.000Z') }]);
  });

  it('tells the managers about integrity problems', async () => {
    const orphan = await lead({ status: 'routed' });
    const inactiveOwner = await lead();
    const benDeal = await deal(inactiveOwner, { owner: 'ben' });
    const deactivated = await lead();
    const annaDeal = await deal(deactivated, { owner: 'anna' });
    await query(
      `INSERT INTO team_presence (member_id, slack_user_id, deactivated) VALUES ('anna', 'U0ANNA001', true)`,
    );
    const waiting = await lead({ status: 'conflict', company: '<!here> Pharma & Co' });
    const fresh = await lead({ status: 'conflict' });
    const conflict = async (leadId: number, age: number) =>
      (
        await query(
          `INSERT INTO routing_conflicts (lead_id, conflict_key, cause, candidates, reasons, ruleset_version, created_at)
           VALUES ($1, $2, 'ambiguous_intent', '[]', '{}', 'test', $3) RETURNING id`,
          [leadId, `${leadId}:ambiguous`, ago(age)],
        )
      )[0].id;
    const overdue = await conflict(waiting, 30 * HOUR);
    await conflict(fresh, 2 * HOUR);

    const summary = await runUpkeep(ctx);
    expect((await findings()).map((f) => f.key)).toEqual(
      [
        `integrity.conflict_overdue:${overdue}`,
        `integrity.owner_inactive:${annaDeal}:anna`,
        `integrity.owner_inactive:${benDeal}:ben`,
        `integrity.routed_without_deal:${orphan}`,
      ].sort(),
    );
    expect(summary).toMatchObject({ new: 4, messages: 4 });
    const messages = await outbox();
    // Every integrity message goes to the active managers only (Lena), one per finding.
    const byKey = new Map(messages.map((m) => [m.key, m]));
    expect(messages.every((m) => m.channel === 'U0LENA003')).toBe(true);
    expect([...byKey.keys()]).toEqual(
      [
        `upkeep:integrity.conflict_overdue:${overdue}:lena`,
        `upkeep:integrity.owner_inactive:${annaDeal}:anna:lena`,
        `upkeep:integrity.owner_inactive:${benDeal}:ben:lena`,
        `upkeep:integrity.routed_without_deal:${orphan}:lena`,
      ].sort(),
    );
    for (const { payload } of messages) expect(checkMessage(payload)).toEqual([]);
    const text = (key: string) => JSON.stringify(byKey.get(`upkeep:${key}:lena`)?.payload);
    const conflictText = text(`integrity.conflict_overdue:${overdue}`);
    expect(conflictText).toContain('waited 30 hours');
    expect(conflictText).not.toContain('<!here>');
    expect(conflictText).toContain('&lt;!here&gt; Pharma &amp; Co');
    expect(text(`integrity.owner_inactive:${annaDeal}:anna`)).toContain('deactivated in Slack');
    expect(text(`integrity.owner_inactive:${benDeal}:ben`)).toContain('marked inactive');
    expect(text(`integrity.routed_without_deal:${orphan}`)).toContain(
      'marked as routed but has no open deal',
    );

    // The manager decides: the conflict's finding resolves, the others stay open and quiet.
    await query(`UPDATE routing_conflicts SET resolved_at = $2 WHERE id = $1`, [overdue, clock.now()]);
    clock.set('2026-11-20T13:00:00.000Z');
    expect(await runUpkeep(ctx)).toMatchObject({ findings: 3, new: 0, resolved: 1, messages: 0 });
  });

  it('records stale leads without announcing them, and keeps them open when the lead query was cut off', async () => {
    await lead({ status: 'pool', lastActivity: ago(40 * DAY) });
    await lead({ status: 'pool', lastActivity: ago(50 * DAY) });
    expect(await runUpkeep(ctx)).toMatchObject({ findings: 2, new: 2, messages: 0, truncated: false });
    clock.set('2026-11-20T13:00:00.000Z');
    const cut = await runUpkeep(ctx, { leadLimit: 1 });
    expect(cut).toMatchObject({ findings: 1, truncated: true, resolved: 0 });
    expect((await findings()).every((f) => f.resolved_at === null)).toBe(true);
  });

  it('fires time_in_stage automation once per stage visit', async () => {
    const leadId = await lead();
    const dealId = await deal(leadId, { stage: 'proposal', inStageFor: 8 * DAY });
    const early = await lead();
    await deal(early, { stage: 'proposal', inStageFor: 6 * DAY });

    const first = await runUpkeep(ctx);
    expect(first.automation).toMatchObject({ planned: 2, executed: 2, failed: 0, notifications: 1 });
    expect(await query('SELECT lead_id, title, assignee_member_id FROM tasks')).toEqual([
      { lead_id: leadId, title: 'Follow up on the proposal', assignee_member_id: 'anna' },
    ]);
    const [message] = await outbox();
    expect(message?.channel).toBe('U0ANNA001');
    expect(message?.key).toBe(
      `notify:proposal-follow-up:${leadId}:time_in_stage:${dealId}:proposal:${ago(8 * DAY).toISOString()}#0`,
    );
    expect(message?.payload.text).toContain('for 8 days');
    expect(checkMessage(message?.payload)).toEqual([]);

    clock.set('2026-11-21T12:00:00.000Z');
    const second = await runUpkeep(ctx);
    // Lead one's visit is done; lead two's deal reached 7 days now and fires for the first time.
    expect(second.automation).toMatchObject({ executed: 2, repeated: 2 });
    expect(await query('SELECT lead_id FROM tasks ORDER BY id')).toEqual([
      { lead_id: leadId },
      { lead_id: early },
    ]);

    clock.set('2026-11-22T12:00:00.000Z');
    expect((await runUpkeep(ctx)).automation).toMatchObject({ executed: 0, repeated: 4 });
    expect(await query('SELECT count(*)::int AS n FROM automation_actions')).toEqual([{ n: 4 }]);
  });

  it('runs without a queue to kick', async () => {
    const leadId = await lead();
    await deal(leadId, { stage: 'discovery', inStageFor: 20 * DAY });
    const summary = await runUpkeep(jobContext(db, ruleset, clock.now));
    expect(summary).toMatchObject({ new: 1, messages: 1 });
  });
});
