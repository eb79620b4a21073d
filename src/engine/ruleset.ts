import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { type ErrorIssue, LeadlineError } from '../errors.ts';
import { type Condition, compileMatcher, conditionSchema, type EventMatcher } from './conditions.ts';
import { eventTypeSchema } from './event.ts';
import { crossCheck, type Path, type RawIssue } from './ruleset-checks.ts';
import { automationSchema, pipelineSchema, routingSchema, teamSchema, upkeepSchema } from './routing-schema.ts';

/**
 * The ruleset: one YAML file RevOps edits (rules/default.yml is the shipped one). Parsed objects
 * keep the file's snake_case keys so a key named in an error or a doc is the key in the file.
 *
 * Points semantics worth knowing when editing rules:
 * - `caps` are absolute points per rule: `daily` per calendar day of the event in `timezone`,
 *   `lifetime` over the lead's whole history (expired awards still count, so decay never
 *   re-opens a lifetime cap). An award is clipped to what the cap has left.
 * - `expires_days` makes a positive award stop counting `expires_days × 24 h` after the event.
 *   Negative awards never expire: penalties stay, and a score can never rise just because time
 *   passes. A negative rule with `expires_days` is therefore rejected.
 */

export { type Condition, type ConditionOp, compileMatcher, type EventMatcher } from './conditions.ts';

export const SOURCE_SCHEMES = [
  'standard',
  'hubspot-v3',
  'calendly',
  'typeform',
  'moco',
  'lemlist',
  'url-token',
] as const;
export type SourceScheme = (typeof SOURCE_SCHEMES)[number];
export const SOURCE_FORMATS = ['native', 'hubspot', 'calendly', 'typeform', 'lemlist', 'moco'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];
const DEFAULT_FORMAT: Record<SourceScheme, SourceFormat> = {
  standard: 'native',
  'url-token': 'native',
  'hubspot-v3': 'hubspot',
  calendly: 'calendly',
  typeform: 'typeform',
  lemlist: 'lemlist',
  moco: 'moco',
};

export const SCORE_CATEGORIES = ['fit', 'engagement', 'behaviour', 'intent', 'negative'] as const;
export type ScoreCategory = (typeof SCORE_CATEGORIES)[number];
export const TIERS = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const;
export type Tier = (typeof TIERS)[number];
/** Intent names are configurable (`intent.intents`); the shipped ones are research, b2b, co_creation. */
export type Intent = string;
export const DEFAULT_INTENTS: readonly Intent[] = ['research', 'b2b', 'co_creation'];

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,99}$/, 'use lowercase letters, digits, _ . - (at most 100)');
const positiveInt = z.number().int().positive();
const slackChannel = z
  .string()
  .regex(/^(#[a-z0-9][a-z0-9_-]{0,79}|[CG][A-Z0-9]{2,20})$/, 'must be a #channel-name or a Slack channel id');
const intentName = z.string().regex(/^[a-z][a-z0-9_]{0,49}$/, 'use lowercase letters, digits and _');
const eventSelector = z
  .string()
  .refine((value) => value === '*' || eventTypeSchema.safeParse(value).success, {
    error: 'must be an event type like form.submitted, or * for any event',
  });
const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

const sourceSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be URL-safe: lowercase letters, digits, - and _'),
    scheme: z.enum(SOURCE_SCHEMES),
    format: z.enum(SOURCE_FORMATS).optional(),
    secret: z
      .string()
      .min(16, 'must be at least 16 characters')
      .refine((secret) => secret.trim() !== '', 'must not be only spaces')
      .optional(),
    secret_env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    // A flood limit per web process: one sender's burst cannot take the intake from the others.
    rate_limit: z
      .strictObject({
        per_second: z.number().positive().max(1_000_000),
        burst: z.number().int().min(1).max(1_000_000).optional(),
      })
      .optional(),
    // `park` for senders that switch an integration off after one 4xx (RB2B): a correctly signed
    // delivery Leadline cannot read is stored for inspection and answered 202.
    on_invalid: z.enum(['refuse', 'park']).default('refuse'),
  })
  .superRefine((source, ctx) => {
    if ((source.secret === undefined) === (source.secret_env === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['secret_env'],
        message: 'set exactly one of secret or secret_env',
      });
    }
  })
  .transform((source) => ({ ...source, format: source.format ?? DEFAULT_FORMAT[source.scheme] }));

