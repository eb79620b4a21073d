import type { Sql } from '../pool.ts';
import type { LineItem } from './deals.ts';
import type { LeadPersonColumns } from './leads.ts';

/** A sync request with everything it sends: the lead, its organisation and (for deals) the deal. */
export interface MocoSubjectRow extends LeadPersonColumns {
  request_id: number;
  entity: 'deal' | 'contact' | 'invoice';
  state: 'pending' | 'synced' | 'failed';
  lead_id: number;
  country: string | null;
  lead_moco_person_id: number | null;
  lead_moco_company_id: number | null;
  organization_id: number | null;
  organization_name: string | null;
  organization_domain: string | null;
  org_moco_company_id: number | null;
  deal_id: number | null;
  deal_status: string | null;
  pipeline_id: string | null;
  stage_id: string | null;
  owner_member_id: string | null;
  value: number | null;
  currency: string | null;
  closed_at: Date | null;
  line_items: LineItem[] | null;
  moco_deal_id: number | null;
  moco_offer_id: number | null;
  moco_invoice_id: number | null;
}

export function selectMocoSubject(requestId: number): Sql<MocoSubjectRow> {
  return {
    text: `SELECT r.id AS request_id, r.entity, r.state, l.id AS lead_id, l.email, l.first_name, l.last_name,
        l.full_name, l.company, l.title, l.country, l.moco_person_id AS lead_moco_person_id,
        l.moco_company_id AS lead_moco_company_id, o.id AS organization_id, o.name AS organization_name,
        o.domain AS organization_domain, o.moco_company_id AS org_moco_company_id,
        d.id AS deal_id, d.status AS deal_status, d.pipeline_id, d.stage_id, d.owner_member_id,
        d.value::float8 AS value, d.currency, d.closed_at, d.line_items, d.moco_deal_id, d.moco_offer_id,
        d.moco_invoice_id
      FROM moco_sync_requests r JOIN leads l ON l.id = r.lead_id
      LEFT JOIN organizations o ON o.id = l.organization_id
      LEFT JOIN deals d ON d.id = r.deal_id
      WHERE r.id = $1`,
    values: [requestId],
  };
}

/** Keeps the MOCO company on the organisation, else (free-mail leads) on the lead. */
export function storeMocoCompany(target: { organizationId: number | null; leadId: number }, companyId: number): Sql {
  return target.organizationId === null
    ? { text: 'UPDATE leads SET moco_company_id = $2 WHERE id = $1', values: [target.leadId, companyId] }
    : { text: 'UPDATE organizations SET moco_company_id = $2 WHERE id = $1', values: [target.organizationId, companyId] };
}

/**
 * Keeps the MOCO person on the lead and as its `moco_contact_id` identifier, so MOCO's webhooks
 * about that person (deals, offers) reach this lead instead of opening a new one.
 */
export function storeMocoPerson(leadId: number, personId: number): Sql {
  return {
    text: `WITH lead AS (UPDATE leads SET moco_person_id = $2 WHERE id = $1 RETURNING id)
      INSERT INTO lead_identifiers (kind, value, lead_id) SELECT 'moco_contact_id', $2::text, id FROM lead
      ON CONFLICT (kind, value) DO NOTHING`,
    values: [leadId, personId],
  };
}

/** Stores one MOCO id of a deal the moment MOCO returns it. */
export function storeMocoDealId(dealId: number, column: 'moco_deal_id' | 'moco_offer_id' | 'moco_invoice_id', mocoId: number): Sql {
  // The column comes from this closed list, never from input.
  const text = {
    moco_deal_id: 'UPDATE deals SET moco_deal_id = $2 WHERE id = $1',
    moco_offer_id: 'UPDATE deals SET moco_offer_id = $2 WHERE id = $1',
    moco_invoice_id: 'UPDATE deals SET moco_invoice_id = $2 WHERE id = $1',
  }[column];
  return { text, values: [dealId, mocoId] };
}

/** Records where a sync stands; `synced` sets when, any other state keeps the error. */
export function finishMocoSync(requestId: number, state: 'synced' | 'failed' | 'pending', error: string | null, now: Date): Sql {
  return {
    text: `UPDATE moco_sync_requests SET state = $2, last_error = $3, attempts = attempts + 1, updated_at = $4,
        synced_at = CASE WHEN $2 = 'synced' THEN $4 ELSE synced_at END
      WHERE id = $1`,
    values: [requestId, state, error, now],
  };
}

