import type { Sql } from '../pool.ts';

/**
 * Gives `account` exactly `limit` rate slots: adds the missing ones unused, drops those above the
 * limit (after a plan downgrade or a lower MOCO_RATE_LIMIT).
 *
 * @example
 * await run(pool, ensureMocoSlots('acme.mocoapp.com', 120));
 */
export function ensureMocoSlots(account: string, limit: number): Sql {
  return {
    text: `WITH dropped AS (DELETE FROM moco_rate_slots WHERE account = $1 AND slot > $2)
      INSERT INTO moco_rate_slots (account, slot)
      SELECT $1, g FROM generate_series(1, $2::int) AS g
      ON CONFLICT (account, slot) DO NOTHING`,
    values: [account, limit],
  };
}

export interface MocoSlotRow {
  /** The slot taken, null when every slot served a request after `windowStart`. */
  slot: number | null;
  /** The earliest last use among busy slots: that slot frees one window later. */
  oldest_busy: Date | null;
  slots: number;
}

/**
 * Takes one request slot in one statement: the least recently used slot whose last use is at or
 * before `windowStart`, stamped `now`. Concurrent takers skip each other's locked rows, and a row
 * another taker stamped meanwhile fails the re-check, so no slot serves twice within a window.
 *
 * @example
 * const [row] = await run(pool, takeMocoSlot('acme.mocoapp.com', now, new Date(now.getTime() - 120_000)));
 * if (row?.slot == null) console.log('full until', row?.oldest_busy);
 */
export function takeMocoSlot(account: string, now: Date, windowStart: Date): Sql<MocoSlotRow> {
  return {
    text: `WITH free AS (
        SELECT slot FROM moco_rate_slots
        WHERE account = $1 AND taken_at <= $3
        ORDER BY taken_at, slot
        LIMIT 1
        FOR UPDATE SKIP LOCKED
      ), taken AS (
        UPDATE moco_rate_slots s SET taken_at = $2
        FROM free WHERE s.account = $1 AND s.slot = free.slot
        RETURNING s.slot
      )
      SELECT (SELECT slot FROM taken) AS slot,
        (SELECT min(taken_at) FROM moco_rate_slots WHERE account = $1 AND taken_at > $3) AS oldest_busy,
        (SELECT count(*)::int FROM moco_rate_slots WHERE account = $1) AS slots`,
    values: [account, now, windowStart],
  };
}

