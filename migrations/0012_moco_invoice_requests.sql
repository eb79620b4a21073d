-- "Create invoice" on a synced won deal asks MOCO for the invoice later: a sync request of its own.
ALTER TABLE moco_sync_requests DROP CONSTRAINT moco_sync_requests_entity_check;
ALTER TABLE moco_sync_requests ADD CONSTRAINT moco_sync_requests_entity_check
  CHECK (entity IN ('deal', 'contact', 'invoice'));
