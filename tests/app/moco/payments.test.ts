import { describe, expect, it } from 'vitest';
import { settleInvoicePayments } from '../../../src/app/moco/payments.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { mapMoco } from '../../../src/engine/mappers/moco.ts';
import { storeEvents } from '../../support/engine-fixtures.ts';
import { leadDeskRuleset, seedLead } from '../../support/lead-desk.ts';
import { useSlackHarness } from '../../support/slack-harness.ts';

const ADA = 'ada@genomics-lab.example';

describe('MOCO invoice payments', () => {
  const h = useSlackHarness(leadDeskRuleset(), () => {}, { start: '2026-11-20T10:00:00Z' });
  let delivery = 0;

  // One MOCO delivery, mapped as the webhook edge maps it and processed by the worker.
  async function payment(id: number, total: number, options: { event?: string; at?: number; invoice?: number } = {}) {
    const headers = new Headers({
      'X-Moco-Target': 'Invoice::Payment',
      'X-Moco-Event': options.event ?? 'create',
      'X-Moco-Timestamp': String(options.at ?? Date.parse('2026-12-01T09:00:00Z')),
    });
    const body = { id, date: '2026-12-01', paid_total: total, currency: 'EUR', invoice: { id: options.invoice ?? 31 } };
    const mapped = mapMoco(body, { source: 'moco', headers, receivedAt: h.clock.now() });
    if (!mapped.ok) throw new Error(JSON.stringify(mapped.issues));
    delivery += 1;
    const stored = await storeEvents(h.db, mapped.events.map((e) => ({ ...e, id: `moco-payment-${delivery}` })));
    return processEvents(stored, h.ctx);
  }
  const paid = async () => (await h.db.pool.query('SELECT paid_amount::float8 AS paid, paid_at FROM deals')).rows;
  const posts = async () =>
    (await h.db.pool.query(`SELECT channel, payload->>'text' AS text, payload->>'thread_ts' AS thread FROM slack_outbox WHERE kind = 'deal' ORDER BY id`)).rows;

  it('keeps a payment for an invoice no deal holds yet, and settles it when a sync stores that invoice', async () => {
    const leadId = await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    await h.db.pool.query(`UPDATE deals SET status = 'won', value = 12000, currency = 'EUR', moco_deal_id = 55`);
    // MOCO reported the payment before Leadline stored the invoice's id: no lead is made of it.
    await payment(901, 5000);
    expect(await paid()).toEqual([{ paid: null, paid_at: null }]);
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM leads')).rows).toEqual([{ n: 1 }]);
    expect((await h.db.pool.query('SELECT lead_id, processed_at IS NOT NULL AS done FROM intake_events WHERE external_id LIKE $1', ['moco-payment-%'])).rows).toEqual([
      { lead_id: null, done: true },
    ]);

    await h.db.pool.query('UPDATE deals SET moco_invoice_id = 31');
    await settleInvoicePayments(h.db.pool, h.ctx, ['31'], h.clock.now());
    expect(await paid()).toEqual([{ paid: 5000, paid_at: h.clock.now() }]);
    expect((await posts()).map((p) => p.text)).toEqual(['💶 Payment recorded in MOCO for Ada Lovelace: 5,000 EUR paid of 12,000 EUR (2026-12-01).']);

    // Later payments name the deal's lead; a repeat posts nothing new.
    await payment(901, 5000);
    await payment(902, 8280);
    const { rows } = await h.db.pool.query('SELECT DISTINCT lead_id FROM intake_events WHERE external_id IN ($1, $2)', ['moco-payment-2', 'moco-payment-3']);
    expect(rows).toEqual([{ lead_id: leadId }]);
    expect((await posts()).map((p) => p.text)).toHaveLength(2);
    expect((await paid())[0].paid).toBe(13_280);
  });

  it('lets neither an older report nor a late create undo what MOCO said last', async () => {
    await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    await h.db.pool.query(`UPDATE deals SET status = 'won', value = 12000, currency = 'EUR', moco_invoice_id = 31`);
    const t = Date.parse('2026-12-01T09:00:00Z');
    await payment(901, 6000, { event: 'update', at: t + 2_000 });
    await payment(901, 5000, { event: 'create', at: t });
    expect((await paid())[0].paid).toBe(6000);
    // Deleted in MOCO, then the create arrives once more: it stays deleted.
    await payment(901, 6000, { event: 'delete', at: t + 3_000 });
    await payment(901, 5000, { event: 'create', at: t });
    expect(await paid()).toEqual([{ paid: 0, paid_at: null }]);
    expect((await posts()).map((p) => p.text)).toEqual([
      '💶 Payment recorded in MOCO for Ada Lovelace: 6,000 EUR paid of 12,000 EUR (2026-12-01).',
      "💶 MOCO no longer records a payment for Ada Lovelace's invoice.",
    ]);
  });

  it('posts a deal’s outcomes in its alert’s thread once Slack has the alert, else in the deals channel', async () => {
    await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    await h.db.pool.query(`UPDATE deals SET status = 'won', value = 12000, currency = 'EUR', moco_invoice_id = 31`);
    await payment(901, 1000);
    await h.deliverAll();
    const [alert] = h.fake.messages('C0HOTLEAD1');
    await payment(902, 2000);
    expect(await posts()).toEqual([
      { channel: '#deals', text: expect.stringContaining('1,000 EUR paid'), thread: null },
      { channel: alert!.channel, text: expect.stringContaining('3,000 EUR paid'), thread: alert!.ts },
    ]);
    await h.deliverAll();
    const reply = h.fake.succeeded('chat.postMessage').find((call) => call.body['thread_ts'] === alert!.ts);
    expect(reply?.body).toMatchObject({ channel: alert!.channel, text: expect.stringContaining('3,000 EUR paid') });
  });
});
