import { type Pool, run, withTransaction } from '../../db/pool.ts';
import {
  type LeadHitRow,
  type LeadListRow,
  selectLeadByEmail,
  selectLeadHit,
  selectLeadsByDomain,
  selectLeadsFuzzy,
  selectMyLeads,
  selectOpenDealIds,
  selectPoolLeads,
  selectTopUnclaimed,
  setTrigramThresholds,
} from '../../db/sql/lookup.ts';
import type { LeadLine } from '../../slack/render/lead-lists.ts';
import { displayName } from './lead-card.ts';

/** What someone typed to find a lead: an email, a company domain, or any text. */
export type LookupQuery =
  | { kind: 'email'; email: string; text: string }
  | { kind: 'domain'; domain: string; text: string }
  | { kind: 'text'; text: string };

/** How many choices a lookup offers before it says "more". */
export const CHOICES = 5;
/** Whole-value similarity a match needs: typos pass, a shared "GmbH" alone does not. */
const SIMILARITY = 0.45;
/** A query that is one word of the value ("lovelace", "genomics") needs this much of that word. */
const WORD_SIMILARITY = 0.6;
const LIST_SIZE = 20;

/**
 * A lead row as a list line.
 *
 * @example
 * toLine(row) // { id: 7, name: 'Ada Lovelace', company: 'Genomics Lab', score: 87, grade: 'A', … }
 */
export function toLine(row: LeadHitRow | LeadListRow): LeadLine {
  return {
    id: row.id,
    name: displayName(row),
    email: row.email,
    company: row.company,
    score: row.score,
    grade: row.grade,
    ...('sla_due_at' in row
      ? { slaDueAt: row.sla_due_at, claimedBySlackUser: row.claimed_by_slack_user }
      : {}),
  };
}

/**
 * Leads matching a lookup, best first: the exact email, else leads of the company domain, else
 * trigram matches on name, company and email (also the fallback when an email or domain has no
 * exact hit, to catch typos). At most CHOICES + 1, so the caller knows when there are more.
 *
 * @example
 * await findLeads(pool, { kind: 'email', email: 'ada@lab.example', text: 'ada@lab.example' }) // [{ id: 7, … }]
 */
export async function findLeads(pool: Pool, query: LookupQuery): Promise<LeadHitRow[]> {
  if (query.kind === 'email') {
    const exact = await run(pool, selectLeadByEmail(query.email));
    if (exact.length > 0) return exact;
    return fuzzy(pool, query.email);
  }
  if (query.kind === 'domain') {
    const hits = await run(pool, selectLeadsByDomain(query.domain, CHOICES + 1));
    if (hits.length > 0) return hits;
    return fuzzy(pool, query.domain.split('.')[0] ?? query.domain);
  }
  return fuzzy(pool, query.text);
}

/**
 * One hit, or exactly one exact hit among several, is clear; anything else needs a choice.
 *
 * @example
 * clearWinner([{ id: 7, similarity: 1, … }]) // { id: 7, … }
 */
export function clearWinner(hits: readonly LeadHitRow[]): LeadHitRow | null {
  if (hits.length === 1) return hits[0]!;
  const exact = hits.filter((hit) => hit.similarity >= 0.999);
  return exact.length === 1 ? exact[0]! : null;
}

/**
 * The lead with exactly this email, or null.
 *
 * @example
 * await leadByEmail(pool, 'ada@genomics-lab.example') // { id: 7, email: 'ada@genomics-lab.example', … }
 */
export async function leadByEmail(pool: Pool, email: string): Promise<LeadHitRow | null> {
  const [lead] = await run(pool, selectLeadByEmail(email));
  return lead ?? null;
}

export type LeadListKind = { kind: 'mine'; memberId: string } | { kind: 'top'; n: number } | { kind: 'pool' };

/**
 * `/lead mine` (claimed or owned by the member), `/lead top n` (hottest unclaimed), `/lead pool`
 * (hottest waiting in the pool), as list lines.
 *
 * @example
 * await loadLeadList(pool, { kind: 'top', n: 5 }) // [{ id: 7, name: 'Ada Lovelace', … }, …]
 */
export async function loadLeadList(pool: Pool, list: LeadListKind): Promise<LeadLine[]> {
  const query =
    list.kind === 'mine'
      ? selectMyLeads(list.memberId, LIST_SIZE)
      : list.kind === 'top'
        ? selectTopUnclaimed(list.n)
        : selectPoolLeads(LIST_SIZE);
  return (await run(pool, query)).map(toLine);
}

/** Trigram lookup with stricter thresholds than pg_trgm's defaults (0.3, 0.6), in one short transaction. */
async function fuzzy(pool: Pool, text: string): Promise<LeadHitRow[]> {
  return withTransaction(pool, async (tx) => {
    await run(tx, setTrigramThresholds(SIMILARITY, WORD_SIMILARITY));
    return run(tx, selectLeadsFuzzy(text, CHOICES + 1));
  });
}

/**
 * One lead as lists and modals name it, or null.
 *
 * @example
 * await leadById(pool, 42) // { id: 42, email: 'ada@genomics-lab.example', full_name: 'Ada Lovelace', … }
 */
export async function leadById(pool: Pool, leadId: number): Promise<LeadHitRow | null> {
  const [lead] = await run(pool, selectLeadHit(leadId));
  return lead ?? null;
}

/**
 * How many open deals a lead has: the Reassign modal refuses a lead with none before it closes.
 *
 * @example
 * await openDealCount(pool, 42) // 1
 */
export async function openDealCount(pool: Pool, leadId: number): Promise<number> {
  return (await run(pool, selectOpenDealIds(leadId))).length;
}
