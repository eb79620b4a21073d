-- Correctly signed deliveries Leadline could not read, from sources set to `on_invalid: park`
-- (senders that switch an integration off after one 4xx). Kept as received, bytes and all, so an
-- operator can see what arrived and send it through intake again once the mapping is fixed.
CREATE TABLE invalid_deliveries (
  id bigserial PRIMARY KEY,
  source text NOT NULL,
  -- The sender's delivery id, else a hash of the body: a re-sent delivery is stored once.
  delivery_key text NOT NULL,
  received_at timestamptz NOT NULL,
  content_type text,
  body bytea NOT NULL,
  reason text NOT NULL,
  detail text NOT NULL,
  attempts integer NOT NULL DEFAULT 1,
  retried_at timestamptz,
  UNIQUE (source, delivery_key)
);
CREATE INDEX invalid_deliveries_open_idx ON invalid_deliveries (received_at) WHERE retried_at IS NULL;
