import type { LeadPersonColumns } from './leads.ts';
import type { Sql } from '../pool.ts';

/**
 * SQL behind `/lead` and the Home tab: lookups, the lead card, lists, notes, availability and the
 * audit log. Lookups stay index-only-fast at a million leads: exact email and company domain through
 * btree indexes, everything else through the trigram indexes of migration 0007, whose expressions
 * the queries below repeat exactly (the planner only uses an expression index for the same expression).
 */

/** The indexed display-name expression (leads_name_trgm_idx). */
const NAME = `lower(coalesce(l.full_name, l.first_name || ' ' || l.last_name, l.first_name, l.last_name))`;
const COMPANY = 'lower(l.company)';

/** What lists and choices show of a lead. */
export interface LeadHitRow extends LeadPersonColumns {
  id: number;
  score: number;
  grade: string;
  /** 1 for exact hits; trigram similarity otherwise. */
  similarity: number;
}

const HIT = `l.id, l.email, l.first_name, l.last_name, l.full_name, l.company, l.title, l.score, l.grade`;
const LIVE = `l.erased_at IS NULL`;

/** The lead with this (normalized) email: leads_email_key. */
export function selectLeadByEmail(email: string): Sql<LeadHitRow> {
  return {
    text: `SELECT ${HIT}, 1::float8 AS similarity FROM leads l WHERE l.email = $1 AND ${LIVE}`,
    values: [email],
  };
}

/** One lead by id, as lists show it (erased leads too: their card says so). */
export function selectLeadHit(leadId: number): Sql<LeadHitRow> {
  return { text: `SELECT ${HIT}, 1::float8 AS similarity FROM leads l WHERE l.id = $1`, values: [leadId] };
}

/** Leads of the organization with this company domain, hottest first: organizations_domain_key. */
export function selectLeadsByDomain(domain: string, limit: number): Sql<LeadHitRow> {
  return {
    text: `SELECT ${HIT}, 1::float8 AS similarity
      FROM organizations o JOIN leads l ON l.organization_id = o.id
      WHERE o.domain = $1 AND ${LIVE}
      ORDER BY l.score DESC, l.id LIMIT $2`,
    values: [domain, limit],
  };
}

/**
 * Raises pg_trgm's match thresholds for the rest of the transaction. The default similarity of 0.3
 * lets "acme gmbh" match every "… gmbh": at a million leads that is a hundred thousand rows to
 * recheck and rank instead of a handful.
 */
export function setTrigramThresholds(similarity: number, wordSimilarity: number): Sql {
  return {
    text: `SELECT set_config('pg_trgm.similarity_threshold', $1, true),
        set_config('pg_trgm.word_similarity_threshold', $2, true)`,
    values: [String(similarity), String(wordSimilarity)],
  };
}

/**
 * Trigram matches on name, company and email, best first (run after setTrigramThresholds). `%`
 * catches typos of the whole value; for a one-word query `<%` also finds it as one word of a value
 * ("genomics" in "Genomics Lab GmbH"). Word similarity is left out for longer queries, where it
 * would match every value sharing one of their words. `query` must be lowercase.
 */
export function selectLeadsFuzzy(query: string, limit: number): Sql<LeadHitRow> {
  const oneWord = !/\s/.test(query.trim());
  const word = (expr: string) => (oneWord ? ` OR $1 <% ${expr}` : '');
  const wordScore = (expr: string) => (oneWord ? `, word_similarity($1, ${expr})` : '');
  return {
    text: `SELECT ${HIT}, greatest(similarity(${NAME}, $1)${wordScore(NAME)},
          similarity(${COMPANY}, $1)${wordScore(COMPANY)}, similarity(l.email, $1))::float8 AS similarity
      FROM leads l
      WHERE (${NAME} % $1${word(NAME)} OR ${COMPANY} % $1${word(COMPANY)} OR l.email % $1) AND ${LIVE}
      ORDER BY similarity DESC, l.score DESC, l.id
      LIMIT $2`,
    values: [query, limit],
  };
}

/** A lead in a list: the hit plus its live alert's SLA clock, if any. */
export interface LeadListRow extends LeadHitRow {
  sla_due_at: Date | null;
  alert_state: string | null;
  claimed_by_slack_user: string | null;
}

