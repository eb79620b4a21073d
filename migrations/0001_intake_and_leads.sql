-- Leadline's first schema: durable intake, leads with their identifiers, score rows and intent signals.

-- Every ruleset a process has run with, so any decision's `ruleset_version` can be read back later.
CREATE TABLE rulesets (
  version text PRIMARY KEY,
  body text NOT NULL,
  first_loaded_at timestamptz NOT NULL DEFAULT now()
);

-- One row per Leadline event accepted from a sender. (source, external_id) is the sender's
-- idempotency key: a repeated delivery finds its original row instead of adding one.
CREATE TABLE intake_events (
  id uuid PRIMARY KEY,
  source text NOT NULL,
  external_id text NOT NULL,
  scheme text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  payload jsonb NOT NULL,
  event jsonb NOT NULL,
  event_type text NOT NULL,
  occurred_at timestamptz NOT NULL,
  lead_id bigint,
  processed_at timestamptz,
  CONSTRAINT intake_events_source_external_id_key UNIQUE (source, external_id)
);
CREATE INDEX intake_events_unprocessed_idx ON intake_events (received_at) WHERE processed_at IS NULL;
CREATE INDEX intake_events_lead_idx ON intake_events (lead_id, occurred_at DESC) WHERE lead_id IS NOT NULL;

CREATE TABLE organizations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain text NOT NULL UNIQUE,
  name text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE leads (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text UNIQUE,
  first_name text,
  last_name text,
  full_name text,
  company text,
  title text,
  phone text,
  country text,
  region text,
  website text,
  organization_id bigint REFERENCES organizations (id),
  score integer NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
  grade text NOT NULL DEFAULT 'F' CHECK (grade IN ('A', 'B', 'C', 'D', 'F')),
  thresholds text[] NOT NULL DEFAULT '{}',
  -- Earliest expiry among the lead's active positive points: the decay job's wake-up time.
  score_expires_at timestamptz,
  primary_intent text,
  intent_confidence integer NOT NULL DEFAULT 0 CHECK (intent_confidence BETWEEN 0 AND 100),
  intent_weights jsonb NOT NULL DEFAULT '{}',
  -- Until when any intent signal still carries weight: the decay job revisits the lead till then.
  signals_active_until timestamptz,
  first_touch_source text,
  first_touch_campaign text,
  first_touch_at timestamptz,
  last_touch_source text,
  last_touch_campaign text,
  last_touch_at timestamptz,
  last_activity_at timestamptz,
  ruleset_version text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX leads_score_expires_at_idx ON leads (score_expires_at) WHERE score_expires_at IS NOT NULL;
CREATE INDEX leads_signals_active_until_idx ON leads (signals_active_until) WHERE signals_active_until IS NOT NULL;
CREATE INDEX leads_organization_idx ON leads (organization_id);

-- Find-or-create looks leads up here; kinds are a fixed allowlist so no identifier is built from input.
CREATE TABLE lead_identifiers (
  kind text NOT NULL CHECK (kind IN ('email', 'hubspot_id', 'lemlist_id', 'linkedin_url', 'calendly_invitee',
    'typeform_respondent', 'moco_contact_id', 'crm_id', 'anonymous_id')),
  value text NOT NULL,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, value)
);
CREATE INDEX lead_identifiers_lead_idx ON lead_identifiers (lead_id);

-- At most one row per (event, rule): a replayed or duplicated event never adds points twice.
CREATE TABLE score_rows (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  event_id uuid NOT NULL,
  rule_id text NOT NULL,
  category text NOT NULL,
  points integer NOT NULL,
  occurred_at timestamptz NOT NULL,
  day_key date NOT NULL,
  expires_at timestamptz,
  ruleset_version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT score_rows_event_rule_key UNIQUE (event_id, rule_id)
);
CREATE INDEX score_rows_lead_idx ON score_rows (lead_id, rule_id);

CREATE TABLE signals (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  event_id uuid NOT NULL,
  rule_id text NOT NULL,
  intent text NOT NULL,
  signal text NOT NULL,
  weight double precision NOT NULL CHECK (weight > 0),
  tier text NOT NULL CHECK (tier IN ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW')),
  occurred_at timestamptz NOT NULL,
  decay_hours double precision NOT NULL CHECK (decay_hours > 0),
  ruleset_version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT signals_event_rule_key UNIQUE (event_id, rule_id)
);
CREATE INDEX signals_lead_idx ON signals (lead_id, occurred_at);

-- What the engine decided about a lead (threshold crossings, grade and intent changes, critical
-- signals), with the ruleset version that decided it. Routing, automation and Slack read these.
CREATE TABLE lead_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  kind text NOT NULL,
  detail jsonb NOT NULL,
  event_id uuid,
  ruleset_version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_changes_lead_idx ON lead_changes (lead_id, created_at);

-- One row per scheduled time slot per job: several processes firing the same cron tick enqueue once.
CREATE TABLE job_slots (
  job text NOT NULL,
  slot text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job, slot)
);
