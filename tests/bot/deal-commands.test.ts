import { describe, expect, it } from 'vitest';
import { registerLeadCommand } from '../../src/bot/lead-command.ts';
import { lead, leadDeskRuleset, seedLead, textOf, USERS, waitForCall } from '../support/lead-desk.ts';
import { useSlackHarness } from '../support/slack-harness.ts';

const ADA = 'ada@genomics-lab.example';

describe('/lead won, lost and reopen', () => {
  const h = useSlackHarness(leadDeskRuleset(), (app, ctx) => registerLeadCommand(app, ctx), {
    start: '2026-11-20T10:00:00Z',
  });

  const deals = async () =>
    (
      await h.db.pool.query(
        'SELECT status, value::float8 AS value, currency, lost_reason, closed_by FROM deals ORDER BY id',
      )
    ).rows;

  it('lets the owner mark their deal won with an amount typed the German way', async () => {
    await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    // An open deal shows its value weighted by the stage: b2b's first of two open stages is 33%.
    await h.db.pool.query(`UPDATE deals SET value = 10000`);
    const card = await (await lead(h, ADA, USERS.anna)).reply();
    expect(textOf(card.blocks)).toContain('open · 10,000 EUR (weighted 3,300 EUR)');
    const run = await lead(h, `won <mailto:${ADA}|${ADA}> 12.000,50 EUR`, USERS.anna);
    expect(run.ack).toBeNull();
    expect((await run.reply()).text).toBe('🏆 *Ada Lovelace*’s deal in B2B customers is won: 12,000.50 EUR.');
    expect(await deals()).toEqual([
      { status: 'won', value: 12_000.5, currency: 'EUR', lost_reason: null, closed_by: `slack:${USERS.anna}` },
    ]);
    const again = await lead(h, `won ${ADA} 9000`, USERS.anna);
    expect((await again.reply()).text).toBe('*Ada Lovelace*: This lead has no open deal to close. Route it to a pipeline first.');
  });

  it('refuses a rep who does not own the deal, and anyone outside the team, changing nothing', async () => {
    await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    const ben = await lead(h, `lost ${ADA} Went with a competitor`, USERS.ben);
    expect((await ben.reply()).text).toBe(
      '*Ada Lovelace*: Reps close their own deals; a manager or admin can close this one.',
    );
    expect((await lead(h, `won ${ADA} 100`, USERS.outsider)).ack?.text).toContain('members of the sales team only');
    expect(await deals()).toEqual([
      { status: 'open', value: null, currency: null, lost_reason: null, closed_by: null },
    ]);
  });

  it('answers usage mistakes in the ack', async () => {
    expect((await lead(h, `won ${ADA} lots`, USERS.anna)).ack?.text).toContain('“lots” is not an amount');
    expect((await lead(h, `won ${ADA} 100 euro`, USERS.anna)).ack?.text).toContain('three-letter code like EUR');
    expect((await lead(h, `lost ${ADA}`, USERS.anna)).ack?.text).toContain('say why the deal was lost');
    expect((await lead(h, `reopen ${ADA}`, USERS.anna)).ack?.text).toBe(
      'Only managers and admins can reopen a deal.',
    );
  });

  it('lets a manager mark any deal lost and reopen it', async () => {
    await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    const lost = await lead(h, `lost ${ADA} Budget <frozen> & gone`, USERS.lena);
    expect((await lost.reply()).text).toBe(
      '*Ada Lovelace*’s deal in B2B customers is lost: Budget &lt;frozen&gt; &amp; gone.',
    );
    expect((await deals())[0]).toMatchObject({ status: 'lost', lost_reason: 'Budget <frozen> & gone' });
    const reopen = await lead(h, `reopen ${ADA}`, USERS.lena);
    expect((await reopen.reply()).text).toBe('*Ada Lovelace*’s deal in B2B customers is open again.');
    expect((await deals())[0]).toMatchObject({ status: 'open', lost_reason: null, closed_by: null });
  });

  it('closes the deal once when twenty /lead won commands arrive at once', async () => {
    await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => lead(h, `won ${ADA} ${1000 + i}`, i % 2 === 0 ? USERS.anna : USERS.lena)),
    );
    const replies = await Promise.all(runs.map((r) => r.reply()));
    expect(replies.filter((r) => r.text.startsWith('🏆'))).toHaveLength(1);
    expect((await deals()).map((d) => d.status)).toEqual(['won']);
    const posts = await h.db.pool.query(`SELECT 1 FROM slack_outbox WHERE kind = 'deal'`);
    expect(posts.rows).toHaveLength(1);
  });

  it('marks a deal won from the card’s button and modal, with the offer’s items', async () => {
    const leadId = await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    const card = await (await lead(h, ADA, USERS.anna)).reply();
    expect(textOf(card.blocks)).toContain('Mark won');
    await h.action({ actionId: 'deal.mark_won', value: String(leadId), messageTs: '1.1', userId: USERS.anna, responseUrl: h.fake.responseUrl('won-click') });
    const open = await waitForCall(h, (c) => c.method === 'views.open');
    const view = open.body['view'] as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe('deal.won.submit');
    const values = (amount: string) => ({
      amount: { amount: { type: 'number_input', value: amount } },
      currency: { currency: { type: 'plain_text_input', value: 'eur' } },
      closed_on: { closed_on: { type: 'datepicker', selected_date: '2026-11-19' } },
      products: { products: { type: 'multi_static_select', selected_options: [{ value: 'pilot' }] } },
    });
    const refused = await h.submit({ callbackId: 'deal.won.submit', values: values('0'), privateMetadata: view.private_metadata, userId: USERS.anna });
    expect(await refused.json()).toEqual({
      response_action: 'errors',
      errors: { amount: 'Type the amount the deal was won for.' },
    });
    const res = await h.submit({ callbackId: 'deal.won.submit', values: values('4800'), privateMetadata: view.private_metadata, userId: USERS.anna });
    expect(await res.text()).toBe('');
    const answer = await waitForCall(h, (c) => c.method === 'response_url' && c.responseId === 'won-click');
    expect(answer.body['text']).toBe('🏆 The deal in B2B customers is won: 4,800 EUR.');
    const { rows } = await h.db.pool.query('SELECT status, value::float8 AS value, closed_at, line_items FROM deals');
    expect(rows).toEqual([
      {
        status: 'won',
        value: 4800,
        closed_at: new Date('2026-11-19T11:00:00Z'),
        line_items: [{ title: 'Pilot study', quantity: 1, unit: 'study', unit_price: 4800 }],
      },
    ]);
  });
});
