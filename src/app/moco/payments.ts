import { type Queryable, run } from '../../db/pool.ts';
import { markEventsProcessed } from '../../db/sql/events.ts';
import {
  applyInvoicePayments,
  type MocoPaymentInput,
  selectInvoiceDeals,
  upsertMocoPayments,
} from '../../db/sql/moco-payments.ts';
import { type MocoPaymentSignal, paymentOf } from '../../engine/deals.ts';
import type { StoredEvent } from '../../engine/lead-processor.ts';
import { announcePaid } from '../changes/deal-notices.ts';
import type { AppContext } from '../context.ts';

/**
 * Records the invoice payments MOCO reported (events `paymentOf` reads) and marks those events
 * processed, attached to the lead whose deal holds the invoice when Leadline knows it. A payment
 * for an invoice no deal holds yet waits in `moco_payments` until a sync stores the invoice's id;
 * repeats and older reports change nothing.
 *
 * @example
 * await recordMocoPayments(tx, ctx, paymentEvents, now) // 2
 */
export async function recordMocoPayments(
  tx: Queryable,
  ctx: AppContext,
  events: readonly StoredEvent[],
  now: Date,
): Promise<number> {
  const payments = events.flatMap((event) => {
    const payment = paymentOf(event);
    return payment === null ? [] : [{ event, payment }];
  });
  if (payments.length === 0) return 0;
  const changed = await run(tx, upsertMocoPayments(newestPerPayment(payments), now));
  const invoiceIds = [...new Set(payments.map(({ payment }) => payment.invoiceId))];
  const holders = new Map((await run(tx, selectInvoiceDeals(invoiceIds))).map((deal) => [deal.invoice_id, deal.lead_id]));
  const processed = payments.map(({ event, payment }) => ({ id: event.id, leadId: holders.get(payment.invoiceId) ?? null }));
  await run(tx, markEventsProcessed(processed, now));
  const unmatched = invoiceIds.filter((id) => !holders.has(id));
  if (unmatched.length > 0) ctx.log.info({ invoices: unmatched }, 'MOCO payments for invoices no deal holds yet; kept until one does');
  await settleInvoicePayments(tx, ctx, [...new Set(changed.map((row) => row.invoice_id))], now);
  return payments.length;
}

/**
 * Brings the paid amount of the deals holding these MOCO invoices up to date with the payments
 * recorded for them, and tells each deal's thread when it changed. Called when payments arrive and
 * when a sync stores an invoice id (the payment may have come first).
 *
 * @example
 * await settleInvoicePayments(ctx.pool, ctx, ['31'], now);
 */
export async function settleInvoicePayments(db: Queryable, ctx: AppContext, invoiceIds: readonly string[], now: Date): Promise<void> {
  if (invoiceIds.length === 0) return;
  for (const deal of await run(db, applyInvoicePayments(invoiceIds, now))) {
    await announcePaid(db, ctx, { dealId: deal.id, paid: deal.paid_amount, currency: deal.currency, paidOn: deal.paid_on, now });
  }
}

// One row per payment for the upsert (a statement may not touch a row twice): the newest report,
// deleted if any report deleted it.
function newestPerPayment(payments: readonly { event: StoredEvent; payment: MocoPaymentSignal }[]): MocoPaymentInput[] {
  const newest = new Map<string, MocoPaymentInput>();
  for (const { event, payment } of payments) {
    const row = { ...payment, reportedAt: new Date(event.occurredAt) };
    const seen = newest.get(payment.paymentId);
    const deleted = row.deleted || seen?.deleted === true;
    if (seen === undefined || row.reportedAt >= seen.reportedAt) newest.set(payment.paymentId, { ...row, deleted });
    else seen.deleted = deleted;
  }
  return [...newest.values()];
}