const scoringRuleSchema = z.strictObject({
  id,
  description: z.string().max(500).optional(),
  event: eventSelector,
  when: z.array(conditionSchema).default([]),
  points: z
    .number()
    .int()
    .min(-100)
    .max(100)
    .refine((points) => points !== 0, { error: 'must not be 0' }),
  category: z.enum(SCORE_CATEGORIES),
  caps: z.strictObject({ daily: positiveInt.optional(), lifetime: positiveInt.optional() }).optional(),
  expires_days: positiveInt.optional(),
});

const intentRuleSchema = z.strictObject({
  id,
  description: z.string().max(500).optional(),
  event: eventSelector,
  when: z.array(conditionSchema).default([]),
  intent: intentName,
  signal: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/, 'use letters, digits, _ . -'),
  weight: z.number().positive().max(1000),
  tier: z.enum(TIERS),
  decay_hours: z
    .number()
    .positive()
    .max(24 * 366 * 2),
});

const rulesetSchema = z.strictObject({
  version: z
    .union([z.string().trim().min(1), z.number()], { error: 'expected a label such as "2025-06" or 3' })
    .transform(String)
    .default('0'),
  timezone: z
    .string()
    .refine(isTimeZone, { error: 'unknown IANA time zone (e.g. Europe/Berlin)' })
    .transform((zone) => new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone)
    .default('Europe/Berlin'),
  sources: z.array(sourceSchema).default([]),
  scoring: z.strictObject({ rules: z.array(scoringRuleSchema).default([]) }).prefault({}),
  thresholds: z
    .array(z.strictObject({ name: id, score: z.number().int().min(1).max(100) }))
    .default([{ name: 'hot', score: 80 }]),
  intent: z
    .strictObject({
      intents: z
        .array(intentName)
        .min(1)
        .default([...DEFAULT_INTENTS]),
      rules: z.array(intentRuleSchema).default([]),
    })
    .prefault({}),
  pipelines: z.array(pipelineSchema).default([]),
  // What deals are worth: the currency amounts are in unless a deal names its own, and the
  // products a won deal's offer lists.
  deals: z
    .strictObject({
      currency: z
        .string()
        .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code like EUR')
        .default('EUR'),
      products: z
        .array(
          z.strictObject({
            id,
            name: z.string().trim().min(1).max(200),
            unit: z.string().trim().min(1).max(20).default('pcs'),
            unit_price: z.number().nonnegative(),
          }),
        )
        .default([]),
    })
    .prefault({}),
  // MOCO, the finance system won deals go to. Without this section nothing is sent there.
  moco: z
    .strictObject({
      /** What a won deal becomes in MOCO besides the customer, the contact and the deal. */
      on_won: z.enum(['offer', 'invoice', 'none']).default('offer'),
      /** The MOCO user who owns deals whose owner MOCO does not know by email. */
      default_user_id: z.number().int().positive().optional(),
      /** VAT in percent on offers and invoices. */
      tax: z.number().min(0).max(100).default(19),
      /** Days an offer is valid, or an invoice is due. */
      due_days: z.number().int().min(0).max(365).default(30),
    })
    .optional(),
  routing: routingSchema,
  automation: automationSchema,
  upkeep: upkeepSchema,
  // Speed to lead: how long each alert priority may stay unclaimed, and the chain after that
  // deadline — remind the owner, escalate to the managers, reassign — at multiples of it.
  sla: z
    .strictObject({
      claim_minutes: z
        .strictObject({
          CRITICAL: positiveInt.default(5),
          HIGH: positiveInt.default(60),
          MEDIUM: positiveInt.default(24 * 60),
          LOW: positiveInt.default(72 * 60),
        })
        .prefault({}),
      remind_at: z.number().positive().default(1),
      escalate_at: z.number().positive().default(2),
      reassign_at: z.number().positive().default(3),
    })
    .prefault({}),
  // Where Leadline posts in Slack: channel names (#name) or ids (C…).
  slack: z
    .strictObject({
      hot_leads_channel: slackChannel.default('#hot-leads'),
      routing_channel: slackChannel.default('#lead-routing'),
      managers_channel: slackChannel.default('#sales-managers'),
      digest_channel: slackChannel.default('#sales'),
      deals_channel: slackChannel.default('#deals'),
      digest_cron: z.string().min(1).default('0 8 * * 1-5'),
      hot_threshold: id.default('hot'),
    })
    .prefault({}),
  team: teamSchema,
});

type RulesetData = z.output<typeof rulesetSchema>;
export type Source = RulesetData['sources'][number];
export type Threshold = RulesetData['thresholds'][number];
export type Pipeline = RulesetData['pipelines'][number];
export type RoutingSettings = RulesetData['routing'];
export type AutomationRule = RulesetData['automation'][number];
export type SlaSettings = RulesetData['sla'];
export type SlackSettings = RulesetData['slack'];
export type TeamSettings = RulesetData['team'];
export type UpkeepSettings = RulesetData['upkeep'];
export type DealSettings = RulesetData['deals'];

