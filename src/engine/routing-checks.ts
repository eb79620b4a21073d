import { z } from 'zod';
import { LeadlineError } from '../errors.ts';
import {
  type ActionConfig,
  automationSchema,
  type AutomationRuleConfig,
  type PipelineConfig,
  pipelineSchema,
  type RoutingConfig,
  type RoutingRuleset,
  routingSchema,
  rotationMembers,
  type TeamConfig,
  teamSchema,
  type UpkeepConfig,
  upkeepSchema,
} from './routing-schema.ts';

/**
 * Cross-field checks of the routing sections (pipelines, routing, automation, upkeep, team): the
 * references between sections that the zod schemas in routing-schema.ts cannot see one at a time.
 * They live apart from the schemas so the schemas read as the file format and this file as its
 * consistency rules; ruleset.ts runs `routingIssues` on the full ruleset.
 */

export interface RoutingIssue {
  path: (string | number)[];
  message: string;
}

/** The parsed sections the cross-field checks read (a parsed `Ruleset` has all of them). */
export interface RoutingSections {
  intent: { intents: readonly string[] };
  thresholds: readonly { name: string }[];
  pipelines: readonly PipelineConfig[];
  routing: RoutingConfig;
  automation: readonly AutomationRuleConfig[];
  upkeep: UpkeepConfig;
  team: TeamConfig;
}

/** Indexes of values seen earlier in the list. */
export function duplicateIndexes(values: readonly string[]): number[] {
  const seen = new Set<string>();
  return values.flatMap((value, i) => {
    const dupe = seen.has(value);
    seen.add(value);
    return dupe ? [i] : [];
  });
}

function checkAssignment(data: RoutingSections, index: number, issues: RoutingIssue[]): void {
  const pipeline = data.pipelines[index]!;
  const a = pipeline.assignment;
  const at = (...rest: (string | number)[]) => ['pipelines', index, 'assignment', ...rest];
  const members = new Map(data.team.members.map((m) => [m.id, m]));
  const unknown = `unknown team member; expected one of ${[...members.keys()].join(', ') || '(team.members is empty)'}`;
  a.members?.forEach((member, j) => {
    if (!members.has(member)) issues.push({ path: at('members', j), message: unknown });
  });
  if (a.fallback_owner !== undefined && !members.has(a.fallback_owner)) {
    issues.push({ path: at('fallback_owner'), message: unknown });
  }
  const rotation = rotationMembers(pipeline, data.team).filter((m) => members.has(m));
  const inner = a.strategy === 'territory' ? a.within : a.strategy;
  if (a.territories !== undefined && a.strategy !== 'territory') {
    issues.push({ path: at('territories'), message: 'only used by strategy territory' });
  }
  if (a.weights !== undefined) {
    if (inner !== 'weighted') {
      issues.push({
        path: at('weights'),
        message: 'only used by strategy weighted (or territory within weighted)',
      });
    }
    for (const key of Object.keys(a.weights)) {
      if (!rotation.includes(key)) issues.push({ path: at('weights', key), message: 'not in this rotation' });
    }
    const missing = rotation.filter((m) => a.weights?.[m] === undefined);
    const sum = Object.values(a.weights).reduce((total, w) => total + w, 0);
    if (missing.length > 0) {
      issues.push({ path: at('weights'), message: `missing a weight for ${missing.join(', ')}` });
    } else if (Math.abs(sum - 100) > 1e-6) {
      issues.push({
        path: at('weights'),
        message: `weights are percentages and must add up to 100 (not ${sum})`,
      });
    }
  }
  if (inner === 'capacity') {
    const missing = rotation.filter((m) => (members.get(m)?.capacity ?? a.capacity) === undefined);
    if (missing.length > 0) {
      issues.push({
        path: at('capacity'),
        message: `strategy capacity needs a capacity for every member (here or in team.members); missing for ${missing.join(', ')}`,
      });
    }
  }
}

function stageProblem(data: RoutingSections, pipelineId: string | undefined, stage: string): string | null {
  const pipeline = pipelineId === undefined ? undefined : data.pipelines.find((p) => p.id === pipelineId);
  if (pipeline !== undefined) {
    const ids = pipeline.stages.map((s) => s.id);
    return ids.includes(stage) ? null : `unknown stage of ${pipeline.id}; expected one of ${ids.join(', ')}`;
  }
  return data.pipelines.some((p) => p.stages.some((s) => s.id === stage))
    ? null
    : 'no pipeline has this stage';
}

