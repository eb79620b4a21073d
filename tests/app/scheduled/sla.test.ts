import { describe, expect, it } from 'vitest';
import type { LeadlineEvent } from '../../../src/engine/event.ts';
import { claimLead, snoozeAlert } from '../../../src/app/commands/alert-actions.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { runSlaSweep } from '../../../src/app/scheduled/sla.ts';
import { slaSweepJob } from '../../../src/jobs/sla.ts';
import { event, storeEvents, TEST_RULES_YAML, testRuleset } from '../../support/engine-fixtures.ts';
import { type SlackHarness, useSlackHarness } from '../../support/slack-harness.ts';

// Hot without a CRITICAL signal (MEDIUM priority: 60 minutes to claim), routed to b2b by round robin.
const SLA_YAML = `${TEST_RULES_YAML.replace(
  '    - { id: bounced,',
  `    - { id: meeting-booked, description: Booked a call, event: meeting.booked, points: 50, category: behaviour, expires_days: 90 }
    - { id: whitepaper, description: Downloaded the whitepaper, event: content.downloaded, points: 25, category: engagement, expires_days: 60 }
    - { id: bounced,`,
)}
pipelines:
  - { id: b2b, name: B2B customers, intent: b2b, stages: [{ id: new, name: New lead }], assignment: { strategy: round_robin, members: [anna, ben, carla] } }
routing: { threshold: 40, min_confidence: 60, conflict_margin: 10 }
sla: { claim_minutes: { CRITICAL: 5, HIGH: 60, MEDIUM: 60, LOW: 240 }, remind_at: 1, escalate_at: 2, reassign_at: 3 }
slack: { hot_leads_channel: "#hot-leads", managers_channel: "#sales-managers", hot_threshold: hot }
team:
  members:
    - { id: anna, slack_user_id: U0ANNA001, name: Anna, role: rep }
    - { id: ben, slack_user_id: U0BEN0002, name: Ben, role: rep }
    - { id: carla, slack_user_id: U0CARLA03, name: Carla, role: rep }
    - { id: lena, slack_user_id: U0LENA004, name: Lena, role: manager }
`;

const START = '2026-11-20T10:00:00Z';
const at = (hhmm: string) => `2026-11-20T${hhmm}:00Z`;

function hotEvents(email: string): LeadlineEvent[] {
  return [
    event('page.viewed', { email, metadata: { url: '/pricing' } }),
    event('meeting.booked', { email }),
    event('content.downloaded', { email }),
  ];
}

async function processAndAlert(
  h: SlackHarness,
  events: LeadlineEvent[],
): Promise<{ alertId: number; leadId: number }> {
  // The processing job opens the alert itself when the lead turns hot or shows a CRITICAL signal.
  const before = await h.db.pool.query('SELECT coalesce(max(id), 0)::int AS id FROM lead_alerts');
  await processEvents(await storeEvents(h.db, events), h.ctx);
  const { rows } = await h.db.pool.query<{ id: number; lead_id: number }>(
    'SELECT id, lead_id FROM lead_alerts WHERE id > $1 ORDER BY id',
    [before.rows[0].id],
  );
  return { alertId: rows[0]!.id, leadId: rows[0]!.lead_id };
}

/** Sweeps at `time` and delivers what it enqueued; returns the calls Slack received meanwhile. */
async function sweepAt(h: SlackHarness, time: string) {
  h.clock.set(time);
  const seen = h.fake.calls().length;
  const summary = await runSlaSweep(h.ctx);
  await h.deliverAll({ restoreClock: true });
  return { summary, calls: h.fake.calls().slice(seen) };
}

const postsTo = (calls: { method: string; body: Record<string, unknown> }[], channel: string) =>
  calls.filter((c) => c.method === 'chat.postMessage' && c.body['channel'] === channel);
const updates = (calls: { method: string; body: Record<string, unknown> }[]) =>
  calls.filter((c) => c.method === 'chat.update').map((c) => JSON.stringify(c.body['blocks']));

describe('SLA sweep', () => {
  const h = useSlackHarness(testRuleset(SLA_YAML), () => {}, { start: START });

  it('reminds the owner, escalates to the managers, then reassigns through the ledger', async () => {
    const { alertId, leadId } = await processAndAlert(h, hotEvents('ada@engines.example'));
    await h.deliverAll({ restoreClock: true });
    expect(h.fake.messages('#hot-leads')).toHaveLength(1);

    const early = await sweepAt(h, at('10:59'));
    expect(early.summary.alerts).toBe(0);
    expect(early.calls).toEqual([]);

    const remind = await sweepAt(h, at('11:00'));
    expect(remind.summary).toMatchObject({ alerts: 1, reminded: 1, escalated: 0, reassigned: 0 });
    expect(postsTo(remind.calls, 'U0ANNA001')).toHaveLength(1);
    expect(JSON.stringify(postsTo(remind.calls, 'U0ANNA001')[0]!.body)).toContain(
      'still waiting to be claimed for 60 min',
    );
    expect(updates(remind.calls)).toHaveLength(1);
    expect(updates(remind.calls)[0]).toContain('Reminded owner');

    // Same minute again, and a retry of the step (as if the sweep died after enqueuing): nothing new.
    expect((await sweepAt(h, at('11:00'))).calls).toEqual([]);
    await h.db.pool.query(`UPDATE lead_alerts SET sla_step = 0, sla_next_at = $2 WHERE id = $1`, [
      alertId,
      at('11:00'),
    ]);
    const retried = await sweepAt(h, at('11:00'));
    expect(retried.summary.reminded).toBe(1);
    expect(retried.calls).toEqual([]);

    const escalate = await sweepAt(h, at('12:00'));
    expect(escalate.summary).toMatchObject({ alerts: 1, escalated: 1 });
    expect(postsTo(escalate.calls, '#sales-managers')).toHaveLength(1);
    expect(JSON.stringify(postsTo(escalate.calls, '#sales-managers')[0]!.body)).toContain(
      'unclaimed for 2 h',
    );
    expect(updates(escalate.calls)[0]).toContain('Escalated to managers');
    expect(h.fake.messages('#sales-managers')).toHaveLength(1);

    const reassign = await sweepAt(h, at('13:00'));
    expect(reassign.summary).toMatchObject({ alerts: 1, reassigned: 1 });
    const { rows: deals } = await h.db.pool.query('SELECT owner_member_id FROM deals WHERE lead_id = $1', [
      leadId,
    ]);
    expect(deals).toEqual([{ owner_member_id: 'ben' }]);
    const { rows: assignments } = await h.db.pool.query(
      'SELECT member_id, strategy, seq FROM assignments WHERE lead_id = $1 ORDER BY id',
      [leadId],
    );
    expect(assignments).toEqual([
      { member_id: 'anna', strategy: 'round_robin', seq: 1 },
      { member_id: 'ben', strategy: 'round_robin', seq: 2 },
    ]);
    expect(postsTo(reassign.calls, 'U0BEN0002')).toHaveLength(1);
    expect(JSON.stringify(postsTo(reassign.calls, 'U0BEN0002')[0]!.body)).toContain('was reassigned to you');
    expect(updates(reassign.calls)[0]).toContain('Reassigned to <@U0BEN0002>');
    const { rows: alert } = await h.db.pool.query(
      'SELECT owner_member_id, sla_step, sla_next_at, state FROM lead_alerts',
    );
    expect(alert).toEqual([{ owner_member_id: 'ben', sla_step: 3, sla_next_at: null, state: 'open' }]);

    // The chain is over: later sweeps post nothing.
    expect((await sweepAt(h, at('13:00'))).calls).toEqual([]);
    expect((await sweepAt(h, at('18:00'))).calls).toEqual([]);
  });

  it('catches up on every step that fell due while no sweep ran', async () => {
    await processAndAlert(h, hotEvents('late@engines.example'));
    await h.deliverAll({ restoreClock: true });
    const late = await sweepAt(h, at('13:30'));
    expect(late.summary).toMatchObject({ alerts: 1, reminded: 1, escalated: 1, reassigned: 1 });
    expect(postsTo(late.calls, '#sales-managers')).toHaveLength(1);
  });

  it('stops the chain once the lead is claimed', async () => {
    const { leadId } = await processAndAlert(h, hotEvents('grace@navy.example'));
    await h.deliverAll({ restoreClock: true });
    h.clock.set(at('10:30'));
    expect(
      await claimLead(h.db.pool, h.ctx, { leadId, slackUserId: 'U0ANNA001', now: h.clock.now() }),
    ).toEqual({
      won: true,
      alertId: expect.any(Number),
    });
    await h.deliverAll({ restoreClock: true });
    for (const time of ['11:00', '12:00', '13:00']) {
      const sweep = await sweepAt(h, at(time));
      expect(sweep.summary.alerts).toBe(0);
      expect(sweep.calls).toEqual([]);
    }
    const { rows } = await h.db.pool.query('SELECT owner_member_id FROM deals WHERE lead_id = $1', [leadId]);
    expect(rows).toEqual([{ owner_member_id: 'anna' }]);
  });

  it('brings a snoozed alert back when the snooze ends and tells the owner again', async () => {
    const { alertId, leadId } = await processAndAlert(h, hotEvents('hedy@radio.example'));
    await h.deliverAll({ restoreClock: true });
    h.clock.set(at('10:10'));
    const snoozed = await snoozeAlert(h.db.pool, h.ctx, {
      leadId,
      slackUserId: 'U0ANNA001',
      option: '1h',
      now: h.clock.now(),
    });
    expect(snoozed).toEqual({ alertId, until: new Date(at('11:10')) });
    await h.deliverAll({ restoreClock: true });
    expect(JSON.stringify(h.fake.messages('#hot-leads')[0]!.blocks)).toContain(
      'Snoozed until Fri 20 Nov, 12:10',
    );

    // The reminder was due at 11:00, but the alert sleeps until 11:10.
    expect((await sweepAt(h, at('11:00'))).calls).toEqual([]);

    const back = await sweepAt(h, at('11:10'));
    expect(back.summary).toMatchObject({ alerts: 1, unsnoozed: 1 });
    expect(postsTo(back.calls, 'U0ANNA001')).toHaveLength(1);
    expect(JSON.stringify(postsTo(back.calls, 'U0ANNA001')[0]!.body)).toContain(
      'snooze on *hedy@radio.example* is over',
    );
    expect(updates(back.calls)[0]).not.toContain('Snoozed');
    expect(updates(back.calls)[0]).toContain('lead.claim');
    const { rows } = await h.db.pool.query(
      'SELECT state, snoozed_until, sla_step, sla_next_at FROM lead_alerts',
    );
    // The snooze-end DM was the reminder; the chain goes on with the escalation.
    expect(rows).toEqual([
      { state: 'open', snoozed_until: null, sla_step: 1, sla_next_at: new Date(at('12:00')) },
    ]);
    expect(postsTo((await sweepAt(h, at('12:00'))).calls, '#sales-managers')).toHaveLength(1);
  });

  it('defers a chunk that waits too long for a lock to the next sweep and still sweeps the others', async () => {
    const first = await processAndAlert(h, hotEvents('ada@engines.example'));
    const second = await processAndAlert(h, hotEvents('grace@compilers.example'));
    await h.deliverAll({ restoreClock: true });
    h.clock.set(at('11:00'));
    // Someone holds the first alert's Slack message row past the sweep's lock timeout.
    const holder = await h.db.pool.connect();
    try {
      await holder.query('BEGIN');
      const held = await holder.query('SELECT id FROM slack_outbox WHERE lead_id = $1 FOR UPDATE', [first.leadId]);
      expect(held.rowCount).toBeGreaterThan(0);
      const summary = await runSlaSweep(h.ctx, 1, { lockTimeoutMs: 200 });
      expect(summary).toMatchObject({ chunks: 2, deferred: 1, alerts: 1, reminded: 1 });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    const steps = async () =>
      (await h.db.pool.query('SELECT id, sla_step FROM lead_alerts WHERE id = ANY($1) ORDER BY id', [[first.alertId, second.alertId]])).rows;
    expect(await steps()).toEqual([
      { id: first.alertId, sla_step: 0 },
      { id: second.alertId, sla_step: 1 },
    ]);
    expect(await runSlaSweep(h.ctx, 1)).toMatchObject({ deferred: 0, alerts: 1, reminded: 1 });
    expect(await steps()).toEqual([
      { id: first.alertId, sla_step: 1 },
      { id: second.alertId, sla_step: 1 },
    ]);
  });

  it('counts the steps it takes in the SLA metric, through the scheduled job', async () => {
    await processAndAlert(h, hotEvents('ada@engines.example'));
    await h.deliverAll({ restoreClock: true });
    h.clock.set(at('12:00'));
    await slaSweepJob.handler([{ id: 'sla-slot', data: { slot: '2026-11-20T12:00' } }], h.ctx);
    const text = await h.ctx.metrics.registry.getSingleMetricAsString('leadline_sla_steps_total');
    expect(text).toMatch(/^leadline_sla_steps_total\{step="reminded"\} 1$/m);
    expect(text).toMatch(/^leadline_sla_steps_total\{step="escalated"\} 1$/m);
  });
});
