-- MOCO's request budget: 120 requests per two minutes per account (1,200 on the unlimited plan),
-- whichever Leadline process sends them, so the budget lives here rather than in each process.
--
-- A ring of slots, one row per request the window allows: a request takes a slot whose last use is
-- a full window ago (FOR UPDATE SKIP LOCKED, so concurrent takers get different slots) and stamps it.
-- No slot serves twice within a window, hence no window ever holds more requests than slots — a
-- sliding window, not a fixed one that would allow twice the limit across a boundary — and the
-- table never grows. The limiter keeps exactly `limit` slots per account (src/app/moco/rate-limit.ts).

CREATE TABLE moco_rate_slots (
  -- Which budget: one per MOCO account (its API host), so two accounts never share one.
  account text NOT NULL,
  slot integer NOT NULL CHECK (slot >= 1),
  -- When the slot last let a request through; -infinity for never.
  taken_at timestamptz NOT NULL DEFAULT '-infinity',
  PRIMARY KEY (account, slot)
);
