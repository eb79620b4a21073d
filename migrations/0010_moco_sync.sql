-- Syncs to MOCO: each request (a won deal, or a rule's sync_moco) records how far it got and why it
-- stopped, so the deals channel and the admins can see it and a retry starts where it stopped.
ALTER TABLE moco_sync_requests
  ADD COLUMN attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN last_error text,
  ADD COLUMN synced_at timestamptz,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX moco_sync_requests_open_idx ON moco_sync_requests (created_at) WHERE state <> 'synced';

-- A lead without an organisation (a free-mail address) keeps its MOCO company on the lead.
ALTER TABLE leads ADD COLUMN moco_company_id bigint;
