-- When a chat.postMessage was last sent without Slack's answer being recorded (the process died,
-- the call timed out). Before posting such a row again, delivery looks for the earlier post in the
-- conversation (by the message metadata every post carries) and records it instead of posting twice.
ALTER TABLE slack_outbox ADD COLUMN post_attempted_at timestamptz;
