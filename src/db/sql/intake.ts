import type { Sql } from '../pool.ts';

export interface IntakeRowInput {
  id: string;
  source: string;
  externalId: string;
  scheme: string;
  receivedAt: Date;
  payload: unknown;
  event: unknown;
  eventType: string;
  occurredAt: string;
}

/** Multi-row insert of intake rows; rows whose (source, external_id) already exists are skipped. */
export function insertIntakeRows(rows: readonly IntakeRowInput[]): Sql {
  return {
    text: `INSERT INTO intake_events (id, source, external_id, scheme, received_at, payload, event, event_type, occurred_at)
      SELECT u.id, u.source, u.external_id, u.scheme, u.received_at, u.payload::jsonb, u.event::jsonb, u.event_type, u.occurred_at
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
        AS u(id, source, external_id, scheme, received_at, payload, event, event_type, occurred_at)
      ON CONFLICT (source, external_id) DO NOTHING
      RETURNING id, source, external_id`,
    values: [
      rows.map((r) => r.id),
      rows.map((r) => r.source),
      rows.map((r) => r.externalId),
      rows.map((r) => r.scheme),
      rows.map((r) => r.receivedAt),
      rows.map((r) => JSON.stringify(r.payload)),
      rows.map((r) => JSON.stringify(r.event)),
      rows.map((r) => r.eventType),
      rows.map((r) => r.occurredAt),
    ],
  };
}

/** The stored ids of already-known (source, external_id) keys. */
export function selectIntakeIds(keys: readonly { source: string; externalId: string }[]): Sql {
  return {
    text: `SELECT e.id, e.source, e.external_id
      FROM unnest($1::text[], $2::text[]) AS k(source, external_id)
      JOIN intake_events e ON e.source = k.source AND e.external_id = k.external_id`,
    values: [keys.map((k) => k.source), keys.map((k) => k.externalId)],
  };
}
