import type { PipelineConfig, RoutingRuleset } from './routing-schema.ts';
import { factsMatch, type IntentShare, intentShares, type LeadView, readFacts } from './facts.ts';

/**
 * Routing: whether a scored lead goes to a pipeline (opening a deal in its first stage), waits
 * for a manager (a routing conflict), or stays in the lead pool. Pure: the job loads the lead and
 * its open deals, calls `decideRouting`, and writes the deal or conflict with the decision's reasons.
 */

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
