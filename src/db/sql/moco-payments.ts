import type { MocoPaymentSignal } from '../../engine/deals.ts';
import type { Sql } from '../pool.ts';

/** A payment as MOCO reported it, and when MOCO says it changed, for `upsertMocoPayments`. */
export type MocoPaymentInput = MocoPaymentSignal & { reportedAt: Date };

/**
 * Stores MOCO's payments, one row per payment: a report older than the stored one changes nothing
 * (MOCO delivers out of order) and a delete stays deleted. Returns the invoices whose payments changed.
 */
export function upsertMocoPayments(payments: readonly MocoPaymentInput[], now: Date): Sql<{ invoice_id: string }> {
  return {
    text: `INSERT INTO moco_payments AS p (payment_id, invoice_id, amount, currency, paid_on, deleted, reported_at, received_at, updated_at)
      SELECT u.payment_id, u.invoice_id, u.amount, u.currency, u.paid_on, u.deleted, u.reported_at, $8, $8
      FROM unnest($1::bigint[], $2::bigint[], $3::numeric[], $4::text[], $5::date[], $6::boolean[], $7::timestamptz[])
        AS u(payment_id, invoice_id, amount, currency, paid_on, deleted, reported_at)
      ON CONFLICT (payment_id) DO UPDATE SET
        invoice_id = CASE WHEN EXCLUDED.reported_at >= p.reported_at THEN EXCLUDED.invoice_id ELSE p.invoice_id END,
        amount = CASE WHEN EXCLUDED.reported_at >= p.reported_at THEN EXCLUDED.amount ELSE p.amount END,
        currency = CASE WHEN EXCLUDED.reported_at >= p.reported_at THEN EXCLUDED.currency ELSE p.currency END,
        paid_on = CASE WHEN EXCLUDED.reported_at >= p.reported_at THEN EXCLUDED.paid_on ELSE p.paid_on END,
        deleted = p.deleted OR EXCLUDED.deleted,
        reported_at = GREATEST(p.reported_at, EXCLUDED.reported_at),
        updated_at = $8
      WHERE EXCLUDED.deleted AND NOT p.deleted
        OR EXCLUDED.reported_at >= p.reported_at
          AND (p.invoice_id, p.amount, p.currency, p.paid_on) IS DISTINCT FROM
            (EXCLUDED.invoice_id, EXCLUDED.amount, EXCLUDED.currency, EXCLUDED.paid_on)
      RETURNING invoice_id::text`,
    values: [
      payments.map((p) => p.paymentId),
      payments.map((p) => p.invoiceId),
      payments.map((p) => p.amount),
      payments.map((p) => p.currency),
      payments.map((p) => p.paidOn),
      payments.map((p) => p.deleted),
      payments.map((p) => p.reportedAt),
      now,
    ],
  };
}

/** The deals (and their leads) that hold these MOCO invoices. */
export function selectInvoiceDeals(invoiceIds: readonly string[]): Sql<{ id: number; lead_id: number; invoice_id: string }> {
  return {
    text: `SELECT id, lead_id, moco_invoice_id::text AS invoice_id FROM deals WHERE moco_invoice_id = ANY($1::bigint[])`,
    values: [invoiceIds],
  };
}

/**
 * Sets each deal's paid amount to the sum of its invoice's payments (paid since the first one);
 * returns the deals whose amount changed, with the payments' currency and latest date.
 */
export function applyInvoicePayments(
  invoiceIds: readonly string[],
  now: Date,
): Sql<{ id: number; paid_amount: number; currency: string | null; paid_on: string | null }> {
  return {
    text: `WITH totals AS (
        SELECT invoice_id, COALESCE(sum(amount) FILTER (WHERE NOT deleted), 0) AS paid,
          max(currency) FILTER (WHERE NOT deleted) AS currency,
          to_char(max(paid_on) FILTER (WHERE NOT deleted), 'YYYY-MM-DD') AS paid_on
        FROM moco_payments WHERE invoice_id = ANY($1::bigint[]) GROUP BY invoice_id
      )
      UPDATE deals d SET paid_amount = t.paid, updated_at = $2,
        paid_at = CASE WHEN t.paid > 0 THEN COALESCE(d.paid_at, $2) END
      FROM totals t
      WHERE d.moco_invoice_id = t.invoice_id AND d.paid_amount IS DISTINCT FROM t.paid
      RETURNING d.id, d.paid_amount::float8 AS paid_amount, t.currency, t.paid_on`,
    values: [invoiceIds, now],
  };
}
