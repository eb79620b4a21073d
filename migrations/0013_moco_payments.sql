-- Payments MOCO reports (`Invoice::Payment` webhooks), one row per MOCO payment. A payment names
-- only its invoice, and MOCO delivers out of order, so a payment may arrive before Leadline has
-- stored the invoice's id on a deal: it waits here and is applied when the id is stored. A deal's
-- paid amount is the sum of its invoice's payments that MOCO has not deleted.
CREATE TABLE moco_payments (
  payment_id bigint PRIMARY KEY,
  invoice_id bigint NOT NULL,
  amount numeric NOT NULL,
  currency text,
  paid_on date,
  -- Sticky: a delete that arrives before the create still wins.
  deleted boolean NOT NULL DEFAULT false,
  -- When MOCO says the change happened: an older report never overwrites a newer one.
  reported_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX moco_payments_invoice_idx ON moco_payments (invoice_id);
