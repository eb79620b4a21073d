import type { LeadlineEvent } from '../../engine/event.ts';
import type { Sql } from '../pool.ts';

/**
 * Locks the batch's events that are still unprocessed. Under READ COMMITTED a row another worker
 * finished meanwhile is re-checked after the lock and drops out, so no event is applied twice.
 */
export function lockUnprocessedEvents(ids: readonly string[]): Sql<{ id: string; source: string; event: LeadlineEvent; received_at: Date }> {
  return {
    text: `SELECT id, source, event, received_at FROM intake_events
      WHERE id = ANY($1::uuid[]) AND processed_at IS NULL
      ORDER BY id
      FOR UPDATE`,
    values: [ids],
  };
}

/** Marks events applied, each with its lead (null for the few kinds that name no person). */
export function markEventsProcessed(rows: readonly { id: string; leadId: number | null }[], at: Date): Sql {
  return {
    text: `UPDATE intake_events e SET processed_at = $3, lead_id = u.lead_id
      FROM unnest($1::uuid[], $2::bigint[]) AS u(id, lead_id)
      WHERE e.id = u.id`,
    values: [rows.map((r) => r.id), rows.map((r) => r.leadId), at],
  };
}

/** Stores events Leadline itself raises (e.g. a decay run's threshold crossings) as intake rows. */
export function insertInternalEvents(
  rows: readonly {
    id: string;
    externalId: string;
    event: unknown;
    eventType: string;
    occurredAt: Date;
    leadId: number;
  }[],
): Sql<{ id: string }> {
  return {
    text: `INSERT INTO intake_events (id, source, external_id, scheme, payload, event, event_type, occurred_at, lead_id)
      SELECT u.id, 'leadline', u.external_id, 'internal', u.event::jsonb, u.event::jsonb, u.event_type, u.occurred_at, u.lead_id
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[])
        AS u(id, external_id, event, event_type, occurred_at, lead_id)
      ON CONFLICT (source, external_id) DO NOTHING
      RETURNING id`,
    values: [
      rows.map((r) => r.id),
      rows.map((r) => r.externalId),
      rows.map((r) => JSON.stringify(r.event)),
      rows.map((r) => r.eventType),
      rows.map((r) => r.occurredAt),
      rows.map((r) => r.leadId),
    ],
  };
}

export interface RecentEventRow {
  event_type: string;
  source: string;
  occurred_at: Date;
}

/**
 * The lead's latest events, newest first (intake_events_lead_idx). Ties on the time it happened
 * fall to the time it arrived and then the id, so every view of a lead lists them in one order.
 */
export function selectRecentEvents(leadId: number, limit: number): Sql<RecentEventRow> {
  return {
    text: `SELECT event_type, source, occurred_at FROM intake_events
      WHERE lead_id = $1 ORDER BY occurred_at DESC, received_at DESC, id DESC LIMIT $2`,
    values: [leadId, limit],
  };
}
