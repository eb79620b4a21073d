import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, withTransaction } from '../../src/db/pool.ts';
import { lockLead } from '../../src/db/sql/leads.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

// A Slack delivery run updates its outbox rows twice in one transaction; the second update checks
// the row's reference to its lead (FOR KEY SHARE). A `/lead assign` holding the lead must not block
// that check, or the two deadlock: the assign waits for the outbox rows the delivery run holds.
describe('the lead lock of a write outside processing', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('leaves rows that only reference the lead free to be updated and inserted', async () => {
    const { rows } = await db.pool.query<{ id: number }>(`INSERT INTO leads (email) VALUES ('ada@lab.example') RETURNING id`);
    const leadId = rows[0]!.id;
    await db.pool.query(
      `INSERT INTO slack_outbox (key, kind, lead_id, method, channel, payload, next_attempt_at)
       VALUES ('lock-test', 'alert', $1, 'chat.postMessage', 'C0HOT', '{}', now())`,
      [leadId],
    );
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const writer = withTransaction(db.pool, async (tx) => {
      expect(await run(tx, lockLead(leadId))).toHaveLength(1);
      locked();
      await holding;
    });
    await lockTaken;
    try {
      await withTransaction(db.pool, async (tx) => {
        // A wait here is the deadlock's first half: fail fast instead of hanging the test.
        await tx.query(`SET LOCAL lock_timeout = '5s'`);
        await tx.query(`SELECT id FROM slack_outbox WHERE key = 'lock-test' FOR UPDATE`);
        await tx.query(`UPDATE slack_outbox SET next_attempt_at = now() WHERE key = 'lock-test'`);
        await tx.query(`UPDATE slack_outbox SET attempts = attempts + 1 WHERE key = 'lock-test'`);
        await tx.query(`INSERT INTO lead_notes (lead_id, author_slack_user, text) VALUES ($1, 'U0ANNA001', 'a note') `, [leadId]);
      });
    } finally {
      release();
      await writer;
    }
    const { rows: outbox } = await db.pool.query(`SELECT attempts FROM slack_outbox WHERE key = 'lock-test'`);
    expect(outbox).toEqual([{ attempts: 1 }]);
  });
});
