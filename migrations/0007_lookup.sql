-- `/lead` in Slack: fuzzy lookup by name, company and email; notes on leads; erasure on request;
-- indexes behind `/lead top`, `/lead pool`, the Home tab and the daily digest.
--
-- Lookups go exact first (email through leads_email_key, company domain through
-- organizations_domain_key), then trigram similarity (`%`, `<%`) through the GIN indexes below.
-- Queries must repeat the indexed expressions exactly (see src/db/sql/lookup.ts).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The display name people type: full name, else "first last", else whichever part exists.
CREATE INDEX leads_name_trgm_idx ON leads
  USING gin (lower(coalesce(full_name, first_name || ' ' || last_name, first_name, last_name)) gin_trgm_ops);
CREATE INDEX leads_company_trgm_idx ON leads USING gin (lower(company) gin_trgm_ops);
-- Emails are stored lowercased (engine/identity normalizeEmail), so no lower() here.
CREATE INDEX leads_email_trgm_idx ON leads USING gin (email gin_trgm_ops);

-- Set when a lead's personal data was erased (`/lead forget`). The row stays, anonymized, so counts
-- and score totals still add up; lookups and lists skip it.
ALTER TABLE leads ADD COLUMN erased_at timestamptz;

-- `/lead top` and the Home tab's hot leads: hottest unclaimed first, without sorting a million rows.
CREATE INDEX leads_unclaimed_score_idx ON leads (score DESC, id)
  WHERE claimed_at IS NULL AND disqualified_at IS NULL AND erased_at IS NULL AND status <> 'archived';
-- `/lead pool`: hottest leads still waiting for routing.
CREATE INDEX leads_pool_score_idx ON leads (score DESC, id) WHERE status = 'pool' AND erased_at IS NULL;
-- The daily digest counts new leads and hot crossings per day.
CREATE INDEX leads_created_at_idx ON leads (created_at);
CREATE INDEX lead_changes_threshold_idx ON lead_changes (created_at) WHERE kind = 'threshold_crossed';

-- Free-text notes people add to a lead from Slack.
CREATE TABLE lead_notes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  author_slack_user text NOT NULL,
  text text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 2000),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_notes_lead_idx ON lead_notes (lead_id, created_at DESC);

-- Availability: `/lead away [until]` and `/lead back` write team_presence.away_until (0004), which
-- assignment already honours; no new table.
