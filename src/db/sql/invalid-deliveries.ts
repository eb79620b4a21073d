import type { Sql } from '../pool.ts';

export interface InvalidDeliveryInput {
  source: string;
  deliveryKey: string;
  receivedAt: Date;
  contentType: string | null;
  body: Uint8Array;
  reason: string;
  detail: string;
}

/** Stores a delivery once per (source, delivery key); a re-send counts another attempt. */
export function insertInvalidDelivery(input: InvalidDeliveryInput): Sql<{ id: string }> {
  return {
    text: `INSERT INTO invalid_deliveries (source, delivery_key, received_at, content_type, body, reason, detail)
      VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (source, delivery_key) DO UPDATE SET attempts = invalid_deliveries.attempts + 1
      RETURNING id::text`,
    values: [input.source, input.deliveryKey, input.receivedAt, input.contentType, Buffer.from(input.body), input.reason, input.detail],
  };
}

export interface InvalidDeliveryRow {
  id: string;
  source: string;
  delivery_key: string;
  received_at: Date;
  content_type: string | null;
  body: Buffer;
  reason: string;
  detail: string;
  attempts: number;
}

/** Deliveries waiting for an operator, oldest first (all, or the ones named); discarded ones are done. */
export function selectInvalidDeliveries(ids: readonly string[] | null, limit: number): Sql<InvalidDeliveryRow> {
  return {
    text: `SELECT id::text, source, delivery_key, received_at, content_type, body, reason, detail, attempts
      FROM invalid_deliveries
      WHERE retried_at IS NULL AND discarded_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
      ORDER BY received_at, id LIMIT $2`,
    values: [ids, limit],
  };
}

/** A delivery that now reads: it went through intake. */
export function markInvalidDeliveryRetried(id: string, now: Date): Sql {
  return { text: `UPDATE invalid_deliveries SET retried_at = $2 WHERE id = $1`, values: [id, now] };
}

/** A delivery that still does not read: why, this time. */
export function updateInvalidDeliveryReason(id: string, reason: string, detail: string): Sql {
  return { text: `UPDATE invalid_deliveries SET reason = $2, detail = $3 WHERE id = $1`, values: [id, reason, detail] };
}
