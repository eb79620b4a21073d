import { describe, expect, it } from 'vitest';
import { registerAlertActions } from '../../src/bot/alert-actions.ts';
import { registerLeadCommand } from '../../src/bot/lead-command.ts';
import { runSlaSweep } from '../../src/app/scheduled/sla.ts';
import { lead, leadDeskRuleset, seedLead, textOf, USERS, waitForCall } from '../support/lead-desk.ts';
import { useSlackHarness } from '../support/slack-harness.ts';

const HOT_LEADS = 'C0HOTLEAD1';
const START = '2026-11-20T10:00:00Z';
// A demo request is a CRITICAL signal: five minutes to claim, so the reminder is due at 10:05.
const REMIND_AT = '2026-11-20T10:06:00Z';

/**
 * A manager giving a lead to someone else by hand (`/lead assign`, the Reassign modal) goes through
 * the same owner change as a claim or the SLA chain: the live alert follows the new owner, so its
 * message names them and the SLA reminder reaches them, not the rep who had the lead before.
 */
describe('owner changes by hand', () => {
  const h = useSlackHarness(
    leadDeskRuleset(),
    (app, ctx) => {
      registerLeadCommand(app, ctx);
      registerAlertActions(app, ctx);
    },
    { start: START },
  );

  /** A hot lead whose alert is live and owned by Anna (the b2b rotation's first pick). */
  async function hotLeadOfAnna(email: string): Promise<number> {
    const leadId = await seedLead(h, email, { firstName: 'Ada', lastName: 'Lovelace' }, { occurredAt: START });
    await h.deliverAll({ restoreClock: true });
    const { rows } = await h.db.pool.query('SELECT owner_member_id, state FROM lead_alerts WHERE lead_id = $1', [
      leadId,
    ]);
    expect(rows).toEqual([{ owner_member_id: 'anna', state: 'open' }]);
    return leadId;
  }

  /** The hot-lead alert as the channel shows it now, as text. */
  const alertText = () => textOf(h.fake.messages(HOT_LEADS)[0]?.blocks);

  /** Sweeps when the reminder is due and returns the DMs Slack received meanwhile, by recipient. */
  async function remindersAfterSweep(): Promise<string[]> {
    h.clock.set(REMIND_AT);
    const seen = h.fake.calls().length;
    const summary = await runSlaSweep(h.ctx);
    expect(summary).toMatchObject({ alerts: 1, reminded: 1 });
    await h.deliverAll({ restoreClock: true });
    return h.fake
      .calls()
      .slice(seen)
      .filter((c) => c.method === 'chat.postMessage' && String(c.body['channel']).startsWith('U0'))
      .filter((c) => JSON.stringify(c.body).includes('still waiting to be claimed'))
      .map((c) => String(c.body['channel']));
  }

  it('after /lead assign, the alert names the new owner and the SLA reminder goes to them', async () => {
    const leadId = await hotLeadOfAnna('ada@genomics-lab.example');
    expect(alertText()).toContain('*Owner*\n<@U0ANNA001>');

    const run = await lead(h, `assign ada@genomics-lab.example <@${USERS.ben}|ben>`, USERS.lena);
    expect((await run.reply()).text).toBe('*Ada Lovelace* now belongs to <@U0BEN0002> (one deal).');
    await h.deliverAll({ restoreClock: true });

    expect(alertText()).toContain('*Owner*\n<@U0BEN0002>');
    expect(alertText()).toContain('Reassigned to <@U0BEN0002>');
    const { rows } = await h.db.pool.query('SELECT owner_member_id FROM lead_alerts WHERE lead_id = $1', [leadId]);
    expect(rows).toEqual([{ owner_member_id: 'ben' }]);
    expect(await remindersAfterSweep()).toEqual([USERS.ben]);
  });

  it('after the Reassign modal, the alert names the new owner and the SLA reminder goes to them', async () => {
    const leadId = await hotLeadOfAnna('grace@helix.example');
    await h.action({
      actionId: 'lead.reassign',
      value: String(leadId),
      messageTs: '1.1',
      userId: USERS.lena,
      responseUrl: h.fake.responseUrl('reassign'),
    });
    const open = await waitForCall(h, (c) => c.method === 'views.open');
    const metadata = (open.body['view'] as { private_metadata: string }).private_metadata;
    const res = await h.submit({
      callbackId: 'lead.reassign.submit',
      values: { assignee: { user: { type: 'users_select', selected_user: USERS.carla } } },
      privateMetadata: metadata,
      userId: USERS.lena,
    });
    expect(await res.text()).toBe('');
    const confirmed = await waitForCall(h, (c) => c.method === 'response_url' && c.responseId === 'reassign');
    expect(confirmed.body['text']).toBe('*Ada Lovelace* now belongs to <@U0CARLA03> (one deal).');
    await h.deliverAll({ restoreClock: true });

    expect(alertText()).toContain('*Owner*\n<@U0CARLA03>');
    expect(alertText()).toContain('Reassigned to <@U0CARLA03>');
    expect(await remindersAfterSweep()).toEqual([USERS.carla]);
  });
});
