import { z } from 'zod';
import { LeadlineError } from '../errors.ts';
import type { LeadlineEvent, LeadProfile } from './event.ts';

/**
 * The condition language shared by scoring and intent rules.
 *
 * Fields a condition may read:
 * - `type`, `source` — the event's type and the Leadline source that sent it;
 * - `metadata.<key>` — any metadata key the event carries;
 * - `utm.source|medium|campaign|term|content`;
 * - `lead.<field>` — the lead as known right after this event was merged into it:
 *   `email`, `email_domain`, `free_mail` (true/false, set by Leadline from the email domain),
 *   `first_name`, `last_name`, `full_name`, `company`, `title`, `phone`, `country`, `region`, `website`.
 *
 * A field is missing when it is absent, null or a blank string. Operators:
 * - `equals`, `in` — case-insensitive after trimming; numbers compare numerically ("5.0" equals 5);
 *   a missing field never matches.
 * - `not_equals` — matches when the field is missing or differs (so "not from the website" holds for
 *   events that carry no source detail at all).
 * - `contains` — case-insensitive substring; `regex` — JavaScript syntax, case-insensitive, compiled once
 *   when the ruleset is parsed; a missing field never matches.
 * - `gt`, `gte`, `lt`, `lte` — the field must be a number or a string holding a finite number.
 * - `exists` — `value: true` (the default) matches present fields, `value: false` missing ones.
 */

/**
 * Lead fields conditions may read, keyed by their name in the ruleset (snake_case like the native
 * wire format, and like the leads table's columns).
 */
export const PROFILE_FIELD_NAMES = {
  first_name: 'firstName',
  last_name: 'lastName',
  full_name: 'fullName',
  company: 'company',
  title: 'title',
  phone: 'phone',
  country: 'country',
  region: 'region',
  website: 'website',
} as const satisfies Record<string, keyof LeadProfile>;
const DERIVED_LEAD_FIELDS = ['email', 'email_domain', 'free_mail'] as const;
const UTM_FIELDS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

export const CONDITION_FIELD_HELP =
  'must be type, source, metadata.<key>, utm.<source|medium|campaign|term|content> or lead.<' +
  [...DERIVED_LEAD_FIELDS, ...Object.keys(PROFILE_FIELD_NAMES)].join('|') +
  '>';

/** What Leadline knows about the lead while an event is being evaluated. */
export interface LeadFacts {
  email: string | null;
  emailDomain: string | null;
  /** null when the lead has no email yet, so `lead.free_mail` counts as missing. */
  freeMail: boolean | null;
  profile: LeadProfile;
}

/** One event in the shape rules are evaluated against. */
export interface EventContext {
  eventId: string;
  occurredAt: Date;
  event: LeadlineEvent;
  lead: LeadFacts;
}

type Scalar = string | number | boolean;
type FieldGetter = (ctx: EventContext) => Scalar | undefined;

function present(value: Scalar | null | undefined): Scalar | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string' && value.trim() === '') return undefined;
  return value;
}

function fieldGetter(field: string): FieldGetter | null {
  if (field === 'type') return (ctx) => present(ctx.event.type);
  if (field === 'source') return (ctx) => present(ctx.event.source);
  const dot = field.indexOf('.');
  if (dot < 0) return null;
  const prefix = field.slice(0, dot);
  const key = field.slice(dot + 1);
  if (key === '') return null;
  if (prefix === 'metadata') {
    // Own keys only: metadata comes from senders and must never reach Object.prototype.
    return (ctx) => (Object.hasOwn(ctx.event.metadata, key) ? present(ctx.event.metadata[key]) : undefined);
  }
  if (prefix === 'utm') {
    const utmKey = UTM_FIELDS.find((name) => name === key);
    return utmKey === undefined ? null : (ctx) => present(ctx.event.utm[utmKey]);
  }
  if (prefix !== 'lead') return null;
  if (key === 'email') return (ctx) => present(ctx.lead.email);
  if (key === 'email_domain') return (ctx) => present(ctx.lead.emailDomain);
  if (key === 'free_mail') return (ctx) => present(ctx.lead.freeMail);
  if (!Object.hasOwn(PROFILE_FIELD_NAMES, key)) return null;
  const profileKey = PROFILE_FIELD_NAMES[key as keyof typeof PROFILE_FIELD_NAMES];
  return (ctx) => present(ctx.lead.profile[profileKey]);
}

