import { describe, expect, it } from 'vitest';
import { registerAlertActions } from '../../src/bot/alert-actions.ts';
import type { LeadlineEvent } from '../../src/engine/event.ts';
import { processEvents } from '../../src/app/processing/process-events.ts';
import { waitFor } from '../support/db.ts';
import { event, storeEvents, TEST_RULES_YAML, testRuleset } from '../support/engine-fixtures.ts';
import { type SlackHarness, useSlackHarness } from '../support/slack-harness.ts';

// 50 extra reps (U0REP0001…) so 50 different team members can race for one lead.
const REPS = Array.from({ length: 50 }, (_, i) => `U0REP${String(i + 1).padStart(4, '0')}`);
const ACTIONS_YAML = `${TEST_RULES_YAML.replace(
  '    - { id: bounced,',
  `    - { id: meeting-booked, description: Booked a call, event: meeting.booked, points: 50, category: behaviour, expires_days: 90 }
    - { id: whitepaper, description: Downloaded the whitepaper, event: content.downloaded, points: 25, category: engagement, expires_days: 60 }
    - { id: bounced,`,
)}
pipelines:
  - { id: b2b, name: B2B customers, intent: b2b, stages: [{ id: new, name: New lead }], assignment: { strategy: round_robin, members: [anna] } }
  - { id: research, name: Research, intent: research, stages: [{ id: new, name: New enquiry }], assignment: { strategy: round_robin, members: [ben] } }
routing: { threshold: 40, min_confidence: 60, conflict_margin: 10 }
sla: { claim_minutes: { CRITICAL: 5, HIGH: 60, MEDIUM: 60, LOW: 240 } }
slack: { hot_leads_channel: "#hot-leads", managers_channel: "#sales-managers", hot_threshold: hot }
team:
  members:
    - { id: anna, slack_user_id: U0ANNA001, name: Anna, role: rep }
    - { id: ben, slack_user_id: U0BEN0002, name: Ben, role: rep }
    - { id: lena, slack_user_id: U0LENA004, name: Lena, role: manager }
${REPS.map((id, i) => `    - { id: rep${i + 1}, slack_user_id: ${id}, name: Rep ${i + 1}, role: rep }`).join('\n')}
`;
const ANNA = 'U0ANNA001';
const LENA = 'U0LENA004';

function hotEvents(email: string, fullName: string): LeadlineEvent[] {
  const lead = { email, fullName, ids: {} };
  return [
    event('page.viewed', { lead, metadata: { url: '/pricing' } }),
    event('meeting.booked', { lead }),
    event('content.downloaded', { lead }),
  ];
}

/** A hot lead with its alert posted to #hot-leads: its id and the message ts. */
async function postedAlert(h: SlackHarness, email: string, name: string) {
  // The processing job opens and posts the alert itself when the lead turns hot.
  await processEvents(await storeEvents(h.db, hotEvents(email, name)), h.ctx);
  const { rows } = await h.db.pool.query<{ id: number }>('SELECT id FROM leads WHERE email = $1', [email]);
  const leadId = rows[0]!.id;
  await h.deliverAll();
  const message = h.fake.messages('#hot-leads').at(-1)!;
  return { leadId, value: String(leadId), ts: message.ts, message };
}

const rowCount = async (h: SlackHarness, sql: string, values: unknown[] = []) =>
  (await h.db.pool.query(sql, values)).rowCount ?? 0;

describe('alert actions in Slack', () => {
  const h = useSlackHarness(testRuleset(ACTIONS_YAML), (app, ctx) => registerAlertActions(app, ctx), { start: '2026-11-20T10:00:00Z' });

  it('gives a lead to exactly one of 50 people clicking Claim at once; the others hear who won', async () => {
    const alert = await postedAlert(h, 'ada@engines.example', 'Ada Lovelace');
    h.clock.set('2026-11-20T10:42:00Z');
    const responses = await Promise.all(
      REPS.map((userId, i) =>
        h.action({
          actionId: 'lead.claim',
          value: alert.value,
          messageTs: alert.ts,
          channelId: '#hot-leads',
          userId,
          responseUrl: h.fake.responseUrl(`claim-${i}`),
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(REPS.map(() => 200));
    // Listeners ack first and work afterwards: wait until every click has been answered.
    await waitFor(
      async () => (await rowCount(h, `SELECT 1 FROM slack_outbox WHERE kind = 'ephemeral'`)) === 49,
    );

    const { rows: leads } = await h.db.pool.query(
      'SELECT claimed_by_slack_user, claimed_by_member_id FROM leads',
    );
    expect(leads).toHaveLength(1);
    const winner = leads[0].claimed_by_slack_user as string;
    expect(REPS).toContain(winner);
    expect(leads[0].claimed_by_member_id).toBe(`rep${REPS.indexOf(winner) + 1}`);
    expect(await rowCount(h, `SELECT 1 FROM audit_log WHERE action = 'lead.claimed'`)).toBe(1);
    const { rows: alerts } = await h.db.pool.query(
      'SELECT state, claimed_by_slack_user, sla_next_at FROM lead_alerts',
    );
    expect(alerts).toEqual([{ state: 'claimed', claimed_by_slack_user: winner, sla_next_at: null }]);
    // The claimer, a team member, now owns the open deal (recorded as a manual assignment).
    const { rows: deals } = await h.db.pool.query('SELECT owner_member_id FROM deals');
    expect(deals).toEqual([{ owner_member_id: `rep${REPS.indexOf(winner) + 1}` }]);

    await h.deliverAll();
    const updates = h.fake.succeeded('chat.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.body['ts']).toBe(alert.ts);
    const blocks = JSON.stringify(updates[0]!.body['blocks']);
    expect(blocks).toContain(`Claimed by <@${winner}> at 11:42`);
    expect(blocks).not.toContain('lead.claim');
    expect(blocks).toContain('lead.details');
    const refusals = h.fake.succeeded('response_url');
    expect(refusals).toHaveLength(49);
    expect(new Set(refusals.map((c) => c.responseId)).size).toBe(49);
    expect(refusals.map((c) => c.responseId)).not.toContain(`claim-${REPS.indexOf(winner)}`);
    for (const call of refusals) {
      expect(call.body).toEqual({
        response_type: 'ephemeral',
        replace_original: false,
        text: `Already claimed by <@${winner}> at 11:42.`,
      });
    }
    expect(h.fake.calls('chat.postMessage').filter((c) => c.body['channel'] === '#hot-leads')).toHaveLength(
      1,
    );
  });

  it('snoozes the alert for the chosen time and shows it in the message', async () => {
    const alert = await postedAlert(h, 'grace@navy.example', 'Grace Hopper');
    await h.action({
      actionId: 'lead.snooze',
      value: `${alert.value}:4h`,
      messageTs: alert.ts,
      userId: ANNA,
      responseUrl: h.fake.responseUrl('snooze'),
    });
    const row = await waitFor(async () => {
      const { rows } = await h.db.pool.query(
        `SELECT state, snoozed_until, sla_next_at FROM lead_alerts WHERE state = 'snoozed'`,
      );
      return rows[0];
    });
    expect(row).toEqual({
      state: 'snoozed',
      snoozed_until: new Date('2026-11-20T14:00:00Z'),
      sla_next_at: new Date('2026-11-20T14:00:00Z'),
    });
    await h.deliverAll();
    expect(h.fake.succeeded('chat.update')).toHaveLength(1);
    expect(JSON.stringify(h.fake.messages('#hot-leads')[0]!.blocks)).toContain(
      'Snoozed until Fri 20 Nov, 15:00',
    );
    expect(h.fake.calls('response_url')).toEqual([]);
  });

  it('asks why a lead is not a fit, rejects an empty or long reason, then closes the alert', async () => {
    const alert = await postedAlert(h, 'mallory@evil.example', 'Mallory');
    await h.action({
      actionId: 'lead.not_a_fit',
      value: alert.value,
      messageTs: alert.ts,
      userId: ANNA,
      triggerId: 't-1',
    });
    const open = await waitFor(async () => h.fake.calls('views.open').find((c) => c.response !== null));
    const view = open.body['view'] as { callback_id: string; private_metadata: string };
    expect(open.body['trigger_id']).toBe('t-1');
    expect(view.callback_id).toBe('lead.not_a_fit.submit');
    const submit = (reason: string) =>
      h.submit({
        callbackId: 'lead.not_a_fit.submit',
        userId: ANNA,
        privateMetadata: view.private_metadata,
        values: { message: { reason: { type: 'plain_text_input', value: reason } } },
      });

    for (const reason of ['   ', 'x'.repeat(501)]) {
      const res = await submit(reason);
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { response_action: string; errors: Record<string, string> };
      expect(answer.response_action).toBe('errors');
      expect(Object.keys(answer.errors)).toEqual(['message']);
    }
    expect(await rowCount(h, 'SELECT 1 FROM leads WHERE disqualified_at IS NOT NULL')).toBe(0);

    expect((await submit('Student project <!here>')).status).toBe(200);
    const lead = await waitFor(async () => {
      const { rows } = await h.db.pool.query(
        'SELECT disqualified_by, disqualified_reason FROM leads WHERE disqualified_at IS NOT NULL',
      );
      return rows[0];
    });
    expect(lead).toEqual({ disqualified_by: ANNA, disqualified_reason: 'Student project <!here>' });
    await waitFor(
      async () => (await rowCount(h, `SELECT 1 FROM lead_alerts WHERE state = 'disqualified'`)) === 1,
    );
    await h.deliverAll();
    const blocks = JSON.stringify(h.fake.messages('#hot-leads')[0]!.blocks);
    expect(blocks).toContain(`Not a fit: Student project &lt;!here&gt; (by <@${ANNA}>)`);
    expect(blocks).not.toContain('<!here>');
    expect(blocks).not.toContain('lead.claim');
    expect(blocks).toContain('lead.details');
  });

  it('refuses Route to… for a rep and changes nothing', async () => {
    const alert = await postedAlert(h, 'ada@engines.example', 'Ada Lovelace');
    const decisions = await rowCount(h, 'SELECT 1 FROM routing_decisions');
    await h.action({
      actionId: 'lead.route',
      value: alert.value,
      messageTs: alert.ts,
      userId: ANNA,
      responseUrl: h.fake.responseUrl('route-rep'),
    });
    await waitFor(
      async () => (await rowCount(h, `SELECT 1 FROM slack_outbox WHERE kind = 'ephemeral'`)) === 1,
    );
    await h.deliverAll();
    expect(h.fake.succeeded('response_url').map((c) => c.body['text'])).toEqual([
      'Only managers and admins can route leads to a pipeline.',
    ]);
    expect(h.fake.calls('views.open')).toEqual([]);
    // A forged submission from the rep is refused too.
    const forged = await h.submit({
      callbackId: 'lead.route.submit',
      userId: ANNA,
      privateMetadata: JSON.stringify({ leadId: alert.leadId }),
      values: { pipeline: { pipeline: { type: 'static_select', selected_option: { value: 'research' } } } },
    });
    expect(((await forged.json()) as { response_action: string }).response_action).toBe('errors');
    expect(await rowCount(h, 'SELECT 1 FROM routing_decisions')).toBe(decisions);
    expect(await rowCount(h, 'SELECT 1 FROM deals')).toBe(1);
  });

  it('lets a manager route the lead through the modal; the new owner is told', async () => {
    const alert = await postedAlert(h, 'ada@engines.example', 'Ada Lovelace');
    await h.action({
      actionId: 'lead.route',
      value: alert.value,
      messageTs: alert.ts,
      userId: LENA,
      triggerId: 't-2',
    });
    const open = await waitFor(async () => h.fake.calls('views.open').find((c) => c.response !== null));
    const view = open.body['view'] as {
      callback_id: string;
      private_metadata: string;
      blocks: { element?: { options?: { value: string }[] } }[];
    };
    expect(view.callback_id).toBe('lead.route.submit');
    expect(view.blocks.flatMap((b) => b.element?.options ?? []).map((o) => o.value)).toEqual([
      'b2b',
      'research',
    ]);

    const res = await h.submit({
      callbackId: 'lead.route.submit',
      userId: LENA,
      privateMetadata: view.private_metadata,
      values: { pipeline: { pipeline: { type: 'static_select', selected_option: { value: 'research' } } } },
    });
    expect(res.status).toBe(200);
    const deal = await waitFor(async () => {
      const { rows } = await h.db.pool.query(
        `SELECT owner_member_id FROM deals WHERE pipeline_id = 'research'`,
      );
      return rows[0];
    });
    expect(deal).toEqual({ owner_member_id: 'ben' });
    await waitFor(
      async () => (await rowCount(h, `SELECT 1 FROM lead_alerts WHERE owner_member_id = 'ben'`)) === 1,
    );
    await h.deliverAll();
    const dms = h.fake.succeeded('chat.postMessage').filter((c) => c.body['channel'] === 'U0BEN0002');
    expect(dms).toHaveLength(1);
    expect(String(dms[0]!.body['text'])).toContain(`was routed to you in Research by <@${LENA}>`);
    expect(JSON.stringify(h.fake.messages('#hot-leads')[0]!.blocks)).toContain('Reassigned to <@U0BEN0002>');
    expect(
      await rowCount(h, `SELECT 1 FROM audit_log WHERE action = 'lead.routed' AND actor = $1`, [
        `slack:${LENA}`,
      ]),
    ).toBe(1);
  });

  it('opens the Details modal right after the click', async () => {
    const alert = await postedAlert(h, 'ada@engines.example', 'Ada Lovelace');
    await h.action({
      actionId: 'lead.details',
      value: alert.value,
      messageTs: alert.ts,
      userId: ANNA,
      triggerId: 't-3',
    });
    const open = await waitFor(async () => h.fake.calls('views.open').find((c) => c.response !== null));
    expect(open.response?.['ok']).toBe(true);
    const view = JSON.stringify(open.body['view']);
    expect(view).toContain('Lead details');
    expect(view).toContain('Ada Lovelace');
    expect(view).toContain('Booked a call');
  });
});
