import { z } from 'zod';
import { conditionSchema } from './conditions.ts';
import { eventTypeSchema } from './event.ts';

/**
 * Ruleset sections for routing, owner assignment, automation, upkeep and the team. They are kept
 * here (not in ruleset.ts) so ruleset.ts can plug them in without this file importing it back.
 * Keys stay snake_case like the rest of the file, so an error names the key people typed.
 */

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,99}$/, 'use lowercase letters, digits, _ . - (at most 100)');
const name = z.string().trim().min(1).max(200);
const positiveInt = z.number().int().positive();
const percent = z.number().int().min(0).max(100);
const intentName = z.string().regex(/^[a-z][a-z0-9_]{0,49}$/, 'use lowercase letters, digits and _');
const place = z.string().trim().min(2).max(60);
const scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});
const regexText = z
  .string()
  .min(1)
  .superRefine((pattern, ctx) => {
    try {
      new RegExp(pattern, 'i');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  });

// ── Facts: the lead and deal fields routing and automation conditions may read ──

/** Readable fields; `days_*` are whole days up to `now`, confidences are percent of intent weight. */
export const FACT_FIELDS = [
  'lead.score',
  'lead.grade',
  'lead.primary_intent',
  'lead.intent_confidence',
  'lead.email',
  'lead.email_domain',
  'lead.free_mail',
  'lead.first_name',
  'lead.last_name',
  'lead.full_name',
  'lead.company',
  'lead.title',
  'lead.phone',
  'lead.country',
  'lead.region',
  'lead.website',
  'lead.source',
  'lead.open_deals',
  'lead.days_since_activity',
  'deal.pipeline',
  'deal.stage',
  'deal.owner',
  'deal.status',
  'deal.value',
  'deal.priority',
  'deal.days_in_stage',
  'deal.days_open',
  'deal.days_since_activity',
] as const;
export type FactField = (typeof FACT_FIELDS)[number];
const factField = z.enum(FACT_FIELDS, { error: `must be one of ${FACT_FIELDS.join(', ')}` });

/**
 * Conditions on facts, with the operators and semantics of scoring conditions (conditions.ts):
 * case-insensitive equals/in, `not_equals` matches missing fields, regex compiled once.
 */
export const factConditionSchema = z.discriminatedUnion('op', [
  z.strictObject({ field: factField, op: z.enum(['equals', 'not_equals']), value: scalar }),
  z.strictObject({ field: factField, op: z.literal('in'), value: z.array(scalar).min(1) }),
  z.strictObject({ field: factField, op: z.literal('contains'), value: z.string().min(1) }),
  z.strictObject({ field: factField, op: z.literal('regex'), value: regexText }),
  z.strictObject({ field: factField, op: z.enum(['gt', 'gte', 'lt', 'lte']), value: z.number() }),
  z.strictObject({ field: factField, op: z.literal('exists'), value: z.boolean().default(true) }),
]);
export type FactCondition = z.output<typeof factConditionSchema>;
/** A fact value; `undefined` when missing (absent, null or blank). */
export type FactValue = string | number | boolean | undefined;

// ── Team ──

export const MEMBER_ROLES = ['rep', 'manager', 'admin'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

const emoji = z
  .string()
  .regex(/^:?[a-z0-9_+'-]+:?$/i, 'must be an emoji name like :palm_tree:')
  .transform((value) => `:${value.replace(/^:|:$/g, '').toLowerCase()}:`);

export const teamMemberSchema = z.strictObject({
  id,
  slack_user_id: z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user id like U0123ABCD'),
  name,
  role: z.enum(MEMBER_ROLES),
  region: place.optional(),
  /** Countries the member covers: ISO codes (DE) or names, compared case-insensitively. */
  countries: z.array(place).min(1).optional(),
  /** Most open deals the member may own across all pipelines. */
  capacity: positiveInt.optional(),
  /** Relative share in `weighted` pipelines without their own `weights`. */
  weight: z.number().positive().max(1000).optional(),
  active: z.boolean().default(true),
  /** How MOCO knows the member (its users are matched by email); also shown on exports. */
  email: z.email().optional(),
});

export const awaySchema = z.strictObject({
  status_emoji: z
    .array(emoji)
    .default([':palm_tree:', ':airplane:', ':face_with_thermometer:', ':no_entry:']),
  status_text_patterns: z
    .array(regexText)
    .default(['\\bvacation\\b', '\\bout of (the )?office\\b', '\\booo\\b', '\\bsick\\b', '\\burlaub\\b']),
});

export const teamSchema = z
  .strictObject({ members: z.array(teamMemberSchema).default([]), away: awaySchema.prefault({}) })
  .prefault({});

// ── Pipelines with owner assignment ──

export const ASSIGNMENT_STRATEGIES = ['round_robin', 'weighted', 'capacity', 'territory'] as const;
export type AssignmentStrategy = (typeof ASSIGNMENT_STRATEGIES)[number];

export const assignmentSchema = z.strictObject({
  strategy: z.enum(ASSIGNMENT_STRATEGIES).default('round_robin'),
  /** Team member ids in the rotation; default: every team member with role rep. */
  members: z.array(id).min(1).optional(),
  /** Percent per member (adding up to 100) for `weighted`, or `territory` within `weighted`. */
  weights: z.record(id, z.number().positive().max(100)).optional(),
  /** Default capacity for members without their own. */
  capacity: positiveInt.optional(),
  /** Takes the lead when nobody in the rotation can (everyone away or full). */
  fallback_owner: id.optional(),
  /** Where the deal waits unowned when there is no fallback owner either (e.g. a Slack channel). */
  fallback_queue: z.string().trim().min(1).max(80).optional(),
  /** Region → countries, so a lead with only a country still lands in a region. */
  territories: z.record(place, z.array(place).min(1)).optional(),
  /** The strategy among the members covering the lead's territory. */
  within: z.enum(['round_robin', 'weighted', 'capacity']).default('round_robin'),
  /** When no member covers the lead: `any` member of the rotation, or the `fallback`. */
  unmatched: z.enum(['any', 'fallback']).default('any'),
});

/**
 * A pipeline stage. `won` / `lost` mark the stages a deal closes in (moving there closes it);
 * `probability` (0–100) is the chance a deal in the stage is won, for the weighted pipeline value.
 */
export const stageSchema = z.strictObject({
  id,
  name,
  probability: z.number().min(0).max(100).optional(),
  won: z.literal(true).optional(),
  lost: z.literal(true).optional(),
});

export const pipelineSchema = z.strictObject({
  id,
  name,
  intent: intentName,
  stages: z.array(stageSchema).min(1),
  assignment: assignmentSchema.prefault({}),
  /** Every lead routed here waits for a manager's decision. */
  manager_decides: z.boolean().default(false),
});

// ── Routing ──

export const managerRuleSchema = z.strictObject({
  id,
  description: z.string().max(500).optional(),
  when: z.array(factConditionSchema).min(1),
  /** Only for leads headed to these pipelines; default all. */
  pipelines: z.array(id).min(1).optional(),
});

export const routingSchema = z
  .strictObject({
    threshold: percent.default(40),
    min_confidence: percent.default(60),
    conflict_margin: percent.default(10),
    manager_decides: z.array(managerRuleSchema).default([]),
  })
  .prefault({});

// ── Automation ──

const eventSelector = z
  .string()
  .refine((value) => value === '*' || eventTypeSchema.safeParse(value).success, {
    error: 'must be an event type like form.submitted, or * for any event',
  });

export const triggerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('event'),
    event: eventSelector,
    where: z.array(conditionSchema).default([]),
  }),
  z.strictObject({
    type: z.literal('score_threshold'),
    threshold: id,
    direction: z.enum(['up', 'down']).default('up'),
  }),
  z.strictObject({
    type: z.literal('intent_detected'),
    intent: intentName,
    min_confidence: percent.default(0),
  }),
  z.strictObject({
    type: z.literal('time_in_stage'),
    pipeline: id.optional(),
    stage: id.optional(),
    days: z.number().positive().max(3650),
  }),
  z.strictObject({ type: z.literal('stage_entered'), pipeline: id.optional(), stage: id.optional() }),
  z.strictObject({ type: z.literal('deal_won'), pipeline: id.optional() }),
  z.strictObject({ type: z.literal('deal_lost'), pipeline: id.optional() }),
]);
export type TriggerConfig = z.output<typeof triggerSchema>;
export type TriggerType = TriggerConfig['type'];