export interface ScoringRule extends Omit<z.output<typeof scoringRuleSchema>, 'when'> {
  when: Condition[];
  /** Precompiled event-type + conditions test. */
  matches: EventMatcher;
}
export interface IntentRule extends Omit<z.output<typeof intentRuleSchema>, 'when'> {
  when: Condition[];
  matches: EventMatcher;
}

export interface Ruleset extends Omit<RulesetData, 'version' | 'scoring' | 'intent'> {
  /** Identifies the exact rules that made a decision: the caller's content hash, else the file's label. */
  version: string;
  /** The file's own `version:` label, for humans. */
  label: string;
  scoring: { rules: ScoringRule[] };
  intent: { intents: Intent[]; rules: IntentRule[] };
}

export interface ParseRulesetOptions {
  /** Recorded on every decision; pass the file's content hash. Defaults to the file's `version:` label. */
  version?: string;
}

function zodIssues(error: z.ZodError): RawIssue[] {
  return error.issues.flatMap((issue): RawIssue[] => {
    const path = issue.path.map((part) => (typeof part === 'number' ? part : String(part)));
    // One issue per unknown key, at the key itself: an unknown key is usually a typo.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown key (check the spelling)' }));
    }
    return [{ path, message: issue.message }];
  });
}

function fail(issues: readonly ErrorIssue[]): never {
  const shown = issues
    .slice(0, 3)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  throw new LeadlineError('ruleset_invalid', `ruleset is invalid: ${shown}${more}`, { status: 400, issues });
}

/** Issues with dotted paths, in file order when lines are known (that is how people fix them). */
function toIssues(raw: readonly RawIssue[], lineOf?: (path: Path) => number | null): ErrorIssue[] {
  return raw
    .map((issue) => ({ issue, line: lineOf?.(issue.path) ?? null }))
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    .map(({ issue, line }) => ({
      path: issue.path.length === 0 ? '(root)' : issue.path.join('.'),
      message: line === null ? issue.message : `${issue.message} (line ${line})`,
    }));
}

function build(data: unknown, version: string | undefined, lineOf?: (path: Path) => number | null): Ruleset {
  const parsed = rulesetSchema.safeParse(data);
  if (!parsed.success) fail(toIssues(zodIssues(parsed.error), lineOf));
  const cross = crossCheck(parsed.data);
  if (cross.length > 0) fail(toIssues(cross, lineOf));
  const { version: label, scoring, intent, ...rest } = parsed.data;
  return {
    ...rest,
    version: version ?? label,
    label,
    scoring: {
      rules: scoring.rules.map((rule) => ({ ...rule, matches: compileMatcher(rule.event, rule.when) })),
    },
    intent: {
      intents: intent.intents,
      rules: intent.rules.map((rule) => ({ ...rule, matches: compileMatcher(rule.event, rule.when) })),
    },
  };
}

/**
 * Parses and validates ruleset YAML. Every problem is reported at once (per stage: first syntax,
 * then fields, then cross-field checks) as `LeadlineError('ruleset_invalid')` whose `issues`
 * carry the dotted path, the reason and the line in the file.
 *
 * @example
 * const ruleset = parseRuleset(readFileSync('rules/default.yml', 'utf8'), { version: sha256 });
 * // invalid input throws: issues[0] = { path: 'scoring.rules.3.points', message: 'Invalid input: expected number, received string (line 57)' }
 */
export function parseRuleset(yamlText: string, options: ParseRulesetOptions = {}): Ruleset {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    fail(
      doc.errors.map((err) => {
        const pos = lines.linePos(err.pos[0]);
        return { path: '(yaml)', message: `line ${pos.line}, column ${pos.col}: ${err.message}` };
      }),
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    fail([{ path: '(root)', message: 'expected a mapping of sections (version, sources, scoring, …)' }]);
  }
  const lineOf = (path: Path): number | null => {
    // The deepest node that exists: a missing key is reported at its parent's line.
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node?.range !== undefined) return lines.linePos(node.range[0]).line;
    }
    return null;
  };
  return build(data, options.version, lineOf);
}

/**
 * Validates an already-decoded ruleset object (e.g. loaded from JSON), with the same checks as
 * `parseRuleset` but without line numbers.
 *
 * @example
 * const ruleset = rulesetFromObject({ scoring: { rules: [] } }, { version: 'test' });
 */
export function rulesetFromObject(data: unknown, options: ParseRulesetOptions = {}): Ruleset {
  return build(data, options.version);
}
