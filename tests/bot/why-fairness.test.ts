import { describe, expect, it } from 'vitest';
import { registerAlertActions } from '../../src/bot/alert-actions.ts';
import { registerLeadCommand } from '../../src/bot/lead-command.ts';
import { MANAGERS_ONLY, NOT_ON_TEAM } from '../../src/bot/lead-respond.ts';
import { registerPing } from '../../src/bot/ping.ts';
import { waitFor } from '../support/db.ts';
import { lead, leadDeskRuleset, seedLead, textOf, USERS } from '../support/lead-desk.ts';
import { useSlackHarness } from '../support/slack-harness.ts';

const START = '2026-11-20T10:00:00.000Z';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe('/lead why and /lead fairness', () => {
  const h = useSlackHarness(
    leadDeskRuleset(),
    (app, ctx) => {
      registerPing(app);
      registerLeadCommand(app, ctx);
      registerAlertActions(app, ctx);
    },
    { start: START },
  );

  const ownerOf = async (leadId: number) =>
    (await h.db.pool.query<{ owner: string }>('SELECT owner_member_id AS owner FROM deals WHERE lead_id = $1', [leadId]))
      .rows[0]!.owner;

  async function claim(leadId: number, userId: string) {
    await h.action({ actionId: 'lead.claim', value: String(leadId), messageTs: `9.${leadId}`, userId });
    await waitFor(async () => {
      const { rows } = await h.db.pool.query('SELECT claimed_by_slack_user FROM lead_alerts WHERE lead_id = $1', [leadId]);
      return rows[0]?.claimed_by_slack_user === userId;
    });
  }

  describe('why', () => {
    it('lists route and owner decisions newest first with their ruleset versions, however old, escaped', async () => {
      const email = 'ada@genomics-lab.example';
      const ada = await seedLead(h, email, { fullName: 'Ada <!here> & Co', company: 'Genomics Lab' });
      const first = await ownerOf(ada);
      // A decision by a ruleset long replaced, whose stored text holds what a lead typed.
      await h.db.pool.query(
        `INSERT INTO routing_decisions (lead_id, kind, pipeline_id, cause, reasons, explanation, ruleset_version, created_at)
         VALUES ($1, 'pool', NULL, 'no_intent', '{}', ARRAY['Form said <!channel> & more'], 'ruleset-of-2025', $2)`,
        [ada, new Date(Date.parse(START) - 390 * DAY)],
      );
      h.clock.advance(30 * MINUTE);
      const other = first === 'ben' ? USERS.carla : USERS.ben;
      const assigned = await lead(h, `assign ${email} <@${other}>`, USERS.lena);
      expect((await assigned.reply()).text).toContain('now belongs to');

      const run = await lead(h, `why <mailto:${email}|${email}>`, USERS.anna);
      expect(run.ack).toBeNull();
      const reply = (await run.reply()) as Awaited<ReturnType<typeof run.reply>> & { response_type?: string };
      expect(reply.response_type).toBe('ephemeral');
      expect(reply.text).toBe('Why Ada &lt;!here&gt; &amp; Co went where it did: 4 decisions');
      const sections = reply.blocks.map((b) => textOf(b));
      const version = h.ctx.ruleset.version;
      const firstOwner = h.ctx.ruleset.team.members.find((m) => m.id === first)!.slack_user_id;
      expect(sections[0]).toBe('*Why Ada &lt;!here&gt; &amp; Co went where it did* · 4 decisions, newest first');
      // Newest first: the manager's reassignment, the rotation's pick, the route, the old pool decision.
      expect(sections[1]).toMatch(
        new RegExp(`^\\*2026-11-20 11:30\\* · Reassigned by hand from <@${firstOwner}> to <@${other}> in \\*B2B customers\\* deal #\\d+ · ruleset \`${version}\` \\(running\\)\\n• Assigned to .+ by hand\\.$`),
      );
      expect(sections[2]).toMatch(new RegExp(`^\\*2026-11-20 11:00\\* · Assigned to <@${firstOwner}> in \\*B2B customers\\* deal #\\d+ · ruleset \`${version}\` \\(running\\)\\n• Assigned to `));
      expect(sections[3]).toMatch(
        new RegExp(`^\\*2026-11-20 11:00\\* · Routed to \\*B2B customers\\* · ruleset \`${version}\` \\(running\\)\\n• Score 40 meets the routing threshold of 40\\.`),
      );
      expect(sections[4]).toBe(
        '*2025-10-26 11:00* · Left in the pool (no intent) · ruleset `ruleset-of-2…`\n• Form said &lt;!channel&gt; &amp; more',
      );
      expect(sections[5]).toBe('Times in Europe/Berlin.');
    });

    it('shows the newest 15 and says how many there are', async () => {
      const email = 'busy@lab.example';
      const busy = await seedLead(h, email);
      await h.db.pool.query(
        `INSERT INTO routing_decisions (lead_id, kind, pipeline_id, reasons, explanation, ruleset_version, created_at)
         SELECT $1, 'keep', 'b2b', '{}', ARRAY['Kept.'], 'test', $2::timestamptz - make_interval(days => n)
         FROM generate_series(1, 20) AS n`,
        [busy, START],
      );
      const reply = await (await lead(h, `why ${email}`)).reply();
      expect(reply.text).toContain('22 decisions');
      expect(reply.blocks).toHaveLength(17);
      expect(textOf(reply.blocks.at(-1))).toBe('Showing the newest 15 of 22. Times in Europe/Berlin.');
      expect(textOf(reply.blocks.at(-2))).toContain('Kept in *B2B customers*, where the lead has an open deal');
    });

    it('says when a lead has no decisions or there is no such lead, refuses outsiders and explains usage', async () => {
      await seedLead(h, 'quiet@lab.example', { fullName: 'Quiet Lead' }, { pricing: false });
      await h.db.pool.query('DELETE FROM routing_decisions');
      expect((await (await lead(h, 'why quiet@lab.example')).reply()).text).toContain(
        'Leadline has no route or owner decision stored for *Quiet Lead*',
      );
      expect((await (await lead(h, 'why nobody@lab.example')).reply()).text).toBe('No lead has the email nobody@lab.example.');
      const outsider = await lead(h, 'why quiet@lab.example', USERS.outsider);
      expect(outsider.ack).toMatchObject({ response_type: 'ephemeral', text: NOT_ON_TEAM });
      const usage = await lead(h, 'why quiet');
      expect(usage.ack?.text).toBe('“quiet” is not an email address. Usage: `/lead why &lt;email&gt;`');
    });
  });

  describe('fairness', () => {
    it('shows per rep leads vs target share, claims within SLA, reassignments away and who is away now', async () => {
      const leads = [];
      for (const name of ['one', 'two', 'three']) leads.push(await seedLead(h, `${name}@lab.example`));
      const owners = await Promise.all(leads.map(ownerOf));
      expect([...owners].sort()).toEqual(['anna', 'ben', 'carla']);
      const annaLead = leads[owners.indexOf('anna')]!;
      const benLead = leads[owners.indexOf('ben')]!;
      // Within the 5-minute CRITICAL claim window, then one past it (taking Ben's lead from him).
      h.clock.advance(2 * MINUTE);
      await claim(annaLead, USERS.anna);
      h.clock.advance(20 * MINUTE);
      await claim(benLead, USERS.anna);
      expect((await (await lead(h, 'away 3d', USERS.ben)).reply()).text).toContain('You are away until');
      // Away for two hours, back, and away again until further notice: 2 h so far, and away now.
      h.clock.advance(120 * MINUTE);
      expect((await (await lead(h, 'back', USERS.ben)).reply()).text).toContain('Welcome back');
      h.clock.advance(30 * MINUTE);
      expect((await (await lead(h, 'away 3d', USERS.ben)).reply()).text).toContain('You are away until');
      h.clock.advance(15 * MINUTE);

      const run = await lead(h, 'fairness b2b', USERS.lena);
      expect(run.ack).toBeNull();
      const reply = (await run.reply()) as Awaited<ReturnType<typeof run.reply>> & { response_type?: string };
      expect(reply.response_type).toBe('ephemeral');
      expect(reply.text).toBe('Fairness over the last 30 days');
      expect(reply.blocks.map((b) => textOf(b))).toEqual([
        '*Fairness over the last 30 days* · since 2026-10-21 15:07 (Europe/Berlin)',
        [
          '*B2B customers* · round robin · 3 leads from the rotation',
          '• <@U0ANNA001>: 1 lead (33%, target 33%) · 1 by hand · 1 of 2 claims within SLA · 0 reassigned away',
          '• <@U0BEN0002>: 1 lead (33%, target 33%) · no claims · 1 reassigned away · away 2 h 15 min in the window · away now, until 2026-11-23 13:52',
          '• <@U0CARLA03>: 1 lead (33%, target 33%) · no claims · 0 reassigned away',
        ].join('\n'),
        expect.stringContaining('Away: time set away with `/lead away` or the Home tab within the window'),
      ]);
    });

    it('lists every pipeline when none is named, and a short window leaves older leads out', async () => {
      await seedLead(h, 'early@lab.example');
      h.clock.advance(3 * DAY);
      const all = textOf((await (await lead(h, 'fairness', USERS.sam)).reply()).blocks);
      expect(all).toContain('*B2B customers* · round robin · 1 lead from the rotation');
      expect(all).toContain('*Research* · round robin · 0 leads from the rotation\n• <@U0ANNA001>: 0 leads (no share yet, target 33%)');
      const recent = await (await lead(h, 'fairness B2B customers 2', USERS.lena)).reply();
      expect(recent.text).toBe('Fairness over the last 2 days');
      expect(textOf(recent.blocks)).toContain('*B2B customers* · round robin · 0 leads from the rotation');
      expect(textOf(recent.blocks)).not.toContain('*Research*');
    });

    it('refuses reps and outsiders, and explains a bad pipeline or window', async () => {
      expect((await lead(h, 'fairness', USERS.anna)).ack).toMatchObject({ response_type: 'ephemeral', text: MANAGERS_ONLY });
      expect((await lead(h, 'fairness', USERS.outsider)).ack).toMatchObject({ text: NOT_ON_TEAM });
      expect((await lead(h, 'fairness b2b 401', USERS.lena)).ack?.text).toBe(
        'days can be at most 400. Usage: `/lead fairness [pipeline] [days]`',
      );
      expect((await (await lead(h, 'fairness <nope>', USERS.lena)).reply()).text).toBe(
        'No pipeline is called “&lt;nope&gt;”. Pipelines: `b2b`, `research`.',
      );
    });
  });

  it('lists both in help', async () => {
    const help = textOf((await lead(h, 'help')).ack?.blocks);
    expect(help).toContain('/lead why &lt;email&gt;');
    expect(help).toContain('/lead fairness [pipeline] [days]');
  });
});