/** Fields `update_field` may write; scores, owners and stages have their own paths. */
export const UPDATABLE_FIELDS = [
  'lead.company',
  'lead.title',
  'lead.phone',
  'lead.country',
  'lead.region',
  'lead.website',
  'deal.value',
  'deal.priority',
  'deal.next_step',
  'deal.lost_reason',
] as const;
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

const channel = z
  .string()
  .regex(
    /^(owner|managers|#[a-z0-9][a-z0-9_-]{0,79}|[CG][A-Z0-9]{2,20})$/,
    'must be owner, managers, a #channel-name or a Slack channel id',
  );

export const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('move_to_stage'), stage: id }),
  /** Without `member`, the deal's pipeline strategy picks the owner. */
  z.strictObject({ type: z.literal('assign_owner'), member: id.optional() }),
  z.strictObject({ type: z.literal('send_notification'), channel, template: id }),
  z.strictObject({
    type: z.literal('create_task'),
    title: z.string().trim().min(1).max(200),
    due_in_hours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(24),
    assignee: z.union([z.enum(['owner', 'managers']), id]).default('owner'),
  }),
  z.strictObject({ type: z.literal('sync_moco'), entity: z.enum(['deal', 'contact']).default('deal') }),
  z
    .strictObject({
      type: z.literal('update_field'),
      field: z.enum(UPDATABLE_FIELDS, { error: `must be one of ${UPDATABLE_FIELDS.join(', ')}` }),
      value: z.union([z.string().max(500), z.number(), z.null()]),
    })
    .superRefine((action, ctx) => {
      const problem =
        action.field === 'deal.value'
          ? typeof action.value === 'number' && action.value >= 0
            ? null
            : 'deal.value needs a number ≥ 0'
          : action.field === 'deal.priority'
            ? ['low', 'normal', 'high'].includes(String(action.value))
              ? null
              : 'deal.priority is low, normal or high'
            : typeof action.value === 'number'
              ? `${action.field} needs text (or null to clear it)`
              : null;
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
    }),
  z.strictObject({ type: z.literal('route_to_pipeline'), pipeline: id }),
]);
export type ActionConfig = z.output<typeof actionSchema>;
export type ActionType = ActionConfig['type'];

