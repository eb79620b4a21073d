import type { IdentityKey } from '../../engine/identity.ts';
import type { Sql } from '../pool.ts';

/**
 * Serialises find-or-create per identity: two workers seeing the same new email wait for each
 * other, so one lead is created. Keys are locked in ascending order to avoid deadlocks.
 */
export function lockIdentityKeys(keys: readonly IdentityKey[]): Sql {
  return {
    text: `SELECT count(*) FROM (
        SELECT pg_advisory_xact_lock(h) FROM (
          SELECT DISTINCT hashtextextended(u.kind || ':' || u.value, 7) AS h
          FROM unnest($1::text[], $2::text[]) AS u(kind, value)
        ) hashes ORDER BY h
      ) locked`,
    values: [keys.map((k) => k.kind), keys.map((k) => k.value)],
  };
}

export function selectLeadIdsByKeys(keys: readonly IdentityKey[]): Sql<{ kind: string; value: string; lead_id: number }> {
  return {
    text: `SELECT i.kind, i.value, i.lead_id
      FROM unnest($1::text[], $2::text[]) AS u(kind, value)
      JOIN lead_identifiers i ON i.kind = u.kind AND i.value = u.value`,
    values: [keys.map((k) => k.kind), keys.map((k) => k.value)],
  };
}

/** Reserves `count` lead ids, so new leads can be inserted in one statement with known ids. */
export function reserveLeadIds(count: number): Sql<{ id: number }> {
  return {
    text: `SELECT nextval(pg_get_serial_sequence('leads', 'id'))::bigint AS id FROM generate_series(1, $1::int)`,
    values: [count],
  };
}

export function insertIdentifiers(rows: readonly { kind: string; value: string; leadId: number }[]): Sql {
  return {
    text: `INSERT INTO lead_identifiers (kind, value, lead_id)
      SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
      ON CONFLICT (kind, value) DO NOTHING`,
    values: [rows.map((r) => r.kind), rows.map((r) => r.value), rows.map((r) => r.leadId)],
  };
}

/** Creates organizations for company email domains and links leads that have none yet. */
export function linkOrganizations(rows: readonly { leadId: number; domain: string }[]): Sql {
  return {
    text: `WITH input AS (
        SELECT * FROM unnest($1::bigint[], $2::text[]) AS u(lead_id, domain)
      ), created AS (
        INSERT INTO organizations (domain)
        SELECT DISTINCT domain FROM input
        ON CONFLICT (domain) DO NOTHING
        RETURNING id, domain
      ), orgs AS (
        SELECT id, domain FROM created
        UNION ALL
        SELECT o.id, o.domain FROM organizations o JOIN (SELECT DISTINCT domain FROM input) d ON d.domain = o.domain
      )
      UPDATE leads l SET organization_id = orgs.id
      FROM input JOIN orgs ON orgs.domain = input.domain
      WHERE l.id = input.lead_id AND l.organization_id IS NULL`,
    values: [rows.map((r) => r.leadId), rows.map((r) => r.domain)],
  };
}
