import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerHome } from '../../src/bot/home.ts';
import { waitFor } from '../support/db.ts';
import { actionIds, leadDeskRuleset, postEvent, seedLead, textOf, USERS } from '../support/lead-desk.ts';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.ts';

type View = { type: string; blocks: unknown[] };

describe('App Home', () => {
  let h: SlackHarness;
  let ada: number;

  beforeAll(async () => {
    h = await startSlackHarness(leadDeskRuleset(), (app, ctx) => registerHome(app, ctx));
    // Routed round robin in the b2b pipeline: Ada to Anna, Harry to Ben.
    ada = await seedLead(h, 'ada@genomics-lab.example', {
      firstName: 'Ada',
      lastName: 'Lovelace',
      company: 'Genomics Lab',
    });
    const harry = await seedLead(h, 'harry@hotlab.example', { fullName: 'Harry Hot', company: 'Hot Lab' });
    await h.db.pool.query('UPDATE leads SET score = 85, grade = $2 WHERE id = $1', [harry, 'A']);
    const torn = await seedLead(h, 'torn@uni.example', { fullName: 'Torn Between' }, { pricing: false });
    await h.db.pool.query(
      `INSERT INTO routing_conflicts (lead_id, conflict_key, cause, candidates, reasons, ruleset_version, created_at)
       VALUES ($1, 'k1', 'ambiguous_intent', '[]', '{}', 'test-rules', '2026-11-20T07:00:00Z')`,
      [torn],
    );
    await h.db.pool.query(`UPDATE leads SET status = 'conflict' WHERE id = $1`, [torn]);
    // Processing opened live alerts (demo requests are CRITICAL signals); only Ada's stays open here.
    await h.db.pool.query(`UPDATE lead_alerts SET sla_due_at = '2026-11-20T10:20:00Z' WHERE lead_id = $1`, [
      ada,
    ]);
    await h.db.pool.query(`UPDATE lead_alerts SET state = 'closed' WHERE lead_id <> $1`, [ada]);
  });
  afterAll(async () => {
    expect(h.fake.violations()).toEqual([]);
    await h.stop();
  });

  const published = (userId: string) =>
    h.fake.succeeded('views.publish').filter((c) => c.body['user_id'] === userId);

  async function openHome(userId: string): Promise<View> {
    const before = published(userId).length;
    const res = await postEvent(h, {
      type: 'app_home_opened',
      user: userId,
      channel: 'D0HOME',
      tab: 'home',
      event_ts: '1.1',
    });
    expect(res.status).toBe(200);
    await waitFor(async () => {
      await h.deliver();
      return published(userId).length > before;
    });
    return published(userId).at(-1)!.body['view'] as View;
  }

  it('shows a rep their queue, hot leads in their pipelines and the availability toggle', async () => {
    const view = await openHome(USERS.anna);
    expect(view.type).toBe('home');
    const text = textOf(view.blocks);
    expect(text).toContain('Leadline for Anna');
    expect(text).toContain('You are taking new leads.');
    expect(text).toContain('*Your queue* (1)');
    expect(text).toContain(
      '*Ada Lovelace* · Genomics Lab · ada@genomics-lab.example · score 40 (C) · SLA due in 20 min',
    );
    expect(text).toContain('*Hot unclaimed leads in your pipelines*');
    expect(text).toContain('*Harry Hot* · Hot Lab · harry@hotlab.example · score 85 (A)');
    expect(text).not.toContain('Open routing conflicts');
    expect(actionIds(view.blocks)).toEqual([
      'home.away',
      `lead.pick:${ada}`,
      expect.stringMatching(/^lead\.pick:\d+$/),
    ]);
  });

  it('adds open conflicts, team load and fairness this week for a manager', async () => {
    const text = textOf((await openHome(USERS.lena)).blocks);
    expect(text).toContain('Leadline for Lena');
    expect(text).toContain('*Open routing conflicts (1)*\n• *Torn Between*');
    expect(text).toContain('intents too close to call · opened 3 h ago');
    expect(text).toContain('• <@U0ANNA001> 1 open deal · 1 alert waiting');
    expect(text).toContain('• <@U0BEN0002> 1 open deal · 0 alerts waiting');
    expect(text).toContain('*Fairness this week*');
    expect(text).toContain('• *Anna* 1 lead · target 0.7 (33%) · +0.3');
    expect(text).toContain('• *Ben* 1 lead · target 0.7 (33%) · +0.3');
    expect(text).toContain('• *Carla* 0 leads · target 0.7 (33%) · -0.7');
    // Lena is in no rotation, so as a manager she watches every pipeline's hot leads.
    expect(text).toContain('*Harry Hot*');
  });

  it('tells people outside the team how to get in', async () => {
    expect(textOf((await openHome(USERS.outsider)).blocks)).toContain(
      'once an admin adds you to the sales team',
    );
  });

  it('coalesces quick repeated opens into one publish of the latest content', async () => {
    const before = published(USERS.ben).length;
    const version = async () =>
      (await h.db.pool.query(`SELECT version FROM slack_outbox WHERE key = $1`, [`home:${USERS.ben}`]))
        .rows[0]?.version ?? 0;
    await postEvent(h, {
      type: 'app_home_opened',
      user: USERS.ben,
      channel: 'D0HOME',
      tab: 'home',
      event_ts: '2.1',
    });
    await waitFor(async () => (await version()) === 1);
    h.clock.advance(60_000);
    await postEvent(h, {
      type: 'app_home_opened',
      user: USERS.ben,
      channel: 'D0HOME',
      tab: 'home',
      event_ts: '2.2',
    });
    await waitFor(async () => (await version()) === 2);
    await h.deliver();
    const calls = published(USERS.ben).slice(before);
    expect(calls).toHaveLength(1);
    expect(textOf((calls[0]!.body['view'] as View).blocks)).toContain('Updated Fri 20 Nov, 11:01');
  });

  it('toggles availability from the Home tab', async () => {
    const toggle = async (actionId: string) => {
      const before = published(USERS.anna).length;
      await h.action({ actionId, value: actionId, messageTs: '3.3', userId: USERS.anna });
      await waitFor(async () => {
        await h.deliver();
        return published(USERS.anna).length > before;
      });
      const { rows } = await h.db.pool.query(`SELECT away_until FROM team_presence WHERE member_id = 'anna'`);
      return {
        view: published(USERS.anna).at(-1)!.body['view'] as View,
        awayUntil: rows[0]?.away_until as Date | null,
      };
    };
    const away = await toggle('home.away');
    expect(away.awayUntil?.toISOString()).toBe('9999-12-31T00:00:00.000Z');
    expect(textOf(away.view.blocks)).toContain('You are away until you are back');
    expect(actionIds(away.view.blocks)[0]).toBe('home.back');
    const back = await toggle('home.back');
    expect(back.awayUntil).toBeNull();
    expect(actionIds(back.view.blocks)[0]).toBe('home.away');
  });

  it('ignores the Messages tab', async () => {
    const before = h.fake.calls('views.publish').length;
    await postEvent(h, {
      type: 'app_home_opened',
      user: USERS.carla,
      channel: 'D0HOME',
      tab: 'messages',
      event_ts: '4.4',
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await h.deliver();
    expect(h.fake.calls('views.publish').length).toBe(before);
  });
});
