-- Events whose processing fails on its own, whatever batch it is in: set aside with the error and
-- the ruleset version that failed on it, so the rest of the batch is processed and an operator can
-- retry the event after a fix. The event itself stays in intake_events, unprocessed.
CREATE TABLE parked_events (
  event_id uuid PRIMARY KEY REFERENCES intake_events (id) ON DELETE CASCADE,
  error text NOT NULL,
  ruleset_version text NOT NULL,
  attempts integer NOT NULL DEFAULT 1,
  parked_at timestamptz NOT NULL,
  retried_at timestamptz
);
CREATE INDEX parked_events_open_idx ON parked_events (parked_at) WHERE retried_at IS NULL;