/** One sync per lead at a time, across processes: a session lock held while MOCO is called. */
export function tryLockMocoSync(leadId: number): Sql<{ locked: boolean }> {
  return { text: `SELECT pg_try_advisory_lock(hashtext('leadline:moco'), $1::int) AS locked`, values: [leadId] };
}

export function unlockMocoSync(leadId: number): Sql {
  return { text: `SELECT pg_advisory_unlock(hashtext('leadline:moco'), $1::int)`, values: [leadId] };
}

export interface OpenSyncRow {
  id: number;
  lead_id: number;
  deal_id: number | null;
  state: 'pending' | 'failed';
  last_error: string | null;
  attempts: number;
  created_at: Date;
  full_name: string | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  company: string | null;
}

/** MOCO syncs not done yet, failed first, then the oldest: what the admins' Home tab lists. */
export function selectOpenSyncs(limit: number): Sql<OpenSyncRow & { total: number }> {
  return {
    text: `SELECT r.id, r.lead_id, r.deal_id, r.state, r.last_error, r.attempts, r.created_at,
        l.full_name, l.first_name, l.last_name, l.email, l.company, count(*) OVER ()::int AS total
      FROM moco_sync_requests r JOIN leads l ON l.id = r.lead_id
      WHERE r.state <> 'synced' AND r.discarded_at IS NULL
      ORDER BY (r.state = 'failed') DESC, r.created_at, r.id LIMIT $1`,
    values: [limit],
  };
}

/** A failed sync asked for again (not one an admin discarded): pending, its error kept until the next attempt. */
export function retryMocoSyncRow(requestId: number, now: Date): Sql<{ id: number; lead_id: number }> {
  return {
    text: `UPDATE moco_sync_requests SET state = 'pending', updated_at = $2 WHERE id = $1 AND state = 'failed' AND discarded_at IS NULL
      RETURNING id, lead_id`,
    values: [requestId, now],
  };
}

export interface OutageRow {
  failures: number;
  opened_at: Date | null;
  retry_at: Date | null;
  announced_at: Date | null;
}

export function selectOutage(account: string): Sql<OutageRow> {
  return { text: 'SELECT failures, opened_at, retry_at, announced_at FROM moco_outages WHERE account = $1', values: [account] };
}

/**
 * Counts a sync that failed because MOCO could not be reached, at least up to `floor` (a rejected
 * key counts as enough failures at once); returns the outage as it is now.
 */
export function recordOutageFailure(account: string, now: Date, floor = 1): Sql<OutageRow> {
  return {
    text: `INSERT INTO moco_outages AS o (account, failures, updated_at) VALUES ($1, $3, $2)
      ON CONFLICT (account) DO UPDATE SET failures = GREATEST(o.failures + 1, $3), updated_at = $2
      RETURNING failures, opened_at, retry_at, announced_at`,
    values: [account, now, floor],
  };
}

/** Opens (or keeps open, pausing longer) the breaker until `retryAt`. */
export function openOutage(account: string, now: Date, retryAt: Date): Sql<OutageRow> {
  return {
    text: `UPDATE moco_outages SET opened_at = COALESCE(opened_at, $2), retry_at = $3, updated_at = $2 WHERE account = $1
      RETURNING failures, opened_at, retry_at, announced_at`,
    values: [account, now, retryAt],
  };
}

/** Marks the outage announced, once: only the first caller gets a row back. */
export function claimOutageAnnouncement(account: string, now: Date): Sql<{ opened_at: Date }> {
  return {
    text: `UPDATE moco_outages SET announced_at = $2 WHERE account = $1 AND announced_at IS NULL AND opened_at IS NOT NULL
      RETURNING opened_at`,
    values: [account, now],
  };
}

/** A sync got through: the outage is over. Returns it when there was one the admins were told of. */
export function closeOutage(account: string): Sql<{ opened_at: Date | null; announced_at: Date | null }> {
  return {
    text: 'DELETE FROM moco_outages WHERE account = $1 RETURNING opened_at, announced_at',
    values: [account],
  };
}
