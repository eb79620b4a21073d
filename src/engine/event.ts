import { z } from 'zod';

/**
 * Identifier kinds Leadline resolves leads by, in lookup priority order. Only these kinds
 * ever reach SQL, so no identifier name is built from input.
 */
export const IDENTITY_KINDS = [
  'email',
  'hubspot_id',
  'lemlist_id',
  'linkedin_url',
  'calendly_invitee',
  'typeform_respondent',
  'moco_contact_id',
  'crm_id',
  'anonymous_id',
] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

/** Profile fields a source may supply about the person behind an event. */
export interface LeadProfile {
  firstName?: string | undefined;
  lastName?: string | undefined;
  fullName?: string | undefined;
  company?: string | undefined;
  title?: string | undefined;
  phone?: string | undefined;
  country?: string | undefined;
  region?: string | undefined;
  website?: string | undefined;
}

export interface LeadIdentity extends LeadProfile {
  email?: string | undefined;
  /** External ids keyed by an allowlisted kind (never `email`; that has its own field). */
  ids: Partial<Record<IdentityKind, string>>;
}

export interface Utm {
  source?: string | undefined;
  medium?: string | undefined;
  campaign?: string | undefined;
  term?: string | undefined;
  content?: string | undefined;
}

export type MetadataValue = string | number | boolean | null;

/**
 * The one internal event shape every source is mapped to.
 * `id` is the sender's own id for the event when it has one; intake fills it from the
 * delivery id or a body fingerprint otherwise, so it is always set once stored.
 */
export interface LeadlineEvent {
  id: string | null;
  type: string;
  source: string;
  occurredAt: string;
  lead: LeadIdentity;
  metadata: Record<string, MetadataValue>;
  utm: Utm;
}

/** Event type names: dotted lowercase words, e.g. `form.submitted`, `email.opened`. */
export const eventTypeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be dotted lowercase words like form.submitted');

const shortText = z.string().trim().max(500);
const metadataValue = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

// The years PostgreSQL and ISO-8601 share (mappers apply the same bound through `isoFrom`).
function storableInstant(value: string): boolean {
  const year = new Date(value).getUTCFullYear();
  return year >= 1 && year <= 9999;
}

/** The generic native wire format (snake_case), used by `standard` and `url-token` senders. */
export const nativeEventSchema = z.object({
  id: z.string().min(1).max(200).optional(),
  type: eventTypeSchema,
  occurred_at: z.iso
    .datetime({ offset: true })
    .refine((value) => storableInstant(value), 'must be a time between the years 1 and 9999')
    .optional(),
  lead: z
    .object({
      email: z.email().max(320).optional(),
      first_name: shortText.optional(),
      last_name: shortText.optional(),
      name: shortText.optional(),
      company: shortText.optional(),
      title: shortText.optional(),
      phone: z.string().trim().max(50).optional(),
      country: shortText.optional(),
      region: shortText.optional(),
      website: shortText.optional(),
      ids: z
        .partialRecord(z.enum(IDENTITY_KINDS).exclude(['email']), z.string().trim().min(1).max(500))
        .optional(),
    })
    .refine((lead) => lead.email !== undefined || Object.keys(lead.ids ?? {}).length > 0, {
      message: 'needs an email or at least one id in lead.ids',
    }),
  metadata: z.record(z.string().max(100), metadataValue).optional(),
  utm: z
    .object({
      source: shortText.optional(),
      medium: shortText.optional(),
      campaign: shortText.optional(),
      term: shortText.optional(),
      content: shortText.optional(),
    })
    .optional(),
});
export type NativeEvent = z.infer<typeof nativeEventSchema>;

/** Most events one delivery may carry. */
export const MAX_EVENTS_PER_DELIVERY = 1000;

/** A native body is either one event or `{ "events": [...] }` with up to 1,000 of them. */
export const nativeBodySchema = z.union([
  z.object({ events: z.array(nativeEventSchema).min(1).max(MAX_EVENTS_PER_DELIVERY) }),
  nativeEventSchema,
]);