/**
 * Cross-field checks of the routing sections that ruleset.ts does not already make (it checks
 * duplicate pipeline, stage and automation ids and pipeline intents): team references, weights,
 * capacities, and every pipeline, stage, threshold, intent and member a rule names.
 *
 * @example
 * routingIssues(parsed) // [{ path: ['automation', 2, 'trigger', 'threshold'], message: 'unknown threshold; …' }]
 */
export function routingIssues(data: RoutingSections): RoutingIssue[] {
  const issues: RoutingIssue[] = [];
  checkTeam(data, issues);
  for (let i = 0; i < data.pipelines.length; i++) checkAssignment(data, i, issues);
  const known = knownIds(data);
  checkManagerDecides(data, known, issues);
  data.automation.forEach((rule, i) => checkAutomationRule(data, known, rule, i, issues));
  checkUpkeepStages(data, known, issues);
  return issues;
}

/** The ids rules may name, and the message for a pipeline that is not among them. */
interface KnownIds {
  pipelineIds: string[];
  memberIds: string[];
  unknownPipeline: string;
}

/** The pipeline and member ids of the sections, with the unknown-pipeline message listing the former. */
function knownIds(data: RoutingSections): KnownIds {
  const pipelineIds = data.pipelines.map((p) => p.id);
  return {
    pipelineIds,
    memberIds: data.team.members.map((m) => m.id),
    unknownPipeline: `unknown pipeline; expected one of ${pipelineIds.join(', ') || '(no pipelines)'}`,
  };
}

/** Team members: member ids and Slack user ids are each unique. */
function checkTeam(data: RoutingSections, issues: RoutingIssue[]): void {
  const memberIds = data.team.members.map((m) => m.id);
  for (const i of duplicateIndexes(memberIds)) {
    issues.push({ path: ['team', 'members', i, 'id'], message: `duplicate member id "${memberIds[i]}"` });
  }
  const slackIds = data.team.members.map((m) => m.slack_user_id);
  for (const i of duplicateIndexes(slackIds)) {
    issues.push({ path: ['team', 'members', i, 'slack_user_id'], message: 'duplicate Slack user id' });
  }
}

/** `routing.manager_decides`: unique rule ids, known pipelines, and only lead fields in `when`. */
function checkManagerDecides(data: RoutingSections, known: KnownIds, issues: RoutingIssue[]): void {
  const rules = data.routing.manager_decides;
  for (const i of duplicateIndexes(rules.map((r) => r.id))) {
    issues.push({ path: ['routing', 'manager_decides', i, 'id'], message: 'duplicate rule id' });
  }
  rules.forEach((rule, i) => {
    rule.pipelines?.forEach((p, j) => {
      if (!known.pipelineIds.includes(p)) {
        issues.push({
          path: ['routing', 'manager_decides', i, 'pipelines', j],
          message: known.unknownPipeline,
        });
      }
    });
    rule.when.forEach((condition, j) => {
      if (condition.field.startsWith('deal.')) {
        issues.push({
          path: ['routing', 'manager_decides', i, 'when', j, 'field'],
          message: 'routing happens before a deal exists; use lead.* fields',
        });
      }
    });
  });
}

/** One automation rule: the threshold, intent, pipeline and stage its trigger names, then its actions. */
function checkAutomationRule(
  data: RoutingSections,
  known: KnownIds,
  rule: AutomationRuleConfig,
  i: number,
  issues: RoutingIssue[],
): void {
  const at = (...rest: (string | number)[]) => ['automation', i, ...rest];
  const trigger = rule.trigger;
  const thresholds = data.thresholds.map((t) => t.name);
  if (trigger.type === 'score_threshold' && !thresholds.includes(trigger.threshold)) {
    issues.push({
      path: at('trigger', 'threshold'),
      message: `unknown threshold; expected one of ${thresholds.join(', ')}`,
    });
  }
  if (trigger.type === 'intent_detected' && !data.intent.intents.includes(trigger.intent)) {
    issues.push({
      path: at('trigger', 'intent'),
      message: `unknown intent; expected one of ${data.intent.intents.join(', ')}`,
    });
  }
  const triggerPipeline = 'pipeline' in trigger ? trigger.pipeline : undefined;
  if (triggerPipeline !== undefined && !known.pipelineIds.includes(triggerPipeline)) {
    issues.push({ path: at('trigger', 'pipeline'), message: known.unknownPipeline });
  }
  if ('stage' in trigger && trigger.stage !== undefined) {
    const problem = stageProblem(data, triggerPipeline, trigger.stage);
    if (problem !== null) issues.push({ path: at('trigger', 'stage'), message: problem });
  }
  rule.actions.forEach((action, j) => {
    const problem = actionProblem(data, known, action, triggerPipeline);
    if (problem !== null) issues.push({ path: at('actions', j, problem[0]), message: problem[1] });
  });
}

