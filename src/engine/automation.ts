import { compileMatcher, type EventMatcher } from './conditions.ts';
import type { LeadlineEvent } from './event.ts';
import type { ThresholdCrossed } from './grade.ts';
import { emailDomain, isFreeMailDomain } from './identity.ts';
import { type DealView, factsMatch, type LeadView, readFacts } from './facts.ts';
import type { ActionConfig, AutomationRuleConfig, RoutingRuleset, TriggerType } from './routing-schema.ts';

/**
 * Automation: which configured rules a trigger fires and which actions follow. Pure planning
 * only; the job executes each planned action once, keyed by `actionKey`, and records its outcome.
 *
 * Trigger instance ids must be stable for the same real-world occurrence, because they make the
 * idempotency key `${ruleId}:${leadId}:${triggerInstanceId}`: re-evaluating a trigger (a retried
 * job, a second worker) plans the same keys, and the executor skips keys it has done. The builders
 * below derive ids from stored facts (event ids, threshold crossings per cause, stage entry times).
 */

/**
 * How deep in a cascade a trigger sits: a stage move a rule made fires the next trigger one level
 * deeper; what a person, an event or a schedule did is level 0. Planning stops at
 * MAX_CASCADE_DEPTH, so two rules moving a deal back and forth end with a logged error.
 */
export const MAX_CASCADE_DEPTH = 5;

export type TriggerInstance = (
  | { type: 'event'; id: string; leadId: string; event: LeadlineEvent & { id: string } }
  | {
      type: 'score_threshold';
      id: string;
      leadId: string;
      threshold: string;
      direction: 'up' | 'down';
      score: number;
    }
  | {
      type: 'intent_detected';
      id: string;
      leadId: string;
      before: { intent: string | null; confidence: number };
      after: { intent: string | null; confidence: number };
    }
  | (DealTrigger<'time_in_stage' | 'stage_entered'> & { stageId: string; enteredAt: Date })
  | DealTrigger<'deal_won' | 'deal_lost'>
) & { depth?: number };

interface DealTrigger<T extends TriggerType> {
  type: T;
  id: string;
  leadId: string;
  dealId: string;
  pipelineId: string;
}

/**
 * The trigger for one stored event; its id is the intake event id.
 *
 * @example
 * eventTrigger('lead-1', storedEvent) // { type: 'event', id: 'event:4f1c…', … }
 */
export function eventTrigger(leadId: string, event: LeadlineEvent & { id: string }): TriggerInstance {
  return { type: 'event', id: `event:${event.id}`, leadId, event };
}

interface IntentState {
  primaryIntent: string | null;
  intentConfidence: number;
}

/**
 * Triggers from one lead outcome: a `score_threshold` per `threshold_crossed` change (the engine
 * reports each crossing once) and one `intent_detected` when intent or confidence moved (each rule
 * then fires only when its own confidence bar is crossed). `causeId` names what produced the
 * outcome and must be stable on retry: the batch's last event id, or `decay:<slot>` for the decay job.
 *
 * @example
 * leadTriggers({ leadId, causeId: lastEventId, changes: outcome.changes, before: state, after: outcome.state })
 */
export function leadTriggers(input: {
  leadId: string;
  causeId: string;
  changes: readonly ({ kind: string } | ThresholdCrossed)[];
  before: IntentState;
  after: IntentState;
}): TriggerInstance[] {
  const { leadId, causeId, before, after } = input;
  const triggers: TriggerInstance[] = input.changes
    .filter((change): change is ThresholdCrossed => change.kind === 'threshold_crossed')
    .map((change) => ({
      type: 'score_threshold',
      id: `threshold:${change.threshold}:${change.direction}:${causeId}`,
      leadId,
      threshold: change.threshold,
      direction: change.direction,
      score: change.score,
    }));
  if (before.primaryIntent !== after.primaryIntent || before.intentConfidence !== after.intentConfidence) {
    triggers.push({
      type: 'intent_detected',
      id: `intent:${causeId}`,
      leadId,
      before: { intent: before.primaryIntent, confidence: before.intentConfidence },
      after: { intent: after.primaryIntent, confidence: after.intentConfidence },
    });
  }
  return triggers;
}