const LIST = `${HIT}, 0::float8 AS similarity, a.sla_due_at, a.state AS alert_state, l.claimed_by_slack_user`;
const LIVE_ALERT = `LEFT JOIN lead_alerts a ON a.lead_id = l.id AND a.state IN ('open', 'snoozed')`;

/** Leads a member claimed or owns, the SLA due soonest first (no SLA last), then hottest. */
export function selectMyLeads(memberId: string, limit: number): Sql<LeadListRow> {
  return {
    text: `SELECT ${LIST} FROM leads l ${LIVE_ALERT}
      WHERE (l.claimed_by_member_id = $1 OR l.owner_member_id = $1)
        AND ${LIVE} AND l.disqualified_at IS NULL AND l.status <> 'archived'
      ORDER BY a.sla_due_at ASC NULLS LAST, l.score DESC, l.id
      LIMIT $2`,
    values: [memberId, limit],
  };
}

/** The hottest unclaimed leads (leads_unclaimed_score_idx: same predicate). */
export function selectTopUnclaimed(limit: number): Sql<LeadListRow> {
  return {
    text: `SELECT ${LIST} FROM leads l ${LIVE_ALERT}
      WHERE l.claimed_at IS NULL AND l.disqualified_at IS NULL AND ${LIVE} AND l.status <> 'archived'
      ORDER BY l.score DESC, l.id
      LIMIT $1`,
    values: [limit],
  };
}

/** The hottest leads waiting in the pool (leads_pool_score_idx). */
export function selectPoolLeads(limit: number): Sql<LeadListRow> {
  return {
    text: `SELECT ${LIST} FROM leads l ${LIVE_ALERT}
      WHERE l.status = 'pool' AND ${LIVE}
      ORDER BY l.score DESC, l.id
      LIMIT $1`,
    values: [limit],
  };
}

/**
 * Unclaimed leads at or above `minScore` that belong to these pipelines: an open deal there, or
 * (still unrouted) a primary intent one of them serves. For a rep's Home tab.
 */
export function selectHotInPipelines(
  pipelineIds: readonly string[],
  intents: readonly string[],
  minScore: number,
  limit: number,
): Sql<LeadListRow> {
  return {
    text: `SELECT ${LIST} FROM leads l ${LIVE_ALERT}
      WHERE l.claimed_at IS NULL AND l.disqualified_at IS NULL AND ${LIVE} AND l.status <> 'archived'
        AND l.score >= $3
        AND (EXISTS (SELECT 1 FROM deals d WHERE d.lead_id = l.id AND d.status = 'open' AND d.pipeline_id = ANY($1::text[]))
          OR (l.status IN ('pool', 'conflict') AND l.primary_intent = ANY($2::text[])))
      ORDER BY l.score DESC, l.id
      LIMIT $4`,
    values: [pipelineIds, intents, minScore, limit],
  };
}

/** Everything on the lead card except the score explanation: one row, subqueries on indexed keys. */
export interface LeadCardRow extends LeadPersonColumns {
  id: number;
  country: string | null;
  score: number;
  grade: string;
  status: string;
  owner_member_id: string | null;
  claimed_by_slack_user: string | null;
  claimed_by_member_id: string | null;
  claimed_at: Date | null;
  disqualified_at: Date | null;
  erased_at: Date | null;
  deals: {
    id: number;
    pipeline_id: string;
    stage_id: string;
    owner_member_id: string | null;
    owner_queue: string | null;
    status: string;
    value: number | null;
    currency: string | null;
  }[];
  alert: {
    state: string;
    priority: string;
    sla_due_at: string;
    sla_step: number;
    snoozed_until: string | null;
    claimed_by_slack_user: string | null;
    claimed_at: string | null;
    created_at: string;
  } | null;
  decision_explanation: string[] | null;
  assignment_explanation: string[] | null;
}