/** The field and message of what an action names that does not exist, or null when it all does. */
function actionProblem(
  data: RoutingSections,
  known: KnownIds,
  action: ActionConfig,
  triggerPipeline: string | undefined,
): [string, string] | null {
  if (action.type === 'move_to_stage') {
    const stage = stageProblem(data, triggerPipeline, action.stage);
    return stage === null ? null : ['stage', stage];
  }
  if (action.type === 'assign_owner' && action.member !== undefined) {
    return known.memberIds.includes(action.member) ? null : ['member', 'unknown team member'];
  }
  if (action.type === 'create_task' && action.assignee !== 'owner' && action.assignee !== 'managers') {
    return known.memberIds.includes(action.assignee) ? null : ['assignee', 'unknown team member'];
  }
  if (action.type === 'route_to_pipeline' && !known.pipelineIds.includes(action.pipeline)) {
    return ['pipeline', known.unknownPipeline];
  }
  return null;
}

/** `upkeep.stages`: each override names a known pipeline and one of its stages. */
function checkUpkeepStages(data: RoutingSections, known: KnownIds, issues: RoutingIssue[]): void {
  data.upkeep.stages.forEach((entry, i) => {
    if (!known.pipelineIds.includes(entry.pipeline)) {
      issues.push({ path: ['upkeep', 'stages', i, 'pipeline'], message: known.unknownPipeline });
    } else {
      const problem = stageProblem(data, entry.pipeline, entry.stage);
      if (problem !== null) issues.push({ path: ['upkeep', 'stages', i, 'stage'], message: problem });
    }
  });
}

const sectionsSchema = z.strictObject({
  pipelines: z.array(pipelineSchema).default([]),
  routing: routingSchema,
  automation: automationSchema,
  upkeep: upkeepSchema,
  team: teamSchema,
});

/**
 * Parses just the routing sections (pipelines, routing, automation, upkeep, team) of a decoded
 * ruleset object, with every cross-field check. Until ruleset.ts embeds these schemas, jobs and
 * tests call this next to `parseRuleset`. Throws `LeadlineError('ruleset_invalid')` with dotted paths.
 *
 * @example
 * const sections = parseRoutingSections(YAML.parse(text), { version: ruleset.version, intents: ruleset.intent.intents, thresholds: ruleset.thresholds });
 */
export function parseRoutingSections(
  data: unknown,
  base: { version: string; intents: readonly string[]; thresholds: readonly { name: string }[] },
): RoutingRuleset {
  const parsed = sectionsSchema.safeParse(data);
  const issues: RoutingIssue[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map((part) => (typeof part === 'number' ? part : String(part)));
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys)
          issues.push({ path: [...path, key], message: 'unknown key (check the spelling)' });
      } else issues.push({ path, message: issue.message });
    }
  } else {
    const sections = { ...parsed.data, intent: { intents: base.intents }, thresholds: base.thresholds };
    for (const i of duplicateIndexes(sections.pipelines.map((p) => p.id))) {
      issues.push({ path: ['pipelines', i, 'id'], message: 'duplicate pipeline id' });
    }
    for (const i of duplicateIndexes(sections.automation.map((a) => a.id))) {
      issues.push({ path: ['automation', i, 'id'], message: 'duplicate automation id' });
    }
    issues.push(...routingIssues(sections));
  }
  if (!parsed.success || issues.length > 0) {
    const shown = issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message }));
    throw new LeadlineError(
      'ruleset_invalid',
      `ruleset is invalid: ${shown
        .slice(0, 3)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}`,
      { status: 400, issues: shown },
    );
  }
  return { ...parsed.data, version: base.version, intent: { intents: base.intents } };
}
