import { asNumber, sameValue } from './conditions.ts';
import type { LeadProfile } from './event.ts';
import { gradeFor } from './grade.ts';
import { emailDomain, isFreeMailDomain } from './identity.ts';
import type { FactCondition, FactField, FactValue } from './routing-schema.ts';

/**
 * Leads and deals as routing and automation read them, and the allowlisted facts their conditions
 * test (`lead.score`, `deal.days_in_stage`, …). Pure.
 */

/** A lead as routing and automation see it. `intentWeights` is `LeadOutcome.intentWeights`. */
export interface LeadView {
  leadId: string;
  score: number;
  intentWeights: Readonly<Record<string, number>>;
  email?: string | null;
  profile?: LeadProfile;
  /** First-touch source (utm.source or the Leadline source). */
  source?: string | null;
  lastActivityAt?: Date | null;
  /** The lead's open deals: at most one per pipeline. */
  openDeals?: readonly { dealId: string; pipelineId: string }[];
}

export const DEAL_STATUSES = ['open', 'won', 'lost'] as const;
export type DealStatus = (typeof DEAL_STATUSES)[number];

/** A deal as automation and upkeep see it. */
export interface DealView {
  dealId: string;
  leadId: string;
  pipelineId: string;
  stageId: string;
  ownerId: string | null;
  status: DealStatus;
  value?: number | null;
  priority?: string | null;
  createdAt: Date;
  stageEnteredAt: Date;
  /** Last activity from the lead on this deal (reply, meeting, form); null when none yet. */
  lastActivityAt?: Date | null;
}

export interface IntentShare {
  intent: string;
  weight: number;
  /** Rounded percent of all current intent weight (the same rounding as the lead's confidence). */
  share: number;
}

/**
 * Intents by current weight, largest first (ties in ruleset order, as `summarizeIntent` breaks
 * them), each with its rounded share. Intents not in the ruleset are ignored.
 *
 * @example
 * intentShares({ research: 10, b2b: 30 }, ['research', 'b2b']) // [{ intent: 'b2b', weight: 30, share: 75 }, { intent: 'research', weight: 10, share: 25 }]
 */
export function intentShares(
  weights: Readonly<Record<string, number>>,
  intents: readonly string[],
): IntentShare[] {
  const entries = intents.map((intent, order) => ({
    intent,
    order,
    weight: Object.hasOwn(weights, intent) ? Math.max(0, weights[intent] ?? 0) : 0,
  }));
  const total = entries.reduce((sum, entry) => sum + entry.weight, 0);
  return entries
    .sort((a, b) => b.weight - a.weight || a.order - b.order)
    .map(({ intent, weight }) => ({
      intent,
      weight,
      share: total > 0 ? Math.round((100 * weight) / total) : 0,
    }));
}

const DAY_MS = 24 * 60 * 60 * 1000;
const days = (from: Date | null | undefined, now: Date): number | undefined =>
  from === null || from === undefined
    ? undefined
    : Math.max(0, Math.floor((now.getTime() - from.getTime()) / DAY_MS));
const text = (value: string | null | undefined): FactValue =>
  value === null || value === undefined || value.trim() === '' ? undefined : value;

/**
 * A reader for the allowlisted lead and deal facts at `now` (see `FACT_FIELDS`); deal fields are
 * missing when there is no deal.
 *
 * @example
 * readFacts(lead, deal, ['research', 'b2b'], now)('deal.days_in_stage') // 12
 */
export function readFacts(
  lead: LeadView,
  deal: DealView | null,
  intents: readonly string[],
  now: Date,
): (field: FactField) => FactValue {
  const profile = lead.profile ?? {};
  const top = intentShares(lead.intentWeights, intents)[0];
  const live = top !== undefined && top.weight > 0 ? top : undefined;
  const domain = emailDomain(lead.email);
  const readers: Record<FactField, () => FactValue> = {
    'lead.score': () => lead.score,
    'lead.grade': () => gradeFor(lead.score),
    'lead.primary_intent': () => live?.intent,
    'lead.intent_confidence': () => live?.share ?? 0,
    'lead.email': () => text(lead.email),
    'lead.email_domain': () => text(domain),
    'lead.free_mail': () => (domain === null ? undefined : isFreeMailDomain(domain)),
    'lead.first_name': () => text(profile.firstName),
    'lead.last_name': () => text(profile.lastName),
    'lead.full_name': () => text(profile.fullName),
    'lead.company': () => text(profile.company),
    'lead.title': () => text(profile.title),
    'lead.phone': () => text(profile.phone),
    'lead.country': () => text(profile.country),
    'lead.region': () => text(profile.region),
    'lead.website': () => text(profile.website),
    'lead.source': () => text(lead.source),
    'lead.open_deals': () => lead.openDeals?.length ?? 0,
    'lead.days_since_activity': () => days(lead.lastActivityAt, now),
    'deal.pipeline': () => deal?.pipelineId,
    'deal.stage': () => deal?.stageId,
    'deal.owner': () => text(deal?.ownerId),
    'deal.status': () => deal?.status,
    'deal.value': () => deal?.value ?? undefined,
    'deal.priority': () => text(deal?.priority),
    'deal.days_in_stage': () => (deal === null ? undefined : days(deal.stageEnteredAt, now)),
    'deal.days_open': () => (deal === null ? undefined : days(deal.createdAt, now)),
    'deal.days_since_activity': () =>
      deal === null ? undefined : days(deal.lastActivityAt ?? deal.stageEnteredAt, now),
  };
  return (field) => readers[field]();
}


// Parsed conditions are never mutated, so a compiled regex can live as long as its condition.
const regexCache = new WeakMap<object, RegExp>();

function holds(condition: FactCondition, actual: FactValue): boolean {
  switch (condition.op) {
    case 'equals':
      return actual !== undefined && sameValue(actual, condition.value);
    case 'not_equals':
      return actual === undefined || !sameValue(actual, condition.value);
    case 'in':
      return actual !== undefined && condition.value.some((v) => sameValue(actual, v));
    case 'contains':
      return actual !== undefined && String(actual).toLowerCase().includes(condition.value.toLowerCase());
    case 'regex': {
      let pattern = regexCache.get(condition);
      if (pattern === undefined) {
        pattern = new RegExp(condition.value, 'i');
        regexCache.set(condition, pattern);
      }
      return actual !== undefined && pattern.test(String(actual));
    }
    case 'exists':
      return (actual !== undefined) === condition.value;
    default: {
      const n = actual === undefined ? undefined : asNumber(actual);
      if (n === undefined) return false;
      if (condition.op === 'gt') return n > condition.value;
      if (condition.op === 'gte') return n >= condition.value;
      if (condition.op === 'lt') return n < condition.value;
      return n <= condition.value;
    }
  }
}

/**
 * True when every condition holds (an empty list always holds). Same operators and semantics as
 * scoring conditions: case-insensitive equals/in, `not_equals` matches a missing field.
 *
 * @example
 * factsMatch([{ field: 'lead.country', op: 'in', value: ['DE', 'AT'] }], readFacts(lead, null, intents, now))
 */
export function factsMatch(
  conditions: readonly FactCondition[],
  read: (field: FactField) => FactValue,
): boolean {
  return conditions.every((condition) => holds(condition, read(condition.field)));
}

// ── Decisions ──
