import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIGEST_QUEUE } from '../../../src/app/queues.ts';
import { digestWindow, runDigest } from '../../../src/app/scheduled/digest.ts';
import { fairness } from '../../../src/engine/fairness.ts';
import { digestJob } from '../../../src/jobs/digest.ts';
import { testRuleset } from '../../support/engine-fixtures.ts';
import { LEAD_DESK_YAML, leadDeskRuleset, textOf } from '../../support/lead-desk.ts';
import { type SlackHarness, startSlackHarness } from '../../support/slack-harness.ts';

const FROM = new Date('2026-11-19T07:00:00Z');
const TO = new Date('2026-11-20T07:00:00Z');

describe('daily digest', () => {
  let h: SlackHarness;
  const q = (text: string, values: unknown[] = []) => h.db.pool.query(text, values);

  async function leadAt(createdAt: string, source: string | null): Promise<number> {
    const { rows } = await q(
      'INSERT INTO leads (first_touch_source, created_at) VALUES ($1, $2) RETURNING id',
      [source, createdAt],
    );
    return rows[0].id;
  }

  beforeAll(async () => {
    h = await startSlackHarness(leadDeskRuleset(), () => {}, { start: '2026-11-20T07:00:00Z' });
    // New leads: five in the window (the end is exclusive), two outside.
    const l1 = await leadAt('2026-11-19T07:00:00Z', 'website');
    const l2 = await leadAt('2026-11-19T10:00:00Z', 'website');
    const l3 = await leadAt('2026-11-19T12:00:00Z', 'website');
    const l4 = await leadAt('2026-11-19T18:00:00Z', 'slack');
    await leadAt('2026-11-20T06:59:59Z', null);
    const old = await leadAt('2026-11-19T06:59:59Z', 'hubspot');
    await leadAt('2026-11-20T07:00:00Z', 'website');

    // Hot crossings: l1 twice and l2 count as two leads; a warm crossing, a downward one and one
    // at the window's end do not.
    const change = (lead: number, threshold: string, direction: string, at: string) =>
      q(
        `INSERT INTO lead_changes (lead_id, kind, detail, ruleset_version, created_at)
         VALUES ($1, 'threshold_crossed', $2, 'test-rules', $3)`,
        [lead, JSON.stringify({ kind: 'threshold_crossed', threshold, direction, score: 80 }), at],
      );
    await change(l1, 'hot', 'up', '2026-11-19T09:00:00Z');
    await change(l1, 'hot', 'up', '2026-11-19T12:00:00Z');
    await change(l2, 'hot', 'up', '2026-11-19T20:00:00Z');
    await change(l3, 'warm', 'up', '2026-11-19T20:00:00Z');
    await change(l4, 'hot', 'down', '2026-11-19T21:00:00Z');
    await change(l4, 'hot', 'up', '2026-11-20T07:00:00Z');

    // Alerts: claimed after 10 and 30 min, one open and one snoozed, one disqualified; one raised
    // before the window but claimed in it (50 min). Steps ≥ 1 on two alerts of the window.
    let n = 0;
    const alert = (
      lead: number,
      state: string,
      step: number,
      createdAt: string,
      claimedAt: string | null,
    ) => {
      n += 1;
      return q(
        `INSERT INTO lead_alerts (lead_id, reason, priority, state, channel, outbox_key, sla_due_at, sla_step,
           claimed_at, created_at, ruleset_version)
         VALUES ($1, 'hot', 'HIGH', $2, 'C0HOTLEAD1', $3, $4, $5, $6, $4, 'test-rules')`,
        [lead, state, `alert:test:${n}`, createdAt, step, claimedAt],
      );
    };
    await alert(l1, 'claimed', 0, '2026-11-19T08:00:00Z', '2026-11-19T08:10:00Z');
    await alert(l2, 'claimed', 2, '2026-11-19T09:00:00Z', '2026-11-19T09:30:00Z');
    await alert(l3, 'open', 1, '2026-11-19T10:00:00Z', null);
    await alert(l4, 'snoozed', 0, '2026-11-19T11:00:00Z', null);
    await alert(l1, 'disqualified', 0, '2026-11-19T15:00:00Z', null);
    await alert(old, 'claimed', 3, '2026-11-19T06:50:00Z', '2026-11-19T07:40:00Z');

    // Conflicts: one resolved in the window, one before it, one still open.
    const conflict = (lead: number, resolvedAt: string | null) =>
      q(
        `INSERT INTO routing_conflicts (lead_id, conflict_key, cause, candidates, reasons, ruleset_version, created_at, resolved_at)
         VALUES ($1, 'k', 'ambiguous_intent', '[]', '{}', 'test-rules', '2026-11-18T00:00:00Z', $2)`,
        [lead, resolvedAt],
      );
    await conflict(l1, '2026-11-19T12:00:00Z');
    await conflict(l2, '2026-11-18T12:00:00Z');
    await conflict(l3, null);

    // Deals: three created in the window (one won, one lost), one older deal won in the window.
    // Money: 12,000 EUR and 3,000 without a currency won; the open 9,000 in discovery weighs 67%
    // (b2b has no probabilities: its two open stages climb to 33 and 67); a won USD deal is apart.
    const deal = (
      lead: number,
      status: string,
      createdAt: string,
      closedAt: string | null,
      money: { value: number; currency: string | null; stage?: string } | null = null,
    ) =>
      q(
        `INSERT INTO deals (lead_id, pipeline_id, stage_id, status, ruleset_version, created_at, closed_at, value, currency)
         VALUES ($1, 'b2b', $5, $2, 'test-rules', $3, $4, $6, $7) RETURNING id`,
        [lead, status, createdAt, closedAt, money?.stage ?? 'new', money?.value ?? null, money?.currency ?? null],
      );
    await deal(l1, 'open', '2026-11-19T09:00:00Z', null, { value: 9000, currency: 'EUR', stage: 'discovery' });
    await deal(l2, 'won', '2026-11-19T09:00:00Z', '2026-11-19T16:00:00Z', { value: 12_000, currency: 'EUR' });
    await deal(l3, 'lost', '2026-11-19T09:00:00Z', '2026-11-19T17:00:00Z', { value: 5000, currency: 'EUR' });
    await deal(old, 'won', '2026-11-10T09:00:00Z', '2026-11-19T11:00:00Z', { value: 3000, currency: null });
    await deal(l4, 'won', '2026-11-10T09:00:00Z', '2026-11-19T12:00:00Z', { value: 700, currency: 'USD' });

    // Rotation: b2b gave Anna 2 and Ben 1, research gave Carla 1; a manual pick, a fallback owner
    // and an older assignment do not count.
    const assignment = (
      lead: number,
      pipeline: string,
      member: string,
      strategy: string,
      kind: string,
      at: string,
    ) =>
      q(
        `INSERT INTO assignments (lead_id, pipeline_id, outcome_kind, member_id, strategy, candidates, explanation,
           cause, ruleset_version, created_at)
         VALUES ($1, $2, $3, $4, $5, '[]', '{}', 'rotation', 'test-rules', $6)`,
        [lead, pipeline, kind, member, strategy, at],
      );
    await assignment(l1, 'b2b', 'anna', 'round_robin', 'member', '2026-11-19T09:00:00Z');
    await assignment(l2, 'b2b', 'anna', 'round_robin', 'member', '2026-11-19T10:00:00Z');
    await assignment(l3, 'b2b', 'ben', 'round_robin', 'member', '2026-11-19T11:00:00Z');
    await assignment(l4, 'research', 'carla', 'round_robin', 'member', '2026-11-19T12:00:00Z');
    await assignment(l4, 'b2b', 'ben', 'manual', 'member', '2026-11-19T13:00:00Z');
    await assignment(l3, 'b2b', 'lena', 'round_robin', 'fallback_owner', '2026-11-19T14:00:00Z');
    await assignment(old, 'b2b', 'anna', 'round_robin', 'member', '2026-11-18T09:00:00Z');
  });
  afterAll(async () => {
    expect(h.fake.violations()).toEqual([]);
    await h.stop();
  });

  it('counts a fixed day exactly', async () => {
    const data = await runDigest(h.ctx, { from: FROM, to: TO });
    expect(data).toMatchObject({
      date: '2026-11-20',
      newLeads: 5,
      hotLeads: 2,
      claimed: 2,
      unclaimed: 2,
      medianClaimMs: 30 * 60_000,
      slaBreaches: 2,
      conflictsResolved: 1,
      dealsCreated: 3,
      dealsWon: 3,
      currency: 'EUR',
      revenueWon: 15_000,
      weightedPipeline: 6030,
      otherCurrencies: ['USD'],
      topSources: [
        { source: 'website', leads: 3 },
        { source: 'slack', leads: 1 },
        { source: 'unknown', leads: 1 },
      ],
    });
    expect(data.members.map((m) => [m.memberId, m.received, Math.round(m.expected * 1000) / 1000])).toEqual([
      ['anna', 2, 1.333],
      ['ben', 1, 1.333],
      ['carla', 1, 1.333],
    ]);
  });

  it('posts to the digest channel once per date and updates that message on a rerun', async () => {
    await h.deliver();
    const [message] = h.fake.messages('C0SALES001');
    expect(message?.text).toBe('Lead digest for 2026-11-20: 5 new leads, 2 hot');
    const text = textOf(message?.blocks);
    for (const line of [
      'Lead digest for 2026-11-20',
      '*New leads*\n5',
      '*Hot leads*\n2',
      '*Claimed / unclaimed alerts*\n2 / 2',
      '*Median time to claim*\n30 min',
      '*SLA breaches*\n2',
      '*Conflicts resolved*\n1',
      '*Deals created / won*\n3 / 3',
      '*Revenue won*\n15,000 EUR',
      '*Weighted open pipeline*\n6,030 EUR',
      'Deals in USD are left out of the money figures (not converted).',
      '• website: 3\n• slack: 1\n• unknown: 1',
      '• *Anna* 2 leads · target 1.3 (33%) · +0.7',
      '• *Ben* 1 lead · target 1.3 (33%) · -0.3',
      '• *Carla* 1 lead · target 1.3 (33%) · -0.3',
      'Thu 19 Nov, 08:00 – Fri 20 Nov, 08:00 (Europe/Berlin)',
    ]) {
      expect(text).toContain(line);
    }
    await leadAt('2026-11-19T20:00:00Z', 'website');
    await runDigest(h.ctx, { from: FROM, to: TO });
    h.clock.advance(1_000);
    await h.deliver();
    const messages = h.fake.messages('C0SALES001');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ text: 'Lead digest for 2026-11-20: 6 new leads, 2 hot', updates: 1 });
  });

  it('covers the time since the previous slot, so Monday includes the weekend', async () => {
    await q(`INSERT INTO job_slots (job, slot) VALUES ($1, '2026-11-19T07:00'), ($1, '2026-11-20T07:00')`, [
      DIGEST_QUEUE,
    ]);
    expect(await digestWindow(h.db.pool, '2026-11-20T07:00')).toEqual({ from: FROM, to: TO });
    expect(await digestWindow(h.db.pool, '2026-11-23T07:00')).toEqual({
      from: TO,
      to: new Date('2026-11-23T07:00:00Z'),
    });
    expect(await digestWindow(h.db.pool, '2026-11-19T07:00')).toEqual({
      from: new Date('2026-11-18T07:00:00Z'),
      to: FROM,
    });
    expect(await digestWindow(h.db.pool, '2026-12-19T07:00')).toEqual({
      from: new Date('2026-12-18T07:00:00Z'),
      to: new Date('2026-12-19T07:00:00Z'),
    });
  });

  it('runs as the daily-digest job for a slot', async () => {
    await digestJob.handler([{ id: 'job-1', data: { slot: '2026-11-20T07:00' } }], h.ctx);
    const { rows } = await q(`SELECT key, channel, method FROM slack_outbox WHERE kind = 'digest'`);
    expect(rows).toEqual([{ key: 'digest:2026-11-20', channel: 'C0SALES001', method: 'chat.update' }]);
  });

  it('weighs target shares like assignment does', () => {
    const ruleset = testRuleset(
      LEAD_DESK_YAML.replace(
        'assignment: { strategy: round_robin, members: [anna, ben, carla] }',
        'assignment: { strategy: weighted, members: [anna, ben], weights: { anna: 70, ben: 30 } }',
      ),
    );
    const rows = fairness(ruleset, [
      { pipeline_id: 'b2b', member_id: 'anna', received: 6 },
      { pipeline_id: 'b2b', member_id: 'ben', received: 4 },
    ]);
    expect(rows.map((r) => [r.memberId, r.received, r.expected, Math.round(r.targetPercent)])).toEqual([
      ['anna', 6, 7, 70],
      ['ben', 4, 3, 30],
      ['carla', 0, 0, 0],
    ]);
  });
});
