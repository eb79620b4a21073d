import { z } from 'zod';
import type { ErrorIssue } from '../../errors.ts';
import { formatIssues } from '../../errors.ts';
import type { IdentityKind, LeadIdentity, LeadlineEvent, LeadProfile, MetadataValue, Utm } from '../event.ts';
import { IDENTITY_KINDS, MAX_EVENTS_PER_DELIVERY } from '../event.ts';

/** What intake knows about a delivery besides its body. */
export interface MapContext {
  /** The configured source name, copied onto every event. */
  source: string;
  /** When Leadline received the delivery; the fallback for `occurredAt`. */
  receivedAt: Date;
  headers: { get(name: string): string | null };
}

/** Events mapped from one delivery, or why the body could not be mapped. */
export type MapResult =
  | { ok: true; events: LeadlineEvent[]; ignored: number }
  | { ok: false; issues: ErrorIssue[] };

/** Longest metadata string kept; longer ones are cut so one chatty field cannot bloat a row. */
export const MAX_METADATA_TEXT = 2000;
/** Longest profile / utm / id string kept, matching the native wire format's limit. */
export const MAX_SHORT_TEXT = 500;

export function ok(events: LeadlineEvent[], ignored = 0): MapResult {
  return { ok: true, events, ignored };
}

export function fail(issues: ErrorIssue[]): MapResult {
  return { ok: false, issues };
}

/** Zod issues as `path: message` pairs, paths prefixed with where the parsed value sits in the body. */
export function zodIssues(error: z.ZodError, prefix = ''): ErrorIssue[] {
  return formatIssues(error.issues, prefix);
}

/** Joins path segments into the dotted form used in issues (`(root)` when empty). */
export function pathOf(...parts: (string | number)[]): string {
  const path = parts
    .map(String)
    .filter((part) => part !== '')
    .join('.');
  return path === '' ? '(root)' : path;
}

/** The issue for a batch over the delivery limit, or null when the size is fine. */
export function batchSizeIssue(count: number, path: string): ErrorIssue | null {
  if (count === 0) return { path, message: 'expected at least one event' };
  if (count > MAX_EVENTS_PER_DELIVERY) {
    return { path, message: `at most ${MAX_EVENTS_PER_DELIVERY} events per delivery, got ${count}` };
  }
  return null;
}

/** Cuts `value` to `max` UTF-16 units without leaving half a surrogate pair behind. */
export function cut(value: string, max: number): string {
  if (value.length <= max) return value;
  const head = value.slice(0, max);
  const last = head.charCodeAt(head.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? head.slice(0, -1) : head;
}

/**
 * Trimmed, bounded text from a loosely typed field: strings and finite numbers are kept,
 * blanks and everything else become undefined. Senders fill optional fields with `""`,
 * `null` or numbers; none of that should reject a delivery.
 */
export function text(value: unknown, max = MAX_SHORT_TEXT): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : cut(trimmed, max);
}

/** A zod field that never fails: see {@link text}. */
export const looseText = z
  .unknown()
  .transform((value) => text(value))
  .optional();

const emailFormat = z.email('Invalid email address').max(320);

/** Trimmed + lowercased email, or null when it is not a plausible address. */
export function normalizeEmail(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const email = value.trim().toLowerCase();
  return emailFormat.safeParse(email).success ? email : null;
}

/** A required email field: trimmed, lowercased, validated. */
export const emailSchema = z.string().trim().toLowerCase().pipe(emailFormat);

/** An optional email field: blank strings and null count as absent, anything else must be valid. */
export const optionalEmailSchema = z.preprocess(
  (value) => (value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value),
  emailSchema.optional(),
);

/** An external id given as a number or a non-blank string, as a string. */
export const idSchema = z.union([
  z.number().refine(Number.isFinite, 'must be a finite number').transform(String),
  z.string().trim().min(1).max(MAX_SHORT_TEXT),
]);

/**
 * ISO-8601 (UTC) for a date-ish value, or null when it does not name a real instant Leadline can
 * store: years 1 to 9999 (PostgreSQL has no year 0, and ISO-8601 needs four digits).
 */
