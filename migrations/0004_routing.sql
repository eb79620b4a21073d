-- Routing: pipelines' deals, fair assignment ledgers, routing conflicts, automation actions,
-- tasks and upkeep findings.

ALTER TABLE leads
  ADD COLUMN status text NOT NULL DEFAULT 'pool' CHECK (status IN ('pool', 'routed', 'conflict', 'archived')),
  ADD COLUMN owner_member_id text,
  ADD COLUMN routed_at timestamptz;
CREATE INDEX leads_status_idx ON leads (status);
CREATE INDEX leads_owner_idx ON leads (owner_member_id) WHERE owner_member_id IS NOT NULL;

-- What Slack and Leadline know about each team member's availability (members come from the ruleset).
CREATE TABLE team_presence (
  member_id text PRIMARY KEY,
  slack_user_id text UNIQUE,
  status_emoji text,
  status_text text,
  status_expires_at timestamptz,
  away_until timestamptz,
  deactivated boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deals (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  pipeline_id text NOT NULL,
  stage_id text NOT NULL,
  owner_member_id text,
  owner_queue text,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
  value numeric,
  priority text,
  next_step text,
  lost_reason text,
  routing_reasons jsonb NOT NULL DEFAULT '{}',
  ruleset_version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  stage_entered_at timestamptz NOT NULL DEFAULT now(),
  last_activity_at timestamptz,
  closed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- At most one open deal per lead and pipeline.
CREATE UNIQUE INDEX deals_one_open_per_pipeline_idx ON deals (lead_id, pipeline_id) WHERE status = 'open';
CREATE INDEX deals_owner_open_idx ON deals (owner_member_id) WHERE status = 'open';
CREATE INDEX deals_stage_entered_idx ON deals (stage_entered_at) WHERE status = 'open';

CREATE TABLE deal_stage_history (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  deal_id bigint NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
  from_stage text,
  to_stage text NOT NULL,
  entered_at timestamptz NOT NULL,
  cause text NOT NULL
);
CREATE INDEX deal_stage_history_deal_idx ON deal_stage_history (deal_id, entered_at);

-- The rotation's memory per pipeline: what each member received against their share. Locked per
-- pipeline while assigning, so concurrent workers never hand out the same turn twice.
CREATE TABLE assignment_ledgers (
  pipeline_id text PRIMARY KEY,
  seq bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE assignment_ledger_rows (
  pipeline_id text NOT NULL REFERENCES assignment_ledgers (pipeline_id) ON DELETE CASCADE,
  member_id text NOT NULL,
  received integer NOT NULL DEFAULT 0,
  deficit double precision NOT NULL DEFAULT 0,
  present boolean NOT NULL DEFAULT true,
  last_assigned_seq bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline_id, member_id)
);

-- Why each owner was chosen and why every other candidate was skipped.
CREATE TABLE assignments (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  deal_id bigint REFERENCES deals (id) ON DELETE CASCADE,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  pipeline_id text NOT NULL,
  outcome_kind text NOT NULL,
  member_id text,
  queue text,
  strategy text NOT NULL,
  candidates jsonb NOT NULL,
  explanation text[] NOT NULL,
  cause text NOT NULL,
  ruleset_version text NOT NULL,
  seq bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignments_lead_idx ON assignments (lead_id, created_at);
CREATE INDEX assignments_member_idx ON assignments (member_id, created_at);

-- Every routing decision with its reasons (score, confidences, rule, ruleset version).
CREATE TABLE routing_decisions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('route', 'conflict', 'pool', 'keep')),
  pipeline_id text,
  cause text,
  reasons jsonb NOT NULL,
  explanation text[] NOT NULL,
  ruleset_version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routing_decisions_lead_idx ON routing_decisions (lead_id, created_at);

CREATE TABLE routing_conflicts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  conflict_key text NOT NULL,
  cause text NOT NULL,
  candidates jsonb NOT NULL,
  reasons jsonb NOT NULL,
  ruleset_version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz,
  resolved_by text,
  resolution text
);
-- One open conflict per lead; a newer ambiguity updates it.
CREATE UNIQUE INDEX routing_conflicts_open_idx ON routing_conflicts (lead_id) WHERE resolved_at IS NULL;

-- Automation: one row per planned action, keyed by (rule, lead, trigger occurrence, action index),
-- so a retried job repeats nothing.
CREATE TABLE automation_actions (
  idempotency_key text NOT NULL,
  action_index integer NOT NULL,
  rule_id text NOT NULL,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  deal_id bigint REFERENCES deals (id) ON DELETE SET NULL,
  trigger_type text NOT NULL,
  trigger_instance_id text NOT NULL,
  action jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'skipped')),
  result jsonb,
  error text,
  ruleset_version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  done_at timestamptz,
  PRIMARY KEY (idempotency_key, action_index)
);
CREATE INDEX automation_actions_lead_idx ON automation_actions (lead_id, created_at);

CREATE TABLE tasks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  deal_id bigint REFERENCES deals (id) ON DELETE SET NULL,
  title text NOT NULL,
  assignee_member_id text,
  due_at timestamptz,
  source_key text UNIQUE,
  done_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Won deals and contacts waiting to be synced to MOCO.
CREATE TABLE moco_sync_requests (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_key text NOT NULL UNIQUE,
  entity text NOT NULL CHECK (entity IN ('deal', 'contact')),
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  deal_id bigint REFERENCES deals (id) ON DELETE SET NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'synced', 'failed')),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Scheduled upkeep findings (stalled deals, stale leads, ghost risk, integrity problems), one row per
-- occurrence key, so a finding is reported once and its resolution is visible.
CREATE TABLE upkeep_findings (
  key text PRIMARY KEY,
  kind text NOT NULL,
  severity text NOT NULL,
  lead_id bigint REFERENCES leads (id) ON DELETE CASCADE,
  deal_id bigint REFERENCES deals (id) ON DELETE CASCADE,
  detail jsonb NOT NULL,
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  resolved_at timestamptz
);
CREATE INDEX upkeep_findings_open_idx ON upkeep_findings (kind) WHERE resolved_at IS NULL;
