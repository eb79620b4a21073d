import type { LeadProfile } from './event.ts';
import { gradeFor } from './grade.ts';
import { emailDomain, isFreeMailDomain } from './identity.ts';
import type {
  FactCondition,
  FactField,
  FactValue,
  PipelineConfig,
  RoutingRuleset,
} from './routing-schema.ts';

/**
 * Routing: whether a scored lead goes to a pipeline (opening a deal in its first stage), waits
 * for a manager (a routing conflict), or stays in the lead pool. Pure: the job loads the lead and
 * its open deals, calls `decideRouting`, and writes the deal or conflict with the decision's reasons.
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

type Scalar = string | number | boolean;

function asNumber(value: Scalar): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function same(actual: Scalar, expected: Scalar): boolean {
  const a = asNumber(actual);
  const b = asNumber(expected);
  if (a !== undefined && b !== undefined) return a === b;
  return String(actual).trim().toLowerCase() === String(expected).trim().toLowerCase();
}

// Parsed conditions are never mutated, so a compiled regex can live as long as its condition.
const regexCache = new WeakMap<object, RegExp>();

function holds(condition: FactCondition, actual: FactValue): boolean {
  switch (condition.op) {
    case 'equals':
      return actual !== undefined && same(actual, condition.value);
    case 'not_equals':
      return actual === undefined || !same(actual, condition.value);
    case 'in':
      return actual !== undefined && condition.value.some((v) => same(actual, v));
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

export interface RoutingReasons {
  score: number;
  threshold: number;
  primaryIntent: string | null;
  confidence: number;
  minConfidence: number;
  /** Rounded share per configured intent, in ruleset order. */
  confidences: Record<string, number>;
  conflictMargin: number;
  /** The rule that decided, e.g. `routing.threshold`, `routing.manager_decides.key-accounts`, `manager:anna`. */
  rule: string;
  rulesetVersion: string;
}

export interface ConflictCandidate {
  intent: string;
  confidence: number;
  /** null when no pipeline serves the intent (the manager may also leave the lead in the pool). */
  pipelineId: string | null;
}

export type PoolCause = 'below_threshold' | 'no_intent' | 'below_confidence' | 'no_pipeline';
export type ConflictCause = 'ambiguous_intent' | 'manager_rule' | 'pipeline_manager_decides';

export type RoutingDecision =
  | {
      kind: 'route';
      leadId: string;
      pipelineId: string;
      pipelineName: string;
      /** The first stage: where the new deal starts. */
      stageId: string;
      stageName: string;
      reasons: RoutingReasons;
    }
  | {
      kind: 'conflict';
      leadId: string;
      cause: ConflictCause;
      candidates: ConflictCandidate[];
      /** Stable for the same lead, cause and candidates: one open conflict row per key. */
      conflictKey: string;
      reasons: RoutingReasons;
    }
  /** No new route: a lead without deals stays in (or returns to) the pool; existing deals are untouched. */
  | { kind: 'pool'; leadId: string; cause: PoolCause; reasons: RoutingReasons }
  /** The lead already has an open deal in the pipeline it would go to (one open deal per pipeline). */
  | { kind: 'keep'; leadId: string; pipelineId: string; dealId: string; reasons: RoutingReasons };

type Config = Pick<RoutingRuleset, 'version' | 'intent' | 'pipelines' | 'routing'>;

function baseReasons(lead: LeadView, config: Config, shares: IntentShare[], rule: string): RoutingReasons {
  const top = shares[0];
  const live = top !== undefined && top.weight > 0 ? top : undefined;
  const byIntent = new Map(shares.map((s) => [s.intent, s.share]));
  return {
    score: lead.score,
    threshold: config.routing.threshold,
    primaryIntent: live?.intent ?? null,
    confidence: live?.share ?? 0,
    minConfidence: config.routing.min_confidence,
    confidences: Object.fromEntries(
      config.intent.intents.map((intent) => [intent, byIntent.get(intent) ?? 0]),
    ),
    conflictMargin: config.routing.conflict_margin,
    rule,
    rulesetVersion: config.version,
  };
}

function routeTo(lead: LeadView, pipeline: PipelineConfig, reasons: RoutingReasons): RoutingDecision {
  const open = lead.openDeals?.find((deal) => deal.pipelineId === pipeline.id);
  if (open !== undefined) {
    return { kind: 'keep', leadId: lead.leadId, pipelineId: pipeline.id, dealId: open.dealId, reasons };
  }
  const stage = pipeline.stages[0]!;
  return {
    kind: 'route',
    leadId: lead.leadId,
    pipelineId: pipeline.id,
    pipelineName: pipeline.name,
    stageId: stage.id,
    stageName: stage.name,
    reasons,
  };
}

function conflict(
  lead: LeadView,
  cause: ConflictCause,
  candidates: ConflictCandidate[],
  reasons: RoutingReasons,
): RoutingDecision {
  const key = candidates.map((c) => c.pipelineId ?? `intent:${c.intent}`).join('+');
  return {
    kind: 'conflict',
    leadId: lead.leadId,
    cause,
    candidates,
    conflictKey: `${lead.leadId}:${cause}:${key}`,
    reasons,
  };
}