/** True when `field` is a path conditions can read (see the module comment). */
export function isConditionField(field: string): boolean {
  return fieldGetter(field) !== null;
}

const scalarValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});
const field = z.string().refine(isConditionField, { error: CONDITION_FIELD_HELP });

function regexProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, 'i');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export const conditionSchema = z.discriminatedUnion('op', [
  z.strictObject({ field, op: z.enum(['equals', 'not_equals']), value: scalarValue }),
  z.strictObject({ field, op: z.literal('in'), value: z.array(scalarValue).min(1) }),
  z.strictObject({ field, op: z.literal('contains'), value: z.string().min(1) }),
  z.strictObject({
    field,
    op: z.literal('regex'),
    value: z
      .string()
      .min(1)
      .superRefine((pattern, ctx) => {
        const problem = regexProblem(pattern);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
      }),
  }),
  z.strictObject({ field, op: z.enum(['gt', 'gte', 'lt', 'lte']), value: z.number() }),
  z.strictObject({ field, op: z.literal('exists'), value: z.boolean().default(true) }),
]);
export type Condition = z.output<typeof conditionSchema>;
export type ConditionOp = Condition['op'];

/** A finite number from a number or numeric text; undefined otherwise. */
export function asNumber(value: Scalar): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** Equal as numbers when both are numeric, else as trimmed case-insensitive text. */
export function sameValue(actual: Scalar, expected: Scalar): boolean {
  const a = asNumber(actual);
  const b = asNumber(expected);
  if (a !== undefined && b !== undefined) return a === b;
  return String(actual).trim().toLowerCase() === String(expected).trim().toLowerCase();
}

type ValueTest = (actual: Scalar | undefined) => boolean;

function valueTest(condition: Condition): ValueTest {
  switch (condition.op) {
    case 'equals':
      return (actual) => actual !== undefined && sameValue(actual, condition.value);
    case 'not_equals':
      return (actual) => actual === undefined || !sameValue(actual, condition.value);
    case 'in':
      return (actual) => actual !== undefined && condition.value.some((v) => sameValue(actual, v));
    case 'contains': {
      const needle = condition.value.toLowerCase();
      return (actual) => actual !== undefined && String(actual).toLowerCase().includes(needle);
    }
    case 'regex': {
      const pattern = new RegExp(condition.value, 'i');
      return (actual) => actual !== undefined && pattern.test(String(actual));
    }
    case 'exists':
      return (actual) => (actual !== undefined) === condition.value;
    default: {
      const op = condition.op;
      const limit = condition.value;
      return (actual) => {
        const n = actual === undefined ? undefined : asNumber(actual);
        if (n === undefined) return false;
        if (op === 'gt') return n > limit;
        if (op === 'gte') return n >= limit;
        if (op === 'lt') return n < limit;
        return n <= limit;
      };
    }
  }
}

/** A rule's precompiled test: event type and every condition. */
export type EventMatcher = (ctx: EventContext) => boolean;

/**
 * Compiles an event selector (`'*'` or an event type) and its conditions into one matcher, so
 * regexes and field paths are resolved once per ruleset instead of once per event.
 *
 * @example
 * const match = compileMatcher('form.submitted', [{ field: 'metadata.form_type', op: 'equals', value: 'demo' }]);
 * match(ctx) // true for a demo form submission
 */
export function compileMatcher(eventType: string, conditions: readonly Condition[]): EventMatcher {
  const tests = conditions.map((condition) => {
    const get = fieldGetter(condition.field);
    if (get === null) {
      throw new LeadlineError('ruleset_invalid', `unreadable condition field ${condition.field}`);
    }
    const test = valueTest(condition);
    return (ctx: EventContext) => test(get(ctx));
  });
  return (ctx) => (eventType === '*' || ctx.event.type === eventType) && tests.every((test) => test(ctx));
}
