-- Every outbound Slack call goes through this outbox: written in the same transaction as the outcome
-- it reports, then delivered by the slack-delivery job, paced per channel, retried, dead-lettered.

CREATE TABLE slack_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The idempotency key (`alert:lead:42`, `sla-remind:lead:42:1`, `ephemeral:<uuid>`): one message per
  -- key; new content for a posted key becomes a chat.update of its stored ts.
  key text NOT NULL UNIQUE,
  kind text NOT NULL,
  lead_id bigint REFERENCES leads (id) ON DELETE SET NULL,
  -- Bot DMs are chat.postMessage with the user id as channel; Slack answers with the D… channel id,
  -- kept in posted_channel because chat.update needs it.
  method text NOT NULL CHECK (method IN ('chat.postMessage', 'chat.update', 'chat.postEphemeral',
    'views.publish', 'response_url')),
  -- The conversation (or, for DMs and views.publish, the user id) the message goes to; also the pacing key.
  channel text,
  response_url text,
  payload jsonb NOT NULL,
  ts text,
  posted_channel text,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
  -- Failed sends (5xx, network, timeout, Slack errors); rate-limited sends are counted apart.
  attempts integer NOT NULL DEFAULT 0,
  rate_limited integer NOT NULL DEFAULT 0,
  last_error text,
  -- When the next send may start. While a send is in flight it holds a lease (now + lease), so a
  -- crashed dispatcher's row comes due again by itself.
  next_attempt_at timestamptz NOT NULL,
  -- Bumped by every enqueue of new content; a send only marks the row sent if it is unchanged.
  version integer NOT NULL DEFAULT 1,
  sent_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT slack_outbox_target_check CHECK (
    CASE WHEN method = 'response_url' THEN response_url IS NOT NULL ELSE channel IS NOT NULL END
  )
);
-- The dispatcher's due scan, and the earliest due time it reports back to the job.
CREATE INDEX slack_outbox_due_idx ON slack_outbox (next_attempt_at, id) WHERE state = 'pending';
-- Admins list dead deliveries newest first.
CREATE INDEX slack_outbox_dead_idx ON slack_outbox (updated_at DESC, id) WHERE state = 'dead';
CREATE INDEX slack_outbox_lead_idx ON slack_outbox (lead_id) WHERE lead_id IS NOT NULL;

-- When the next post to a channel may go out (one per second, or later after a 429's Retry-After).
-- Keys are channel ids, or `method:<name>` for calls Slack limits per method rather than per channel.
CREATE TABLE slack_channel_pace (
  channel text PRIMARY KEY,
  next_allowed_at timestamptz NOT NULL
);