export function isoFrom(value: string | number | Date | undefined | null): string | null {
  if (value === undefined || value === null || value === '') return null;
  const date = value instanceof Date ? value : new Date(value);
  const time = date.getTime();
  if (!Number.isFinite(time)) return null;
  const year = date.getUTCFullYear();
  return year >= 1 && year <= 9999 ? date.toISOString() : null;
}

/**
 * A sender's optional timestamp (ISO-8601 with an offset or `Z`, any fraction). Anything else
 * counts as absent, so the event falls back to `receivedAt`: a vendor changing its date format
 * should not cost Leadline a lead.
 */
export const optionalTimestamp = z.iso
  .datetime({ offset: true })
  .refine((value) => isoFrom(value) !== null)
  .optional()
  .catch(undefined);

/** Copy of `record` without keys whose value is undefined, so events compare and serialise cleanly. */
export function compact<T extends object>(record: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}

/**
 * Flat, bounded metadata: strings trimmed and cut to {@link MAX_METADATA_TEXT}, finite numbers,
 * booleans and null kept; undefined, blanks, NaN and nested values dropped.
 */
export function metadata(entries: Record<string, unknown>): Record<string, MetadataValue> {
  const out: Record<string, MetadataValue> = {};
  for (const [key, value] of Object.entries(entries)) {
    const flat = metadataValue(value);
    if (flat !== undefined) out[key] = flat;
  }
  return out;
}

export function metadataValue(value: unknown): MetadataValue | undefined {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return text(value, MAX_METADATA_TEXT);
  return undefined;
}

const ID_KINDS: ReadonlySet<string> = new Set(IDENTITY_KINDS.filter((kind) => kind !== 'email'));

/**
 * The lead part of an event. Only allowlisted id kinds survive (never `email`, which has its
 * own field), blank values are dropped and the email is normalised.
 */
export function leadOf(
  profile: LeadProfile,
  email: string | null | undefined,
  ids: Partial<Record<string, string | undefined>>,
): LeadIdentity {
  const keptIds: Partial<Record<IdentityKind, string>> = {};
  for (const [kind, value] of Object.entries(ids)) {
    const id = text(value);
    if (id !== undefined && ID_KINDS.has(kind)) keptIds[kind as IdentityKind] = id;
  }
  const cleanProfile: LeadProfile = {};
  for (const [field, value] of Object.entries(profile)) {
    const clean = text(value, field === 'phone' ? 50 : MAX_SHORT_TEXT);
    if (clean !== undefined) cleanProfile[field as keyof LeadProfile] = clean;
  }
  return compact({ ...cleanProfile, email: normalizeEmail(email) ?? undefined, ids: keptIds });
}

/**
 * Every event about a person must point at them: an email or at least one id. (MOCO's invoice
 * payments are the one kind that names an invoice instead; see `paymentOf`.)
 */
export function hasIdentity(lead: LeadIdentity): boolean {
  return lead.email !== undefined || Object.keys(lead.ids).length > 0;
}

/** UTM fields trimmed and bounded, blanks dropped. */
export function utmOf(utm: Partial<Record<keyof Utm, unknown>>): Utm {
  return compact({
    source: text(utm.source),
    medium: text(utm.medium),
    campaign: text(utm.campaign),
    term: text(utm.term),
    content: text(utm.content),
  });
}

/**
 * `camelCase`, `kebab-case`, `Name::Space` or spaced words as one snake_case word usable in an
 * event type, or null when nothing usable is left.
 *
 * @example
 * snake('linkedinInviteDone') // 'linkedin_invite_done'
 * snake('Invoice::Payment') // 'invoice_payment'
 */
export function snake(value: string): string | null {
  const word = value
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^[a-z][a-z0-9_]{0,79}$/.test(word) ? word : null;
}

/** True for a plain JSON object (not an array or null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A nested object the mapper can do without: anything that is not an object counts as absent. */
export function optionalObject<T extends z.ZodRawShape>(shape: T) {
  return z.preprocess((value) => (isRecord(value) ? value : undefined), z.object(shape).optional());
}

/** A list the mapper can do without: anything that is not an array counts as empty. */
export const looseArray = z.preprocess((value) => (Array.isArray(value) ? value : []), z.array(z.unknown()));