export const automationRuleSchema = z.strictObject({
  id,
  description: z.string().max(500).optional(),
  enabled: z.boolean().default(true),
  trigger: triggerSchema,
  when: z.array(factConditionSchema).default([]),
  actions: z.array(actionSchema).min(1),
});
export const automationSchema = z.array(automationRuleSchema).default([]);

// ── Upkeep ──

export const upkeepSchema = z
  .strictObject({
    stalled_deal_days: positiveInt.default(14),
    stale_lead_days: positiveInt.default(30),
    ghost_risk_days: positiveInt.default(10),
    conflict_max_age_hours: positiveInt.default(24),
    unowned_deal_hours: positiveInt.default(4),
    /** Per-stage `stalled_days`, e.g. negotiation may sit longer than discovery. */
    stages: z.array(z.strictObject({ pipeline: id, stage: id, stalled_days: positiveInt })).default([]),
  })
  .prefault({});

export type TeamMember = z.output<typeof teamMemberSchema>;
export type TeamConfig = z.output<typeof teamSchema>;
export type AssignmentConfig = z.output<typeof assignmentSchema>;
export type PipelineConfig = z.output<typeof pipelineSchema>;
export type StageConfig = z.output<typeof stageSchema>;
export type ManagerRule = z.output<typeof managerRuleSchema>;
export type RoutingConfig = z.output<typeof routingSchema>;
export type AutomationRuleConfig = z.output<typeof automationRuleSchema>;
export type UpkeepConfig = z.output<typeof upkeepSchema>;

/** What routing, assignment, automation and upkeep read; the full `Ruleset` satisfies it once wired. */
export interface RoutingRuleset {
  version: string;
  intent: { intents: readonly string[] };
  pipelines: readonly PipelineConfig[];
  routing: RoutingConfig;
  automation: readonly AutomationRuleConfig[];
  upkeep: UpkeepConfig;
  team: TeamConfig;
}

/**
 * The member ids in a pipeline's rotation: its `assignment.members`, else every rep in the team.
 *
 * @example
 * rotationMembers(pipeline, team) // ['anna', 'ben', 'carla']
 */
export function rotationMembers(pipeline: Pick<PipelineConfig, 'assignment'>, team: TeamConfig): string[] {
  return pipeline.assignment.members ?? team.members.filter((m) => m.role === 'rep').map((m) => m.id);
}
