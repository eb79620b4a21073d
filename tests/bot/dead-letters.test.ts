import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDeadLetterActions } from '../../src/bot/dead-letter-actions.ts';
import { registerHome } from '../../src/bot/home.ts';
import { ADMINS_ONLY } from '../../src/bot/lead-respond.ts';
import { PROCESS_EVENTS_QUEUE } from '../../src/app/queues.ts';
import { enqueueSlack } from '../../src/slack/outbox/enqueue.ts';
import { waitFor } from '../support/db.ts';
import { event, storeEvents } from '../support/engine-fixtures.ts';
import { actionIds, leadDeskRuleset, postEvent, seedLead, textOf, USERS, waitForCall } from '../support/lead-desk.ts';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.ts';

type View = { type: string; blocks: unknown[] };

describe('dead letters in App Home', () => {
  let h: SlackHarness;
  let slackId: string;
  let syncId: string;
  let eventId: string;

  beforeAll(async () => {
    h = await startSlackHarness(leadDeskRuleset(), (app, ctx) => {
      registerHome(app, ctx);
      registerDeadLetterActions(app, ctx);
    });
    // A lead whose name would ping the channel if it reached Slack unescaped.
    const leadId = await seedLead(h, 'ada@genomics-lab.example', { firstName: '<!channel>', lastName: 'Ada' });
    await h.deliverAll({ restoreClock: true });
    syncId = (
      await h.db.pool.query<{ id: string }>(
        `INSERT INTO moco_sync_requests (source_key, entity, lead_id, state, last_error, attempts, updated_at)
         VALUES ('won:home', 'deal', $1, 'failed', 'MOCO refused <b>the company</b>', 8, '2026-11-20T09:30:00Z') RETURNING id::text`,
        [leadId],
      )
    ).rows[0]!.id;
    [eventId] = (await storeEvents(h.db, [event('form.submitted')])) as [string];
    await h.db.pool.query(
      `INSERT INTO parked_events (event_id, error, ruleset_version, parked_at) VALUES ($1, 'TypeError: lead is null', 'test-rules', '2026-11-20T09:40:00Z')`,
      [eventId],
    );
    // A channel Slack does not know: the post is dead-lettered after one try.
    h.fake.failNext('chat.postMessage', 1, { slackError: 'channel_not_found' });
    const { id } = await enqueueSlack(h.db.pool, { key: 'notice:gone', kind: 'notice', method: 'chat.postMessage', channel: 'C0GONE', payload: { text: 'Ada booked a demo' } }, h.clock.now());
    slackId = String(id);
    await h.deliver();
  });
  afterAll(async () => {
    expect(h.fake.violations()).toEqual([]);
    await h.stop();
  });

  const published = (userId: string) => h.fake.succeeded('views.publish').filter((c) => c.body['user_id'] === userId);

  /** Waits for the next Home tab `userId` is shown, after `trigger`. */
  async function nextHome(userId: string, trigger: () => Promise<Response>): Promise<View> {
    const before = published(userId).length;
    expect((await trigger()).status).toBe(200);
    await waitFor(async () => {
      await h.deliver();
      return published(userId).length > before;
    });
    return published(userId).at(-1)!.body['view'] as View;
  }
  const openHome = (userId: string) =>
    nextHome(userId, () => postEvent(h, { type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home', event_ts: '1.1' }));
  const press = (userId: string, button: 'retry' | 'discard', ref: string, responseUrl?: string) =>
    h.action({ userId, actionId: `deadletter.${button}:${ref}`, value: ref, blockId: `deadletter:${ref}`, messageTs: '1.2', ...(responseUrl === undefined ? {} : { responseUrl }) });

  it('lists every dead letter for an admin, escaped, with Retry and Discard each', async () => {
    const view = await openHome(USERS.sam);
    const text = textOf(view.blocks);
    expect(text).toContain('Dead letters (3)');
    expect(text).toContain(`*notice (chat.postMessage to C0GONE)* · \`slack:${slackId}\` · 1 try`);
    expect(text).toContain('channel_not_found');
    expect(text).toContain(`*MOCO deal sync for &lt;!channel&gt; Ada* · \`moco:${syncId}\` · 8 tries · 30 min ago`);
    expect(text).toContain('MOCO refused &lt;b&gt;the company&lt;/b&gt;');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain(`*website form.submitted event* · \`event:${eventId}\``);
    expect(actionIds(view.blocks).filter((id) => id.startsWith('deadletter.'))).toEqual(
      [`slack:${slackId}`, `event:${eventId}`, `moco:${syncId}`].flatMap((ref) => [`deadletter.retry:${ref}`, `deadletter.discard:${ref}`]),
    );
  });

  it('shows no dead letters to a manager or a rep', async () => {
    for (const user of [USERS.lena, USERS.anna]) {
      const view = await openHome(user);
      expect(textOf(view.blocks)).not.toContain('Dead letters');
      expect(actionIds(view.blocks).some((id) => id.startsWith('deadletter.'))).toBe(false);
    }
  });

  it('refuses a rep’s press with the admins-only answer and changes nothing', async () => {
    const res = await press(USERS.anna, 'retry', `event:${eventId}`, h.fake.responseUrl('dl-rep'));
    expect(res.status).toBe(200);
    const reply = await waitForCall(h, (c) => c.method === 'response_url' && c.responseId === 'dl-rep');
    expect(reply.body).toMatchObject({ response_type: 'ephemeral', text: ADMINS_ONLY });
    const { rows } = await h.db.pool.query(`SELECT retried_at FROM parked_events WHERE event_id = $1`, [eventId]);
    expect(rows).toEqual([{ retried_at: null }]);
    const jobs = await h.db.pool.query(`SELECT 1 FROM pgboss.job WHERE name = $1`, [PROCESS_EVENTS_QUEUE]);
    expect(jobs.rows).toEqual([]);
  });

  it('retries a dead delivery on an admin’s press: it posts once the fault is gone; a second press changes nothing', async () => {
    let view = await nextHome(USERS.sam, () => press(USERS.sam, 'retry', `slack:${slackId}`));
    expect(textOf(view.blocks)).toContain(`slack:${slackId} retried`);
    expect(textOf(view.blocks)).toContain('Dead letters (2)');
    await h.deliverAll({ restoreClock: true });
    expect(h.fake.succeeded('chat.postMessage').filter((c) => c.body['channel'] === 'C0GONE')).toHaveLength(1);

    view = await nextHome(USERS.sam, () => press(USERS.sam, 'retry', `slack:${slackId}`));
    expect(textOf(view.blocks)).toContain(`slack:${slackId} is not a dead letter (any more): nothing changed`);
    await h.deliverAll({ restoreClock: true });
    expect(h.fake.succeeded('chat.postMessage').filter((c) => c.body['channel'] === 'C0GONE')).toHaveLength(1);
  });

  it('discards a failed sync on an admin’s press, once', async () => {
    let view = await nextHome(USERS.sam, () => press(USERS.sam, 'discard', `moco:${syncId}`));
    expect(textOf(view.blocks)).toContain(`moco:${syncId} discarded`);
    expect(textOf(view.blocks)).toContain('Dead letters (1)');
    expect(actionIds(view.blocks)).not.toContain(`deadletter.retry:moco:${syncId}`);
    const { rows } = await h.db.pool.query(`SELECT state, discarded_at FROM moco_sync_requests WHERE id = $1`, [syncId]);
    expect(rows).toEqual([{ state: 'failed', discarded_at: h.clock.now() }]);

    view = await nextHome(USERS.sam, () => press(USERS.sam, 'discard', `moco:${syncId}`));
    expect(textOf(view.blocks)).toContain(`moco:${syncId} is not a dead letter (any more)`);
    expect((await h.db.pool.query(`SELECT state, discarded_at FROM moco_sync_requests WHERE id = $1`, [syncId])).rows).toEqual(rows);
  });
});
