import { createHash } from 'node:crypto';
import type { Pool } from '../../db/pool.ts';
import { run } from '../../db/pool.ts';
import {
  type InvalidDeliveryRow,
  insertInvalidDelivery,
  markInvalidDeliveryRetried,
  selectInvalidDeliveries,
  updateInvalidDeliveryReason,
} from '../../db/sql/invalid-deliveries.ts';
import type { IntakeWriter } from './intake-writer.ts';
import { type DeliverySource, readDelivery } from './read-delivery.ts';

export interface ParkedDelivery {
  source: string;
  /** The sender's delivery id from the verified signature, when it sends one. */
  deliveryId: string | null;
  receivedAt: Date;
  contentType: string | null;
  body: Uint8Array;
  reason: string;
  detail: string;
}

/**
 * Stores a correctly signed delivery Leadline cannot read, from a source set to `on_invalid: park`.
 * Its key is the one its events would have had, so a retry after a fix stores them exactly once.
 *
 * @example
 * await parkDelivery(pool, { source: 'rb2b', deliveryId: null, receivedAt, contentType, body, reason: 'invalid_payload', detail });
 */
export async function parkDelivery(pool: Pool, delivery: ParkedDelivery): Promise<string> {
  const deliveryKey = delivery.deliveryId ?? `sha256:${createHash('sha256').update(delivery.body).digest('hex')}`;
  const rows = await run(pool, insertInvalidDelivery({ ...delivery, deliveryKey }));
  return rows[0]!.id;
}

/** Parked deliveries waiting for an operator, oldest first. */
export async function listInvalidDeliveries(pool: Pool, limit = 100): Promise<InvalidDeliveryRow[]> {
  return run(pool, selectInvalidDeliveries(null, limit));
}

export interface RetryDeliveriesContext {
  pool: Pool;
  intake: IntakeWriter;
  sources: ReadonlyMap<string, DeliverySource>;
  now: () => Date;
}

/**
 * Reads parked deliveries again (all, or the ones named) with today's mappers: those that read now
 * go through intake like a new delivery; the others keep their place with the reason of this try.
 */
export async function retryInvalidDeliveries(
  ctx: RetryDeliveriesContext,
  ids: readonly string[] | null,
): Promise<{ stored: string[]; stillInvalid: { id: string; detail: string }[] }> {
  const stored: string[] = [];
  const stillInvalid: { id: string; detail: string }[] = [];
  for (const row of await run(ctx.pool, selectInvalidDeliveries(ids, 10_000))) {
    const source = ctx.sources.get(row.source);
    const read = source === undefined
      ? { ok: false as const, code: 'invalid_payload' as const, message: `source ${row.source} is no longer in the ruleset` }
      : readDelivery(source, row.body, {
          receivedAt: row.received_at,
          headers: { get: (name) => (name.toLowerCase() === 'content-type' ? row.content_type : null) },
          deliveryId: row.delivery_key,
        });
    if (!read.ok) {
      await run(ctx.pool, updateInvalidDeliveryReason(row.id, read.code, read.message));
      stillInvalid.push({ id: row.id, detail: read.message });
      continue;
    }
    await ctx.intake.write(read.items);
    await run(ctx.pool, markInvalidDeliveryRetried(row.id, ctx.now()));
    stored.push(row.id);
  }
  return { stored, stillInvalid };
}
