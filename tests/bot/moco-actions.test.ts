import { describe, expect, it } from 'vitest';
import { registerHome } from '../../src/bot/home.ts';
import { registerMocoActions } from '../../src/bot/moco-actions.ts';
import { waitFor } from '../support/db.ts';
import { leadDeskRuleset, postEvent, seedLead, textOf, USERS, waitForCall } from '../support/lead-desk.ts';
import { useSlackHarness } from '../support/slack-harness.ts';

describe('MOCO syncs in Slack', () => {
  const h = useSlackHarness(
    leadDeskRuleset(),
    (app, ctx) => {
      registerMocoActions(app, ctx);
      registerHome(app, ctx);
    },
    { start: '2026-11-20T10:00:00Z' },
  );

  async function failedSync(): Promise<number> {
    const leadId = await seedLead(h, 'ada@genomics-lab.example', { firstName: 'Ada', lastName: 'Lovelace' });
    const { rows } = await h.db.pool.query<{ id: number }>(
      `INSERT INTO moco_sync_requests (source_key, entity, lead_id, state, last_error, attempts)
       VALUES ('won:test', 'deal', $1, 'failed', 'MOCO refused the company: name has already been taken', 1) RETURNING id`,
      [leadId],
    );
    return rows[0]!.id;
  }

  const retry = (requestId: number, userId: string, responseId: string) =>
    h.action({ actionId: 'moco.retry', value: String(requestId), messageTs: '1.1', userId, responseUrl: h.fake.responseUrl(responseId) });
  const answer = async (responseId: string) =>
    (await waitForCall(h, (c) => c.method === 'response_url' && c.responseId === responseId)).body['text'];

  it('lets admins retry a failed sync, once, and tells anyone else it is for admins', async () => {
    const id = await failedSync();
    await retry(id, USERS.anna, 'rep');
    expect(await answer('rep')).toBe('Only admins can do that.');
    await retry(id, USERS.sam, 'admin');
    expect(await answer('admin')).toBe('Retrying the MOCO sync; the result replaces the message above.');
    await retry(id, USERS.sam, 'again');
    expect(await answer('again')).toBe('This MOCO sync is not failed any more.');
    const { rows } = await h.db.pool.query('SELECT state FROM moco_sync_requests');
    expect(rows).toEqual([{ state: 'pending' }]);
  });

  it('lets managers ask for the invoice of a won deal, once however often they click', async () => {
    await seedLead(h, 'ada@genomics-lab.example', { firstName: 'Ada', lastName: 'Lovelace' });
    const { rows } = await h.db.pool.query<{ id: number }>(`UPDATE deals SET status = 'won' RETURNING id`);
    const click = (userId: string, responseId: string) =>
      h.action({ actionId: 'moco.invoice', value: String(rows[0]!.id), messageTs: '1.1', userId, responseUrl: h.fake.responseUrl(responseId) });
    await click(USERS.anna, 'rep-invoice');
    expect(await answer('rep-invoice')).toBe('Only managers and admins can do that.');
    await click(USERS.lena, 'invoice-1');
    await click(USERS.lena, 'invoice-2');
    expect(await answer('invoice-1')).toBe('Creating the invoice in MOCO; the deal’s thread hears when it exists.');
    expect(await answer('invoice-2')).toBe('Creating the invoice in MOCO; the deal’s thread hears when it exists.');
    const requests = await h.db.pool.query(`SELECT entity, source_key FROM moco_sync_requests`);
    expect(requests.rows).toEqual([{ entity: 'invoice', source_key: `invoice:${rows[0]!.id}` }]);
  });

  it('lists failed and waiting syncs on the Home tab of admins only', async () => {
    await failedSync();
    const home = async (userId: string) => {
      const before = h.fake.succeeded('views.publish').length;
      await postEvent(h, { type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home', event_ts: '1.1' });
      await waitFor(async () => {
        await h.deliver();
        return h.fake.succeeded('views.publish').length > before;
      });
      return textOf(h.fake.succeeded('views.publish').at(-1)!.body['view']);
    };
    expect(await home(USERS.sam)).toContain(
      '*MOCO syncs (1)*\n• *Ada Lovelace* ⚠️ failed: MOCO refused the company: name has already been taken',
    );
    expect(await home(USERS.lena)).not.toContain('MOCO syncs');
    // Anna owns the seeded open deal: 10,000 in b2b's first of two open stages weighs 33%.
    await h.db.pool.query(`UPDATE deals SET value = 10000`);
    expect(await home(USERS.anna)).toContain('Your open pipeline: 1 deal · weighted 3,300 EUR');
  });
});