/**
 * Deal triggers, ids derived from the stage visit or the close: a deal that leaves a stage and
 * comes back is a new visit (and may fire again); the same visit never fires twice.
 *
 * @example
 * dealTrigger('time_in_stage', deal) // { id: 'time_in_stage:d1:proposal:2025-03-01T09:00:00.000Z', … }
 * dealTrigger('deal_won', deal, closedAt)
 */
export function dealTrigger(
  type: 'time_in_stage' | 'stage_entered' | 'deal_won' | 'deal_lost',
  deal: Pick<DealView, 'dealId' | 'leadId' | 'pipelineId' | 'stageId' | 'stageEnteredAt'>,
  closedAt?: Date,
  /** The stage visit's own id (its stage history row): visits within one instant stay apart. */
  visitId?: string,
): TriggerInstance {
  const base = { leadId: deal.leadId, dealId: deal.dealId, pipelineId: deal.pipelineId };
  const suffix = visitId === undefined ? '' : `:visit:${visitId}`;
  if (type === 'deal_won' || type === 'deal_lost') {
    const at = (closedAt ?? deal.stageEnteredAt).toISOString();
    return { type, id: `${type}:${deal.dealId}:${at}${suffix}`, ...base };
  }
  const visit = `${deal.dealId}:${deal.stageId}:${deal.stageEnteredAt.toISOString()}${suffix}`;
  return { type, id: `${type}:${visit}`, ...base, stageId: deal.stageId, enteredAt: deal.stageEnteredAt };
}

export interface PlannedAction {
  /** `${ruleId}:${leadId}:${triggerInstanceId}`: the same for every action of one rule firing. */
  idempotencyKey: string;
  actionIndex: number;
  /** `${idempotencyKey}#${actionIndex}`: one row per action, so one failing never blocks another. */
  actionKey: string;
  ruleId: string;
  leadId: string;
  dealId: string | null;
  /** The deal's pipeline, for stage moves and pipeline assignment. */
  pipelineId: string | null;
  triggerType: TriggerType;
  triggerInstanceId: string;
  rulesetVersion: string;
  action: ActionConfig;
}

export type ActionSkip =
  | 'no_deal'
  | 'deal_closed'
  | 'stage_not_in_pipeline'
  | 'already_in_stage'
  | 'already_owner'
  | 'no_owner'
  | 'already_in_pipeline';

