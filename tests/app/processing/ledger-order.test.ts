import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockLedgersInOrder } from '../../../src/app/processing/assignment.ts';
import { type PoolClient, withTransaction } from '../../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase, waitFor } from '../../support/db.ts';

// Routing locks a batch's ledgers sorted; automation may then assign in another pipeline. Across a
// whole transaction the ledgers must still be taken in one order, or two batches deadlock.
describe('assignment ledgers across one transaction', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query(`INSERT INTO assignment_ledgers (pipeline_id) VALUES ('b2b'), ('research')`);
  });
  afterAll(() => db.drop());

  // Another batch holding `pipeline`'s ledger until released.
  async function holder(pipeline: string) {
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await client.query('SELECT seq FROM assignment_ledgers WHERE pipeline_id = $1 FOR UPDATE', [pipeline]);
    return {
      client,
      lockAlso: (other: string) => client.query('SELECT seq FROM assignment_ledgers WHERE pipeline_id = $1 FOR UPDATE', [other]),
      end: async () => {
        await client.query('ROLLBACK');
        client.release();
      },
    };
  }
  const waitingOnLock = async (pid: number) =>
    (await db.pool.query(`SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, [pid])).rows[0]?.wait_event_type === 'Lock';

  it('fails at once instead of waiting for a ledger that sorts before one it holds', async () => {
    const other = await holder('b2b');
    let pid = 0;
    try {
      const settled = { done: false };
      const ours = withTransaction(db.pool, async (tx: PoolClient) => {
        pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await lockLedgersInOrder(tx, ['research']);
        await lockLedgersInOrder(tx, ['b2b']);
      }).finally(() => (settled.done = true));
      const outcome = ours.then(() => 'committed', (err: { code?: string }) => err.code);
      await waitFor(async () => (settled.done || (pid !== 0 && (await waitingOnLock(pid))) ? true : undefined), 20);
      // The other batch now wants `research`: had ours waited for b2b, this would be a deadlock.
      await other.lockAlso('research');
      expect(await outcome).toBe('55P03');
    } finally {
      await other.end();
    }
  });

  it('waits as usual for ledgers taken in order', async () => {
    const other = await holder('research');
    let pid = 0;
    const ours = withTransaction(db.pool, async (tx: PoolClient) => {
      pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await lockLedgersInOrder(tx, ['b2b']);
      return (await lockLedgersInOrder(tx, ['research'])).map((l) => l.pipeline_id);
    });
    await waitFor(async () => (pid !== 0 && (await waitingOnLock(pid)) ? true : undefined), 20);
    await other.end();
    expect(await ours).toEqual(['research']);
  });
});