export function selectLeadCard(leadId: number): Sql<LeadCardRow> {
  return {
    text: `SELECT l.id, l.email, l.first_name, l.last_name, l.full_name, l.company, l.title, l.country,
        l.score, l.grade, l.status, l.owner_member_id, l.claimed_by_slack_user, l.claimed_by_member_id,
        l.claimed_at, l.disqualified_at, l.erased_at,
        COALESCE((SELECT json_agg(d) FROM (
            SELECT id, pipeline_id, stage_id, owner_member_id, owner_queue, status, value::float8 AS value, currency
            FROM deals WHERE lead_id = l.id ORDER BY (status = 'open') DESC, created_at DESC, id DESC LIMIT 5
          ) d), '[]') AS deals,
        (SELECT row_to_json(a) FROM (
            SELECT state, priority, sla_due_at, sla_step, snoozed_until, claimed_by_slack_user, claimed_at, created_at
            FROM lead_alerts WHERE lead_id = l.id ORDER BY created_at DESC, id DESC LIMIT 1
          ) a) AS alert,
        (SELECT explanation FROM routing_decisions WHERE lead_id = l.id
          ORDER BY created_at DESC, id DESC LIMIT 1) AS decision_explanation,
        (SELECT explanation FROM assignments WHERE lead_id = l.id
          ORDER BY created_at DESC, id DESC LIMIT 1) AS assignment_explanation
      FROM leads l WHERE l.id = $1`,
    values: [leadId],
  };
}

export function selectRecentNotes(leadId: number, limit: number): Sql<{ author_slack_user: string; text: string; created_at: Date }> {
  return {
    text: `SELECT author_slack_user, text, created_at FROM lead_notes
      WHERE lead_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
    values: [leadId, limit],
  };
}

export function insertNote(leadId: number, authorSlackUser: string, text: string, now: Date): Sql {
  return {
    text: `INSERT INTO lead_notes (lead_id, author_slack_user, text, created_at) VALUES ($1, $2, $3, $4)
      RETURNING id`,
    values: [leadId, authorSlackUser, text, now],
  };
}

/** The lead's open deals, locked for reassignment in id order. */
export function selectOpenDealIds(leadId: number): Sql<{ id: number; pipeline_id: string }> {
  return {
    text: `SELECT id, pipeline_id FROM deals WHERE lead_id = $1 AND status = 'open' ORDER BY id`,
    values: [leadId],
  };
}

/**
 * Sets (or with `until` null clears) a member's away-until. Slack status fields are left as the
 * presence sync wrote them.
 */
export function upsertAwayUntil(memberId: string, slackUserId: string, until: Date | null, now: Date): Sql {
  return {
    text: `INSERT INTO team_presence (member_id, slack_user_id, away_until, updated_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (member_id) DO UPDATE SET away_until = EXCLUDED.away_until, updated_at = EXCLUDED.updated_at`,
    values: [memberId, slackUserId, until, now],
  };
}

export interface AwayRow {
  member_id: string;
  away_until: Date | null;
  status_emoji: string | null;
  status_text: string | null;
  status_expires_at: Date | null;
  deactivated: boolean;
}

export function selectAwayUntil(memberIds: readonly string[]): Sql<AwayRow> {
  return {
    text: `SELECT member_id, away_until, status_emoji, status_text, status_expires_at, deactivated
      FROM team_presence WHERE member_id = ANY($1::text[])`,
    values: [memberIds],
  };
}

/** Open routing conflicts, oldest first, with what a manager needs to recognise the lead. */
export function selectOpenConflicts(limit: number): Sql<LeadHitRow & { lead_id: number; cause: string; created_at: Date; total: number }> {
  return {
    text: `SELECT c.id, c.lead_id, c.cause, c.created_at, ${HIT}, count(*) OVER ()::int AS total
      FROM routing_conflicts c JOIN leads l ON l.id = c.lead_id
      WHERE c.resolved_at IS NULL
      ORDER BY c.created_at, c.id
      LIMIT $1`,
    values: [limit],
  };
}

/** Per member: open deals owned (deals_owner_open_idx) and live alerts waiting on them. */
export function selectTeamLoad(memberIds: readonly string[]): Sql<{ member_id: string; open_deals: number; waiting_alerts: number }> {
  return {
    text: `SELECT m.member_id,
        (SELECT count(*)::int FROM deals d WHERE d.owner_member_id = m.member_id AND d.status = 'open') AS open_deals,
        (SELECT count(*)::int FROM lead_alerts a
          WHERE a.owner_member_id = m.member_id AND a.state IN ('open', 'snoozed')) AS waiting_alerts
      FROM unnest($1::text[]) AS m(member_id)`,
    values: [memberIds],
  };
}
