-- Deals that close: won or lost with when, by whom, for how much and in which currency, the line
-- items of the offer a won deal becomes, and what MOCO reports back (the offer accepted, the
-- invoice paid). The MOCO ids a sync learns are stored with the record they belong to, in the
-- step that learns them, so a retried sync finds them instead of creating a second record.

ALTER TABLE deals
  ADD COLUMN currency text,
  ADD COLUMN closed_by text,
  ADD COLUMN line_items jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN offer_accepted_at timestamptz,
  ADD COLUMN paid_amount numeric,
  ADD COLUMN paid_at timestamptz,
  ADD COLUMN moco_deal_id bigint,
  ADD COLUMN moco_offer_id bigint,
  ADD COLUMN moco_invoice_id bigint;

-- The digest and the Home tab sum deals won in a window.
CREATE INDEX deals_closed_at_idx ON deals (closed_at) WHERE status <> 'open';
-- MOCO webhooks name MOCO's ids; each finds our deal by them.
CREATE UNIQUE INDEX deals_moco_deal_idx ON deals (moco_deal_id) WHERE moco_deal_id IS NOT NULL;
CREATE INDEX deals_moco_offer_idx ON deals (moco_offer_id) WHERE moco_offer_id IS NOT NULL;
CREATE INDEX deals_moco_invoice_idx ON deals (moco_invoice_id) WHERE moco_invoice_id IS NOT NULL;

ALTER TABLE organizations ADD COLUMN moco_company_id bigint;
ALTER TABLE leads ADD COLUMN moco_person_id bigint;
