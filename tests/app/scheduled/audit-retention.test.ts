import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/app/context.ts';
import { purgeOldDecisions } from '../../../src/app/scheduled/audit-retention.ts';
import { runUpkeep } from '../../../src/app/scheduled/upkeep.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { fixedClock, jobContext } from '../../support/engine-fixtures.ts';
import { leadDeskRuleset } from '../../support/lead-desk.ts';

const NOW = '2026-11-20T12:00:00.000Z';
const DAY = 24 * 3600_000;

describe('decision retention', () => {
  let db: TestDatabase;
  let ctx: AppContext;
  const clock = fixedClock(NOW);

  beforeAll(async () => {
    db = await createTestDatabase();
    ctx = jobContext(db, leadDeskRuleset(), clock.now);
  });
  afterAll(() => db.drop());
  beforeEach(async () => {
    clock.set(NOW);
    await db.reset();
  });

  const query = async (text: string, values: unknown[] = []) => (await db.pool.query(text, values)).rows;
  const ago = (days: number) => new Date(clock.now().getTime() - days * DAY);
  const one = async (text: string, values: unknown[]) => ((await query(text, values))[0] as { id: number }).id;

  const lead = (email: string) => one(`INSERT INTO leads (email, status) VALUES ($1, 'routed') RETURNING id`, [email]);
  const deal = (leadId: number, status: 'open' | 'won') =>
    one(
      `INSERT INTO deals (lead_id, pipeline_id, stage_id, status, ruleset_version) VALUES ($1, 'b2b', 'new', $2, 'v-old') RETURNING id`,
      [leadId, status],
    );
  const decision = (leadId: number, daysAgo: number) =>
    one(
      `INSERT INTO routing_decisions (lead_id, kind, pipeline_id, reasons, explanation, ruleset_version, created_at)
       VALUES ($1, 'route', 'b2b', '{}', ARRAY['Routed to B2B customers.'], 'v-old', $2) RETURNING id`,
      [leadId, ago(daysAgo)],
    );
  const assignment = (leadId: number, dealId: number, member: string, daysAgo: number) =>
    one(
      `INSERT INTO assignments (deal_id, lead_id, pipeline_id, outcome_kind, member_id, strategy, candidates, explanation,
         cause, ruleset_version, created_at)
       VALUES ($1, $2, 'b2b', 'member', $3, 'round_robin', '[]', ARRAY['Assigned.'], 'rotation', 'v-old', $4) RETURNING id`,
      [dealId, leadId, member, ago(daysAgo)],
    );
  const alert = (leadId: number, state: string) =>
    one(
      `INSERT INTO lead_alerts (lead_id, reason, priority, state, channel, outbox_key, sla_due_at, ruleset_version)
       VALUES ($1, 'hot', 'HIGH', $2, 'C0HOTLEAD1', $3, now(), 'v-old') RETURNING id`,
      [leadId, state, `alert:test:${leadId}:${state}`],
    );
  const audit = (leadId: number, detail: object, daysAgo: number) =>
    one(
      `INSERT INTO audit_log (actor, action, lead_id, detail, created_at) VALUES ('leadline:sla', 'sla.reminded', $1, $2, $3) RETURNING id`,
      [leadId, JSON.stringify(detail), ago(daysAgo)],
    );
  const ids = async (table: string) =>
    (await query(`SELECT id FROM ${table} ORDER BY id`)).map((r) => (r as { id: number }).id);

  async function scene() {
    const open = await lead('open@lab.example');
    const closed = await lead('closed@lab.example');
    const openDeal = await deal(open, 'open');
    const wonDeal = await deal(closed, 'won');
    const liveAlert = await alert(open, 'open');
    const doneAlert = await alert(closed, 'claimed');
    return {
      decisions: {
        openOldest: await decision(open, 600),
        // Old, but the lead's latest: its card still explains the lead with it.
        openLatest: await decision(open, 500),
        closedOld: await decision(closed, 500),
        closedRecent: await decision(closed, 10),
      },
      assignments: {
        openFirst: await assignment(open, openDeal, 'anna', 600),
        // Old, but the open deal's latest: who owns it and why.
        openCurrent: await assignment(open, openDeal, 'ben', 450),
        wonOld: await assignment(closed, wonDeal, 'carla', 500),
        wonRecent: await assignment(closed, wonDeal, 'anna', 30),
      },
      audit: {
        liveAlert: await audit(open, { alertId: liveAlert }, 500),
        doneAlert: await audit(closed, { alertId: doneAlert }, 500),
        noAlert: await audit(closed, {}, 401),
        recent: await audit(closed, {}, 399),
      },
    };
  }

  it('deletes decisions past the retention, keeps recent ones and the ones current state needs, and does it once', async () => {
    const s = await scene();
    // Batches of one: the loop must carry on until a batch comes back short.
    const first = await purgeOldDecisions(ctx, { auditDays: 400, batch: 1 });
    expect(first).toEqual({ routingDecisions: 2, assignments: 2, audit: 2 });
    expect(await ids('routing_decisions')).toEqual([s.decisions.openLatest, s.decisions.closedRecent]);
    expect(await ids('assignments')).toEqual([s.assignments.openCurrent, s.assignments.wonRecent]);
    expect(await ids('audit_log')).toEqual([s.audit.liveAlert, s.audit.recent]);
    expect(await purgeOldDecisions(ctx, { auditDays: 400, batch: 1 })).toEqual({ routingDecisions: 0, assignments: 0, audit: 0 });
  });

  it('runs in the hourly upkeep with 400 days by default, and a shorter retention when given', async () => {
    const s = await scene();
    expect((await runUpkeep(ctx)).purged).toEqual({ routingDecisions: 2, assignments: 2, audit: 2 });
    expect((await runUpkeep(ctx)).purged).toEqual({ routingDecisions: 0, assignments: 0, audit: 0 });
    // A newer decision makes the open lead's old latest one history; each lead keeps its latest.
    const [{ id: openLead }] = await query(`SELECT id FROM leads WHERE email = 'open@lab.example'`);
    const newer = await decision(openLead, 1);
    expect((await runUpkeep(ctx, { auditDays: 5 })).purged).toEqual({ routingDecisions: 1, assignments: 1, audit: 1 });
    expect(await ids('routing_decisions')).toEqual([s.decisions.closedRecent, newer]);
    expect(await ids('assignments')).toEqual([s.assignments.openCurrent]);
    expect(await ids('audit_log')).toEqual([s.audit.liveAlert]);
  });
});
