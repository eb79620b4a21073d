-- Dead letters an admin discarded (App Home, `npm run deadletters -- discard`): the row stays for the
-- record, but is no longer listed or retried. A row that fails again later (new content for a Slack
-- key, an event parked again) is a new dead letter and clears its mark.
ALTER TABLE slack_outbox ADD COLUMN discarded_at timestamptz;
ALTER TABLE moco_sync_requests ADD COLUMN discarded_at timestamptz;
ALTER TABLE parked_events ADD COLUMN discarded_at timestamptz;
ALTER TABLE invalid_deliveries ADD COLUMN discarded_at timestamptz;

-- pg-boss owns its job table, so a discarded failed job is recorded here by id; pg-boss's own
-- retention deletes the job later, and the discard is then only history.
CREATE TABLE discarded_jobs (
  job_id uuid PRIMARY KEY,
  queue text NOT NULL,
  discarded_at timestamptz NOT NULL
);
