import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAlertActions } from '../../src/bot/alert-actions.ts';
import { registerLeadCommand } from '../../src/bot/lead-command.ts';
import { registerPing } from '../../src/bot/ping.ts';
import { waitFor } from '../support/db.ts';
import {
  actionIds,
  lead,
  leadDeskRuleset,
  seedLead,
  textOf,
  USERS,
  waitForCall,
} from '../support/lead-desk.ts';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.ts';

const ADA = 'ada@genomics-lab.example';

describe('/lead', () => {
  let h: SlackHarness;
  let ada: number;

  beforeAll(async () => {
    h = await startSlackHarness(leadDeskRuleset(), (app, ctx) => {
      registerPing(app);
      registerLeadCommand(app, ctx);
      // The card's Claim and Details buttons are served by the alert listeners.
      registerAlertActions(app, ctx);
    });
    ada = await seedLead(h, ADA, {
      firstName: 'Ada',
      lastName: 'Lovelace',
      company: 'Genomics Lab',
      title: 'Head of Research',
      country: 'DE',
    });
    // Processing opened a live alert (the demo request is a CRITICAL signal); pin its clock.
    await h.db.pool.query(
      `UPDATE lead_alerts SET priority = 'HIGH', sla_due_at = '2026-11-20T10:30:00Z' WHERE lead_id = $1`,
      [ada],
    );
  });
  afterAll(async () => {
    expect(h.fake.violations()).toEqual([]);
    await h.stop();
  });

  it('keeps /lead ping answered by the ping listener', async () => {
    const { status, ack } = await lead(h, 'ping');
    expect(status).toBe(200);
    expect(ack).toMatchObject({ response_type: 'ephemeral', text: 'pong' });
  });

  it('answers help in the ack itself', async () => {
    const { ack } = await lead(h, 'help');
    expect(ack?.response_type).toBe('ephemeral');
    expect(textOf(ack?.blocks)).toContain('/lead mine');
    expect(textOf(ack?.blocks)).toContain('/lead forget &lt;email&gt;');
  });

  it('acks a lookup empty and sends the card by email through the response_url', async () => {
    const run = await lead(h, `<mailto:${ADA}|${ADA}>`);
    expect(run.status).toBe(200);
    expect(run.ack).toBeNull();
    const card = await run.reply();
    const text = textOf(card.blocks);
    expect(card.text).toBe('Ada Lovelace: score 40 (C)');
    expect(text).toContain('Ada Lovelace');
    expect(text).toContain(`${ADA} · Head of Research at Genomics Lab · DE`);
    expect(text).toContain('*Score*\n40 · grade C');
    expect(text).toContain('+30 demo-request (behaviour)');
    expect(text).toContain('+10 pricing-page (behaviour)');
    expect(text).toContain('b2b 100% → B2B customers');
    expect(text).toContain('demo_request (b2b, CRITICAL)');
    expect(text).toContain('<@U0ANNA001> (Anna)');
    expect(text).toContain('B2B customers · New lead');
    expect(text).toMatch(/Deal\*\n#\d+ open/);
    expect(text).toContain('HIGH · due in 30 min');
    expect(text).toContain('form.submitted via website · 1 h ago');
    expect(text).toContain('Routed to B2B customers');
    expect(text).toContain('Unclaimed');
    // A rep sees no Reassign.
    expect(actionIds(card.blocks)).toEqual([
      'lead.claim',
      'lead.details',
      'lead.note',
      'deal.mark_won',
      'deal.mark_lost',
      'lead.share',
    ]);
    const stored = await h.db.pool.query(
      `SELECT key, lead_id FROM slack_outbox WHERE method = 'response_url'`,
    );
    expect(stored.rows.some((r) => r.key.startsWith('reply:command:') && r.lead_id === ada)).toBe(true);
  });

  it('shows managers the Reassign button', async () => {
    const card = await (await lead(h, ADA, USERS.lena)).reply();
    expect(actionIds(card.blocks)).toContain('lead.reassign');
  });

  it('finds a lead by name with a typo, and by company domain', async () => {
    expect((await (await lead(h, 'Ada Lovelase')).reply()).text).toBe('Ada Lovelace: score 40 (C)');
    expect((await (await lead(h, 'https://www.genomics-lab.example/')).reply()).text).toBe(
      'Ada Lovelace: score 40 (C)',
    );
  });

  it('offers five choices when a lookup is ambiguous, and a choice shows its card', async () => {
    for (let i = 1; i <= 6; i += 1) {
      await seedLead(
        h,
        `person${i}@acme-robotics.example`,
        { fullName: `Person ${i}`, company: 'Acme Robotics' },
        { pricing: false },
      );
    }
    const choices = await (await lead(h, 'acme robotics')).reply();
    expect(choices.text).toBe('More than 5 leads match “acme robotics”; here are the closest. Which one?');
    const picks = actionIds(choices.blocks);
    expect(picks).toHaveLength(5);
    expect(picks.every((id) => /^lead\.pick:\d+$/.test(id))).toBe(true);
    const leadId = picks[0]!.split(':')[1]!;
    const responseUrl = h.fake.responseUrl('pick-1');
    await h.action({ actionId: picks[0]!, value: leadId, messageTs: '1.1', responseUrl, userId: USERS.anna });
    const call = await waitForCall(h, (c) => c.method === 'response_url' && c.responseId === 'pick-1');
    expect(call.body['replace_original']).toBe(true);
    expect(textOf(call.body['blocks'])).toContain(`Lead #${leadId}`);
  });

  it('says so when nothing matches, and suggests the closest subcommand for a typo', async () => {
    expect((await (await lead(h, 'zzqqxx')).reply()).text).toContain('No lead matches “zzqqxx”');
    const help = await (await lead(h, 'mnie')).reply();
    expect(help.text).toBe('Unknown subcommand “mnie”. Did you mean `/lead mine`?');
    expect(textOf(help.blocks)).toContain('/lead top [n]');
  });

  it('lists my leads, the top unclaimed ones and the pool', async () => {
    const mine = await (await lead(h, 'mine', USERS.anna)).reply();
    expect(mine.text).toBe('Your leads: 1');
    expect(textOf(mine.blocks)).toContain('*Ada Lovelace* · Genomics Lab');
    expect(textOf(mine.blocks)).toContain('SLA due in 30 min');
    const top = await (await lead(h, 'top 3')).reply();
    expect(top.text).toBe('Top 3 unclaimed leads: 3');
    expect(textOf(top.blocks).indexOf('Ada Lovelace')).toBeGreaterThan(-1);
    const pool = await (await lead(h, 'pool')).reply();
    expect(pool.text).toBe('Hottest leads waiting in the pool: 6');
    expect((await (await lead(h, 'mine', USERS.carla)).reply()).text).toContain('Nothing claimed or owned');
  });

  it('rejects bad arguments in the ack', async () => {
    expect((await lead(h, 'top many')).ack?.text).toContain('n must be a number');
    expect((await lead(h, 'note not-an-email hello')).ack?.text).toContain('is not an email address');
    expect((await lead(h, 'away someday')).ack?.text).toContain('I can\u2019t read');
  });

  it('adds a note', async () => {
    const done = await (await lead(h, `note ${ADA} Call back on Friday & bring samples`)).reply();
    expect(done.text).toBe('Note added to *Ada Lovelace*.');
    const { rows } = await h.db.pool.query('SELECT lead_id, author_slack_user, text FROM lead_notes');
    expect(rows).toEqual([
      { lead_id: ada, author_slack_user: USERS.anna, text: 'Call back on Friday & bring samples' },
    ]);
    const card = await (await lead(h, ADA)).reply();
    expect(textOf(card.blocks)).toContain('Call back on Friday &amp; bring samples');
  });

  it('refuses assign, forget and export to a rep, changing nothing', async () => {
    const before = await h.db.pool.query('SELECT owner_member_id FROM deals WHERE lead_id = $1', [ada]);
    for (const text of [`assign ${ADA} <@${USERS.ben}|ben>`, `forget ${ADA}`, `export ${ADA}`]) {
      const { ack } = await lead(h, text, USERS.anna);
      expect(ack?.response_type).toBe('ephemeral');
      expect(ack?.text).toMatch(/^Only (managers and admins|admins) can do that\.$/);
    }
    const after = await h.db.pool.query('SELECT owner_member_id FROM deals WHERE lead_id = $1', [ada]);
    expect(after.rows).toEqual(before.rows);
    expect(
      (await h.db.pool.query(`SELECT 1 FROM audit_log WHERE action IN ('assign', 'forget', 'export')`))
        .rowCount,
    ).toBe(0);
    expect(h.fake.calls('views.open')).toHaveLength(0);
  });

  it('refuses everyone outside the team', async () => {
    expect((await lead(h, ADA, USERS.outsider)).ack?.text).toContain('members of the sales team only');
  });

  it('lets a manager assign the lead’s open deal to someone', async () => {
    const run = await lead(h, `assign <mailto:${ADA}|${ADA}> <@${USERS.ben}|ben>`, USERS.lena);
    expect(run.ack).toBeNull();
    expect((await run.reply()).text).toBe('*Ada Lovelace* now belongs to <@U0BEN0002> (one deal).');
    const deal = await h.db.pool.query('SELECT owner_member_id FROM deals WHERE lead_id = $1', [ada]);
    expect(deal.rows).toEqual([{ owner_member_id: 'ben' }]);
    const assignment = await h.db.pool.query(
      'SELECT member_id, strategy FROM assignments WHERE lead_id = $1 ORDER BY id DESC LIMIT 1',
      [ada],
    );
    expect(assignment.rows).toEqual([{ member_id: 'ben', strategy: 'manual' }]);
    const audit = await h.db.pool.query(`SELECT actor, detail FROM audit_log WHERE action = 'assign'`);
    expect(audit.rows).toEqual([{ actor: USERS.lena, detail: { to: 'ben', deals: [expect.any(Number)] } }]);
    expect((await lead(h, `assign ${ADA} <@${USERS.outsider}>`, USERS.lena)).ack?.text).toContain(
      'not an active member',
    );
  });

  it('sets and clears away, reading dates against the clock in the ruleset time zone', async () => {
    const away = async (text: string) => {
      await (await lead(h, text, USERS.carla)).reply();
      const { rows } = await h.db.pool.query(
        `SELECT away_until FROM team_presence WHERE member_id = 'carla'`,
      );
      return (rows[0]?.away_until as Date | null)?.toISOString() ?? null;
    };
    // The clock says Friday 2026-11-20 11:00 in Berlin.
    expect(await away('away friday')).toBe('2026-11-26T23:00:00.000Z');
    expect(await away('away until tomorrow')).toBe('2026-11-20T23:00:00.000Z');
    expect(await away('away 3d')).toBe('2026-11-23T10:00:00.000Z');
    expect(await away('away 2026-12-01')).toBe('2026-11-30T23:00:00.000Z');
    expect(await away('away')).toBe('9999-12-31T00:00:00.000Z');
    expect(await away('back')).toBeNull();
  });

  it('opens the new-lead modal and the erase confirmation without touching data', async () => {
    await lead(h, 'new');
    await waitForCall(
      h,
      (c) =>
        c.method === 'views.open' &&
        (c.body['view'] as { callback_id: string }).callback_id === 'lead.new.submit',
    );
    await lead(h, `forget ${ADA}`, USERS.sam);
    const open = await waitForCall(
      h,
      (c) =>
        c.method === 'views.open' &&
        (c.body['view'] as { callback_id: string }).callback_id === 'lead.forget.confirm',
    );
    expect(textOf((open.body['view'] as { blocks: unknown }).blocks)).toContain(ADA);
    expect(
      (await h.db.pool.query('SELECT erased_at FROM leads WHERE id = $1', [ada])).rows[0].erased_at,
    ).toBeNull();
  });

  it('exports a lead’s data to an admin by DM', async () => {
    const done = await (await lead(h, `export ${ADA}`, USERS.sam)).reply();
    expect(done.text).toMatch(new RegExp(`^Lead #${ada}’s data is on its way to you by DM`));
    const dm = await waitForCall(
      h,
      (c) => c.method === 'chat.postMessage' && c.body['channel'] === USERS.sam,
    );
    const text = dm.body['text'] as string;
    expect(text).toMatch(new RegExp(`^Export of lead #${ada} \\(1/\\d+\\)\n\`\`\``));
    expect(text).toContain(`"email": "${ADA}"`);
    const audit = await h.db.pool.query(`SELECT actor, lead_id FROM audit_log WHERE action = 'export'`);
    expect(audit.rows).toEqual([{ actor: USERS.sam, lead_id: ada }]);
  });

  it('shares the card in the channel for everyone', async () => {
    await h.action({
      actionId: 'lead.share',
      value: String(ada),
      messageTs: '2.2',
      channelId: 'C0ROUTING1',
      userId: USERS.anna,
    });
    const post = await waitForCall(
      h,
      (c) => c.method === 'chat.postMessage' && c.body['channel'] === 'C0ROUTING1',
    );
    expect(actionIds(post.body['blocks'])).toEqual(['lead.claim', 'lead.details']);
    expect(textOf(post.body['blocks'])).toContain(`Lead #${ada} · shared by <@${USERS.anna}>`);
    expect(h.fake.messages('C0ROUTING1')).toHaveLength(1);
  });

  it('claims from the card through the alert listener, and the card then shows the claim', async () => {
    await h.action({ actionId: 'lead.claim', value: String(ada), messageTs: '3.3', userId: USERS.anna });
    await waitFor(async () => {
      const { rows } = await h.db.pool.query('SELECT claimed_by_slack_user FROM leads WHERE id = $1', [ada]);
      return rows[0]?.claimed_by_slack_user === USERS.anna;
    });
    const card = await (await lead(h, ADA)).reply();
    expect(textOf(card.blocks)).toMatch(
      /\*Claimed\*\n<@U0ANNA001> \(Anna\) (just now|in less than a minute)/,
    );
    expect(actionIds(card.blocks)).not.toContain('lead.claim');
  });
});