export interface AutomationPlan {
  rulesetVersion: string;
  /** Rules whose trigger and conditions matched, in ruleset order. */
  firedRules: string[];
  actions: PlannedAction[];
  /** Actions of fired rules that have nothing to do (kept for the audit trail). */
  skipped: (PlannedAction & { reason: ActionSkip })[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const matcherCache = new WeakMap<object, EventMatcher>();

function triggerMatches(
  rule: AutomationRuleConfig,
  trigger: TriggerInstance,
  lead: LeadView,
  deal: DealView | null,
  now: Date,
): boolean {
  const t = rule.trigger;
  if (t.type !== trigger.type) return false;
  switch (t.type) {
    case 'event': {
      if (trigger.type !== 'event') return false;
      let match = matcherCache.get(t);
      if (match === undefined) {
        match = compileMatcher(t.event, t.where);
        matcherCache.set(t, match);
      }
      const email = lead.email ?? null;
      const domain = emailDomain(email);
      return match({
        eventId: trigger.event.id,
        occurredAt: new Date(trigger.event.occurredAt),
        event: trigger.event,
        lead: {
          email,
          emailDomain: domain,
          freeMail: domain === null ? null : isFreeMailDomain(domain),
          profile: lead.profile ?? {},
        },
      });
    }
    case 'score_threshold':
      return (
        trigger.type === t.type && trigger.threshold === t.threshold && trigger.direction === t.direction
      );
    case 'intent_detected': {
      if (trigger.type !== t.type) return false;
      const reached = (s: { intent: string | null; confidence: number }) =>
        s.intent === t.intent && s.confidence >= t.min_confidence;
      // Once per crossing of this rule's bar: already above it before means nothing new happened.
      return reached(trigger.after) && !reached(trigger.before);
    }
    case 'time_in_stage':
    case 'stage_entered': {
      if (trigger.type !== 'time_in_stage' && trigger.type !== 'stage_entered') return false;
      if (t.pipeline !== undefined && t.pipeline !== trigger.pipelineId) return false;
      if (t.stage !== undefined && t.stage !== trigger.stageId) return false;
      if (t.type === 'stage_entered') return true;
      // A stale instance (the deal moved on since) must not fire for the old stage.
      if (deal !== null && (deal.stageId !== trigger.stageId || deal.status !== 'open')) return false;
      return now.getTime() - trigger.enteredAt.getTime() >= t.days * DAY_MS;
    }
    default:
      return trigger.type === t.type && (t.pipeline === undefined || t.pipeline === trigger.pipelineId);
  }
}

function skipOf(
  action: ActionConfig,
  lead: LeadView,
  deal: DealView | null,
  ruleset: Pick<RoutingRuleset, 'pipelines'>,
): ActionSkip | null {
  const needsDeal =
    action.type === 'move_to_stage' ||
    action.type === 'assign_owner' ||
    (action.type === 'sync_moco' && action.entity === 'deal') ||
    (action.type === 'update_field' && action.field.startsWith('deal.'));
  if (needsDeal && deal === null) return 'no_deal';
  const wantsOwner =
    (action.type === 'send_notification' && action.channel === 'owner') ||
    (action.type === 'create_task' && action.assignee === 'owner');
  if (wantsOwner && (deal?.ownerId ?? null) === null) return 'no_owner';
  if (action.type === 'move_to_stage' && deal !== null) {
    if (deal.status !== 'open') return 'deal_closed';
    const pipeline = ruleset.pipelines.find((p) => p.id === deal.pipelineId);
    if (!pipeline?.stages.some((s) => s.id === action.stage)) return 'stage_not_in_pipeline';
    if (deal.stageId === action.stage) return 'already_in_stage';
  }
  if (action.type === 'assign_owner' && deal !== null) {
    if (deal.status !== 'open') return 'deal_closed';
    if (action.member !== undefined && deal.ownerId === action.member) return 'already_owner';
  }
  if (action.type === 'route_to_pipeline' && lead.openDeals?.some((d) => d.pipelineId === action.pipeline)) {
    return 'already_in_pipeline';
  }
  return null;
}

/**
 * Plans what a trigger sets off: every enabled rule (ruleset order) whose trigger matches and whose
 * `when` facts hold contributes its actions (in order), each keyed for exactly-once execution.
 * `deal` is the deal the trigger is about; for lead triggers (event, score, intent) pass the lead's
 * open deal the job cares about, or null (deal conditions then see missing fields). The plan is a
 * function of its inputs: evaluate again, get the same keys.
 *
 * @example
 * const plan = planAutomation(ruleset, trigger, lead, deal, now);
 * for (const action of pendingActions(plan, doneKeys)) await execute(action); // per action, own retry
 */
export function planAutomation(
  ruleset: Pick<RoutingRuleset, 'version' | 'automation' | 'pipelines' | 'intent'>,
  trigger: TriggerInstance,
  lead: LeadView,
  deal: DealView | null,
  now: Date,
): AutomationPlan {
  const plan: AutomationPlan = { rulesetVersion: ruleset.version, firedRules: [], actions: [], skipped: [] };
  const read = readFacts(lead, deal, ruleset.intent.intents, now);
  for (const rule of ruleset.automation) {
    if (!rule.enabled || !triggerMatches(rule, trigger, lead, deal, now) || !factsMatch(rule.when, read))
      continue;
    plan.firedRules.push(rule.id);
    const idempotencyKey = `${rule.id}:${lead.leadId}:${trigger.id}`;
    rule.actions.forEach((action, actionIndex) => {
      const planned: PlannedAction = {
        idempotencyKey,
        actionIndex,
        actionKey: `${idempotencyKey}#${actionIndex}`,
        ruleId: rule.id,
        leadId: lead.leadId,
        dealId: deal?.dealId ?? null,
        pipelineId: deal?.pipelineId ?? null,
        triggerType: trigger.type,
        triggerInstanceId: trigger.id,
        rulesetVersion: ruleset.version,
        action,
      };
      const reason = skipOf(action, lead, deal, ruleset);
      if (reason === null) plan.actions.push(planned);
      else plan.skipped.push({ ...planned, reason });
    });
  }
  return plan;
}

/**
 * The planned actions not yet done: the executor's retry loop after a partial failure.
 *
 * @example
 * pendingActions(planAutomation(ruleset, trigger, lead, deal, now), new Set(doneActionKeys))
 */
export function pendingActions(plan: AutomationPlan, done: ReadonlySet<string>): PlannedAction[] {
  return plan.actions.filter((action) => !done.has(action.actionKey));
}
