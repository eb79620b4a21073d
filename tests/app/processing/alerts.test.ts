import { describe, expect, it } from 'vitest';
import { renderLeadDetailsModal } from '../../../src/slack/render/lead-details.ts';
import type { LeadlineEvent } from '../../../src/engine/event.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { checkView } from '../../support/block-kit-limits.ts';
import { event, storeEvents, TEST_RULES_YAML, testRuleset } from '../../support/engine-fixtures.ts';
import { type SlackHarness, useSlackHarness } from '../../support/slack-harness.ts';

// The shared test rules plus two rules that make a lead hot without a CRITICAL signal, two
// pipelines, a team with reps and a manager, and the SLA and Slack sections.
const ALERT_YAML = `${TEST_RULES_YAML.replace(
  '    - { id: bounced,',
  `    - { id: meeting-booked, description: Booked a call, event: meeting.booked, points: 50, category: behaviour, expires_days: 90 }
    - { id: whitepaper, description: Downloaded the whitepaper, event: content.downloaded, points: 25, category: engagement, expires_days: 60 }
    - { id: bounced,`,
)}
pipelines:
  - { id: b2b, name: B2B customers, intent: b2b, stages: [{ id: new, name: New lead }], assignment: { strategy: round_robin, members: [anna, ben, carla] } }
  - { id: research, name: Research, intent: research, stages: [{ id: new, name: New enquiry }], assignment: { strategy: round_robin, members: [ben, carla] } }
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

const EVIL = '<!channel> <@U123> <https://evil.example|click>';

/** Pricing (10) + a meeting (50) + the whitepaper (25) = 85: hot, b2b, a MEDIUM signal only. */
function hotEvents(email: string, profile: Partial<LeadlineEvent['lead']> = {}): LeadlineEvent[] {
  const lead = { email, ids: {}, ...profile };
  return [
    event('page.viewed', { lead, metadata: { url: '/pricing' } }),
    event('meeting.booked', { lead, occurredAt: '2026-11-20T10:01:00.000Z' }),
    event('content.downloaded', { lead, occurredAt: '2026-11-20T10:02:00.000Z' }),
  ];
}

/** Processes events as the processing job does; returns the alerts it opened. */
async function processAndAlert(h: SlackHarness, events: LeadlineEvent[]): Promise<number[]> {
  const before = await h.db.pool.query('SELECT coalesce(max(id), 0)::int AS id FROM lead_alerts');
  await processEvents(await storeEvents(h.db, events), h.ctx);
  const { rows } = await h.db.pool.query<{ id: number }>(
    'SELECT id FROM lead_alerts WHERE id > $1 ORDER BY id',
    [before.rows[0].id],
  );
  return rows.map((row) => row.id);
}

describe('hot-lead alerts', () => {
  const h = useSlackHarness(testRuleset(ALERT_YAML), () => {}, { start: '2026-11-20T10:05:00Z' });

  it('opens one alert with one outbox message when a lead turns hot', async () => {
    const ids = await processAndAlert(h, hotEvents('ada@engines.example', { fullName: 'Ada Lovelace' }));
    expect(ids).toHaveLength(1);
    const { rows } = await h.db.pool.query('SELECT * FROM lead_alerts');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: ids[0],
      reason: 'hot',
      // The lead's only live signal (pricing) is MEDIUM.
      priority: 'MEDIUM',
      state: 'open',
      owner_member_id: 'anna',
      channel: '#hot-leads',
      outbox_key: `alert:${ids[0]}`,
      sla_step: 0,
    });
    expect(rows[0].sla_due_at).toEqual(new Date('2026-11-20T11:05:00Z'));
    expect(rows[0].sla_next_at).toEqual(new Date('2026-11-20T11:05:00Z'));
    const outbox = await h.db.pool.query('SELECT key, method, channel, kind FROM slack_outbox');
    expect(outbox.rows).toEqual([
      { key: `alert:${ids[0]}`, method: 'chat.postMessage', channel: '#hot-leads', kind: 'alert' },
    ]);
  });

  it('opens no second alert while one is live, on a new crossing or a CRITICAL signal', async () => {
    const email = 'grace@navy.example';
    expect(await processAndAlert(h, hotEvents(email))).toHaveLength(1);
    // A bounce drops the lead below hot (85 − 40), a second meeting lifts it back over (95).
    expect(await processAndAlert(h, [event('email.bounced', { email })])).toEqual([]);
    expect(await processAndAlert(h, [event('meeting.booked', { email })])).toEqual([]);
    const { rows: changes } = await h.db.pool.query(
      `SELECT count(*)::int AS n FROM lead_changes WHERE kind = 'threshold_crossed' AND detail->>'direction' = 'up' AND detail->>'threshold' = 'hot'`,
    );
    expect(changes[0].n).toBe(2);
    expect(
      await processAndAlert(h, [event('form.submitted', { email, metadata: { form_type: 'demo' } })]),
    ).toEqual([]);
    expect((await h.db.pool.query('SELECT 1 FROM lead_alerts')).rowCount).toBe(1);
    expect((await h.db.pool.query('SELECT 1 FROM slack_outbox')).rowCount).toBe(1);
  });

  it('alerts at once with CRITICAL priority on a CRITICAL signal, even below hot', async () => {
    const [id] = await processAndAlert(h, [
      event('form.submitted', { email: 'cto@shop.example', metadata: { form_type: 'demo' } }),
    ]);
    const { rows } = await h.db.pool.query(
      'SELECT reason, priority, sla_due_at FROM lead_alerts WHERE id = $1',
      [id],
    );
    expect(rows[0]).toEqual({
      reason: 'critical_signal',
      priority: 'CRITICAL',
      sla_due_at: new Date('2026-11-20T10:10:00Z'),
    });
  });

  it('posts the alert once to #hot-leads with score, intent, three reasons, owner and buttons', async () => {
    await processAndAlert(
      h,
      hotEvents('ada@engines.example', {
        fullName: 'Ada Lovelace',
        company: 'Analytical Engines',
        title: 'CTO',
      }),
    );
    await h.deliverAll();
    const posts = h.fake.succeeded('chat.postMessage');
    expect(posts).toHaveLength(1);
    const body = posts[0]!.body as { channel: string; text: string; blocks: Record<string, unknown>[] };
    expect(body.channel).toBe('#hot-leads');
    expect(body.text).toContain('Ada Lovelace (Analytical Engines), score 85 (A)');
    const all = JSON.stringify(body.blocks);
    for (const expected of [
      'Hot lead: Ada Lovelace',
      'Analytical Engines',
      'CTO',
      '85 (A)',
      'b2b · 100 %',
      '<@U0ANNA001>',
      '<!date^1795172700^',
      '`pricing_view` MEDIUM · b2b',
    ]) {
      expect(all).toContain(expected);
    }
    const reasons = body.blocks.find((b) => b['block_id'] === 'reasons') as { text: { text: string } };
    expect(reasons.text.text.split('\n')).toEqual([
      '*Why this score*',
      '• *+50* Booked a call `meeting-booked`',
      '• *+25* Downloaded the whitepaper `whitepaper`',
      '• *+10* `pricing-page`',
    ]);
    const buttons = body.blocks.find((b) => b['type'] === 'actions') as {
      elements: { action_id: string; value?: string; options?: { value: string }[] }[];
    };
    const { rows } = await h.db.pool.query('SELECT id FROM leads');
    const leadId = String(rows[0].id);
    expect(buttons.elements.map((e) => e.action_id)).toEqual([
      'lead.claim',
      'lead.details',
      'lead.snooze',
      'lead.not_a_fit',
      'lead.route',
    ]);
    expect(buttons.elements[0]!.value).toBe(leadId);
    expect(buttons.elements[2]!.options!.map((o) => o.value)).toEqual([
      `${leadId}:1h`,
      `${leadId}:4h`,
      `${leadId}:1d`,
    ]);
    expect(h.fake.messages('#hot-leads')).toHaveLength(1);
  });

  it('renders a lead named like a mention, a broadcast and a link as plain text', async () => {
    await processAndAlert(
      h,
      hotEvents('mallory@evil.example', { fullName: EVIL, company: EVIL, title: EVIL }),
    );
    await h.deliverAll();
    const posts = h.fake.succeeded('chat.postMessage');
    expect(posts).toHaveLength(1);
    const payload = JSON.stringify(posts[0]!.body);
    for (const dangerous of ['<!channel>', '<@U123>', '<https:']) expect(payload).not.toContain(dangerous);
    expect(payload).toContain('&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt;');
  });

  it('keeps the Details modal within 100 blocks and says how much it left out', () => {
    const at = new Date('2026-11-20T10:00:00Z');
    const view = renderLeadDetailsModal({
      leadId: 1,
      name: EVIL,
      email: 'a@b.example',
      company: null,
      title: null,
      phone: null,
      country: null,
      website: null,
      source: 'website',
      status: 'routed',
      score: 100,
      grade: 'A',
      owner: { slackUserId: 'U0ANNA001', name: 'Anna' },
      claim: null,
      disqualified: null,
      explanation: {
        breakdown: Array.from({ length: 120 }, (_, i) => ({
          ruleId: `rule-${i}`,
          description: EVIL,
          category: 'behaviour',
          points: 1,
          eventId: `e${i}`,
          occurredAt: at,
          expiresAt: null,
        })),
        signals: [],
        intents: [{ intent: 'b2b', weight: 40, share: 100 }],
      },
      deals: [],
      events: Array.from({ length: 15 }, () => ({ type: 'page.viewed', source: 'website', occurredAt: at })),
      timezone: 'Europe/Berlin',
    });
    expect(checkView(view as unknown as Record<string, unknown>)).toEqual([]);
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(view)).toContain('… and 80 more');
    expect(JSON.stringify(view)).not.toContain('<!channel>');
  });
});
