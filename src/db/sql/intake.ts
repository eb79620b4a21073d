import type { JobInsertCtes } from '../boss-insert.ts';
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

/** The nine column arrays ($1–$9) both intake inserts unnest. */
function intakeRowValues(rows: readonly IntakeRowInput[]): unknown[][] {
  return [
    rows.map((r) => r.id),
    rows.map((r) => r.source),
    rows.map((r) => r.externalId),
    rows.map((r) => r.scheme),
    rows.map((r) => r.receivedAt),
    rows.map((r) => JSON.stringify(r.payload)),
    rows.map((r) => JSON.stringify(r.event)),
    rows.map((r) => r.eventType),
    rows.map((r) => r.occurredAt),
  ];
}

/** Multi-row insert of intake rows; rows whose (source, external_id) already exists are skipped. */
export function insertIntakeRows(rows: readonly IntakeRowInput[]): Sql<{ id: string }> {
  return {
    text: `INSERT INTO intake_events (id, source, external_id, scheme, received_at, payload, event, event_type, occurred_at)
      SELECT u.id, u.source, u.external_id, u.scheme, u.received_at, u.payload::jsonb, u.event::jsonb, u.event_type, u.occurred_at
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
        AS u(id, source, external_id, scheme, received_at, payload, event, event_type, occurred_at)
      ON CONFLICT (source, external_id) DO NOTHING
      RETURNING id, source, external_id`,
    values: intakeRowValues(rows),
  };
}

/** The stored ids of already-known (source, external_id) keys. */
export function selectIntakeIds(
  keys: readonly { source: string; externalId: string }[],
): Sql<{ id: string; source: string; external_id: string }> {
  return {
    text: `SELECT e.id, e.source, e.external_id
      FROM unnest($1::text[], $2::text[]) AS k(source, external_id)
      JOIN intake_events e ON e.source = k.source AND e.external_id = k.external_id`,
    values: [keys.map((k) => k.source), keys.map((k) => k.externalId)],
  };
}

/**
 * One statement, so one round trip and one implicit transaction: the intake rows (skipping known
 * keys), a job per inserted row in its lane's queue (`lanes[row.lane]`, from `jobInsertCtes`), and
 * the ids of keys that were already stored when the statement began. A key a concurrent commit
 * stored after that is in neither list; `selectIntakeIds` finds it after this commits. Built once
 * per writer (null when a lane's job insert cannot be reshaped); the text never varies with rows.
 */
export function intakeCommitStatement(
  lanes: readonly ((jobsJson: string) => JobInsertCtes | null)[],
): ((rows: readonly (IntakeRowInput & { lane: number })[]) => Sql) | null {
  const ctes: string[] = [];
  const gates: string[] = [];
  for (const [lane, reshape] of lanes.entries()) {
    const jobs = reshape(
      `SELECT coalesce(json_agg(json_build_object('id', s.id, 'data', json_build_object('eventId', s.id))), '[]'::json)
       FROM stored s JOIN input i ON i.id = s.id WHERE i.lane = ${lane}`,
    );
    if (jobs === null) return null;
    ctes.push(jobs.ctes);
    gates.push(jobs.gate);
  }
  const text = `WITH input AS (
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::int[])
          AS u(id, source, external_id, scheme, received_at, payload, event, event_type, occurred_at, lane)
      ),
      stored AS (
        INSERT INTO intake_events (id, source, external_id, scheme, received_at, payload, event, event_type, occurred_at)
        SELECT id, source, external_id, scheme, received_at, payload::jsonb, event::jsonb, event_type, occurred_at FROM input
        ON CONFLICT (source, external_id) DO NOTHING
        RETURNING id
      )${ctes.map((cte) => `,\n      ${cte}`).join('')}
      SELECT s.id, true AS inserted, NULL::text AS source, NULL::text AS external_id FROM stored s
      WHERE ${gates.join(' AND ') || 'true'}
      UNION ALL
      SELECT e.id, false, e.source, e.external_id
      FROM input i JOIN intake_events e ON e.source = i.source AND e.external_id = i.external_id`;
  return (rows) => ({
    text,
    values: [...intakeRowValues(rows), rows.map((r) => r.lane)],
  });
}
