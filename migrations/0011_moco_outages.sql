-- MOCO outages as every Leadline process sees them: consecutive failed syncs, and while the breaker
-- is open no process calls MOCO until `retry_at`. The admins are told once per outage.
CREATE TABLE moco_outages (
  account text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  opened_at timestamptz,
  retry_at timestamptz,
  announced_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
