-- Slack-facing lead work: claims, snoozes, "not a fit", hot-lead alerts with their SLA clock,
-- routing-conflict messages, and an audit log of what people did.

ALTER TABLE leads
  ADD COLUMN claimed_by_slack_user text,
  ADD COLUMN claimed_by_member_id text,
  ADD COLUMN claimed_at timestamptz,
  ADD COLUMN disqualified_at timestamptz,
  ADD COLUMN disqualified_by text,
  ADD COLUMN disqualified_reason text;
CREATE INDEX leads_claimed_by_idx ON leads (claimed_by_member_id) WHERE claimed_by_member_id IS NOT NULL;

-- One alert per time a lead turns hot (or shows a CRITICAL signal) while no alert is open for it.
CREATE TABLE lead_alerts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  reason text NOT NULL CHECK (reason IN ('hot', 'critical_signal')),
  priority text NOT NULL CHECK (priority IN ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW')),
  state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'snoozed', 'claimed', 'disqualified', 'closed')),
  owner_member_id text,
  channel text NOT NULL,
  -- The slack_outbox key of the alert message: every change to the alert updates that message.
  outbox_key text NOT NULL UNIQUE,
  sla_due_at timestamptz NOT NULL,
  -- 0 nothing yet, 1 owner reminded, 2 escalated to managers, 3 reassigned.
  sla_step integer NOT NULL DEFAULT 0 CHECK (sla_step BETWEEN 0 AND 3),
  sla_next_at timestamptz,
  snoozed_until timestamptz,
  claimed_by_slack_user text,
  claimed_at timestamptz,
  ruleset_version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX lead_alerts_one_live_idx ON lead_alerts (lead_id) WHERE state IN ('open', 'snoozed');
CREATE INDEX lead_alerts_sla_idx ON lead_alerts (sla_next_at) WHERE state IN ('open', 'snoozed');

ALTER TABLE routing_conflicts ADD COLUMN outbox_key text;

-- Who did what to which lead, for people-facing actions (claims, snoozes, decisions, erasure).
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor text NOT NULL,
  action text NOT NULL,
  lead_id bigint,
  detail jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_lead_idx ON audit_log (lead_id, created_at);