/**
 * Decides where a lead goes, in this order (the first that applies wins):
 * 1. score < `routing.threshold` → pool (`below_threshold`); no live intent → pool (`no_intent`);
 * 2. the top two intents' shares differ by ≤ `conflict_margin` points → conflict (`ambiguous_intent`),
 *    checked before the confidence floor because two close intents can never both clear it, and a hot
 *    lead with unclear intent is exactly what a manager should see (unless it already has an open deal
 *    in one of them → keep);
 * 3. confidence < `min_confidence` → pool; no pipeline for the intent → pool (`no_pipeline`);
 * 4. an open deal already in that pipeline → keep;
 * 5. a matching `routing.manager_decides` rule, or the pipeline's `manager_decides` → conflict;
 * 6. otherwise → route to the pipeline's first stage.
 * Thresholds are inclusive: score 40 and confidence 60 route with the defaults.
 *
 * @example
 * decideRouting({ leadId: 'l1', score: 40, intentWeights: { b2b: 60, research: 40 } }, ruleset, now)
 * // { kind: 'route', pipelineId: 'b2b', stageId: 'new', reasons: { score: 40, confidence: 60, rule: 'pipelines.b2b', … } }
 */
export function decideRouting(lead: LeadView, ruleset: Config, now: Date): RoutingDecision {
  const { routing } = ruleset;
  const shares = intentShares(lead.intentWeights, ruleset.intent.intents);
  const reasons = (rule: string) => baseReasons(lead, ruleset, shares, rule);
  const pool = (cause: PoolCause, rule: string): RoutingDecision => ({
    kind: 'pool',
    leadId: lead.leadId,
    cause,
    reasons: reasons(rule),
  });
  if (lead.score < routing.threshold) return pool('below_threshold', 'routing.threshold');
  const [first, second] = shares;
  if (first === undefined || first.weight <= 0) return pool('no_intent', 'intent');
  const pipelineFor = (intent: string) => ruleset.pipelines.find((p) => p.intent === intent);

  if (second !== undefined && second.weight > 0 && first.share - second.share <= routing.conflict_margin) {
    const candidates = [first, second].map((s) => ({
      intent: s.intent,
      confidence: s.share,
      pipelineId: pipelineFor(s.intent)?.id ?? null,
    }));
    const open = lead.openDeals?.find((deal) => candidates.some((c) => c.pipelineId === deal.pipelineId));
    if (open !== undefined) {
      return {
        kind: 'keep',
        leadId: lead.leadId,
        pipelineId: open.pipelineId,
        dealId: open.dealId,
        reasons: reasons('routing.conflict_margin'),
      };
    }
    return conflict(lead, 'ambiguous_intent', candidates, reasons('routing.conflict_margin'));
  }
  if (first.share < routing.min_confidence) return pool('below_confidence', 'routing.min_confidence');
  const pipeline = pipelineFor(first.intent);
  if (pipeline === undefined) return pool('no_pipeline', 'pipelines');
  const candidate = [{ intent: first.intent, confidence: first.share, pipelineId: pipeline.id }];
  if (lead.openDeals?.some((deal) => deal.pipelineId === pipeline.id)) {
    return routeTo(lead, pipeline, reasons(`pipelines.${pipeline.id}`));
  }
  const read = readFacts(lead, null, ruleset.intent.intents, now);
  const rule = routing.manager_decides.find(
    (r) => (r.pipelines === undefined || r.pipelines.includes(pipeline.id)) && factsMatch(r.when, read),
  );
  if (rule !== undefined) {
    return conflict(lead, 'manager_rule', candidate, reasons(`routing.manager_decides.${rule.id}`));
  }
  if (pipeline.manager_decides) {
    return conflict(
      lead,
      'pipeline_manager_decides',
      candidate,
      reasons(`pipelines.${pipeline.id}.manager_decides`),
    );
  }
  return routeTo(lead, pipeline, reasons(`pipelines.${pipeline.id}`));
}

/**
 * Routes a lead to a named pipeline regardless of thresholds: a manager resolving a conflict
 * (`by: 'manager:anna'`) or an automation's `route_to_pipeline` (`by: 'automation:hot-b2b'`).
 * Still at most one open deal per pipeline (→ keep); an unknown pipeline → pool (`no_pipeline`).
 *
 * @example
 * routeManually(lead, 'b2b', 'manager:anna', ruleset) // { kind: 'route', pipelineId: 'b2b', reasons: { rule: 'manager:anna', … } }
 */
export function routeManually(
  lead: LeadView,
  pipelineId: string,
  by: string,
  ruleset: Config,
): RoutingDecision {
  const shares = intentShares(lead.intentWeights, ruleset.intent.intents);
  const pipeline = ruleset.pipelines.find((p) => p.id === pipelineId);
  if (pipeline === undefined) {
    return {
      kind: 'pool',
      leadId: lead.leadId,
      cause: 'no_pipeline',
      reasons: baseReasons(lead, ruleset, shares, by),
    };
  }
  return routeTo(lead, pipeline, baseReasons(lead, ruleset, shares, by));
}
