import { z } from 'zod';
import { hubspotWorkflowType } from '../deals.ts';
import type { ErrorIssue } from '../../errors.ts';
import type { LeadlineEvent, MetadataValue } from '../event.ts';
import type { MapContext, MapResult } from './common.ts';
import {
  batchSizeIssue,
  fail,
  hasIdentity,
  idSchema,
  isoFrom,
  isRecord,
  leadOf,
  looseText,
  metadata,
  metadataValue,
  normalizeEmail,
  ok,
  pathOf,
  snake,
  text,
  utmOf,
  zodIssues,
} from './common.ts';

/** One HubSpot subscription event as the mapper reads it (also the source of its OpenAPI schema). */
export const subscriptionEventSchema = z.object({
  eventId: idSchema.optional(),
  subscriptionId: idSchema.optional(),
  portalId: idSchema.optional(),
  occurredAt: z
    .number()
    .int()
    .nonnegative()
    .refine((ms) => isoFrom(ms) !== null, 'must be a time in epoch milliseconds'),
  subscriptionType: z.string().trim().min(1).max(100),
  objectId: idSchema,
  objectTypeId: looseText,
  propertyName: looseText,
  propertyValue: z.unknown().optional(),
  changeSource: looseText,
});
type SubscriptionEvent = z.infer<typeof subscriptionEventSchema>;

// The contact lifecycle gets the verbs the rest of Leadline uses; every other subscription
// type keeps its own words, snake_cased (`deal.propertyChange` → `crm.deal_property_change`).
const CONTACT_TYPES: ReadonlyMap<string, string> = new Map([
  ['contact.creation', 'crm.contact_created'],
  ['contact.propertyChange', 'crm.contact_updated'],
  ['contact.deletion', 'crm.contact_deleted'],
]);

/**
 * Maps a HubSpot delivery to events.
 *
 * Detection: HubSpot's webhook subscriptions always POST a JSON **array** of events, while a
 * workflow's "Send a webhook" action POSTs a single **object** (the contact record, legacy
 * `{vid, properties: {email: {value}}}` or CRM `{id, properties: {email}}`, or a custom body
 * of chosen fields such as `{email, firstname, hs_object_id}`). So an array is read as
 * subscription events and an object as one workflow contact → `form.submitted`.
 *
 * @example
 * mapHubspot([{ eventId: 1, occurredAt: 1700000000000, subscriptionType: 'contact.creation', objectId: 51 }], ctx)
 * // events[0]: { id: '1', type: 'crm.contact_created', lead: { ids: { hubspot_id: '51' } }, … }
 */
export function mapHubspot(body: unknown, ctx: MapContext): MapResult {
  if (Array.isArray(body)) return mapSubscriptionEvents(body, ctx);
  if (isRecord(body)) return mapWorkflowContact(body, ctx);
  return fail([
    { path: '(root)', message: 'expected a JSON array of HubSpot events or a workflow contact object' },
  ]);
}

function mapSubscriptionEvents(body: unknown[], ctx: MapContext): MapResult {
  const sizeIssue = batchSizeIssue(body.length, '(root)');
  if (sizeIssue !== null) return fail([sizeIssue]);
  const issues: ErrorIssue[] = [];
  const events: LeadlineEvent[] = [];
  let ignored = 0;
  body.forEach((item, index) => {
    const parsed = subscriptionEventSchema.safeParse(item);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, String(index)));
      return;
    }
    const type = eventType(parsed.data.subscriptionType);
    if (type === null) {
      issues.push({
        path: pathOf(index, 'subscriptionType'),
        message: 'not a usable HubSpot subscription type',
      });
      return;
    }
    // Deal and company ids share HubSpot's numbering with contacts: treating them as a person's
    // id could merge a deal into the wrong lead, so only contact events reach the engine.
    if (!parsed.data.subscriptionType.startsWith('contact.')) {
      ignored += 1;
      return;
    }
    events.push(subscriptionEvent(parsed.data, type, ctx));
  });
  return issues.length > 0 ? fail(issues) : ok(events, ignored);
}

function eventType(subscriptionType: string): string | null {
  const known = CONTACT_TYPES.get(subscriptionType);
  if (known !== undefined) return known;
  const word = snake(subscriptionType);
  return word === null ? null : `crm.${word}`;
}

function subscriptionEvent(event: SubscriptionEvent, type: string, ctx: MapContext): LeadlineEvent {
  const objectType = event.subscriptionType.split('.')[0];
  const changesEmail = event.subscriptionType === 'contact.propertyChange' && event.propertyName === 'email';
  return {
    id: event.eventId ?? null,
    type,
    source: ctx.source,
    occurredAt: isoFrom(event.occurredAt) ?? ctx.receivedAt.toISOString(),
    lead: leadOf({}, changesEmail ? normalizeEmail(event.propertyValue) : null, {
      hubspot_id: event.objectId,
    }),
    metadata: metadata({
      subscription_type: event.subscriptionType,
      object_type: objectType,
      object_type_id: event.objectTypeId,
      object_id: event.objectId,
      portal_id: event.portalId,
      subscription_id: event.subscriptionId,
      change_source: event.changeSource,
      property_name: event.propertyName,
      property_value: event.propertyName === undefined ? undefined : metadataValue(event.propertyValue),
    }),
    utm: {},
  };
}

/** A workflow field with where it sits in the body, so issues can point at it. */
interface Field {
  value: unknown;
  path: string;
}

const PROFILE_FIELDS = {
  firstName: 'firstname',
  lastName: 'lastname',
  company: 'company',
  title: 'jobtitle',
  country: 'country',
  region: 'state',
  website: 'website',
} as const;
const ID_FIELDS = ['hs_object_id', 'vid', 'canonical-vid', 'objectId', 'id'] as const;
const UTM_FIELDS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;
// Fields already mapped elsewhere, plus HubSpot bookkeeping with no value for a lead desk.
const SKIPPED_FIELDS: ReadonlySet<string> = new Set<string>([
  'email',
  'phone',
  'mobilephone',
  'is-contact',
  'profile-token',
  'profile-url',
  ...Object.values(PROFILE_FIELDS),
  ...ID_FIELDS,
  ...UTM_FIELDS,
]);
const KEPT_HS_FIELDS: ReadonlySet<string> = new Set([
  'hs_analytics_source',
  'hs_latest_source',
  'hs_lead_status',
]);
/** Workflow bodies can carry every contact property; keep the metadata small. */
const MAX_WORKFLOW_METADATA = 50;

function mapWorkflowContact(body: Record<string, unknown>, ctx: MapContext): MapResult {
  const fields = workflowFields(body);
  const emailField = fields.get('email');
  const email = normalizeEmail(emailField?.value);
  if (emailField !== undefined && email === null && text(emailField.value) !== undefined) {
    return fail([{ path: emailField.path, message: 'Invalid email address' }]);
  }
  const value = (name: string): unknown => fields.get(name)?.value;
  const hubspotId = ID_FIELDS.map((name) => text(value(name))).find((id) => id !== undefined);
  const lead = leadOf(
    {
      ...Object.fromEntries(Object.entries(PROFILE_FIELDS).map(([to, from]) => [to, text(value(from))])),
      phone: text(value('phone')) ?? text(value('mobilephone')),
    },
    email,
    { hubspot_id: hubspotId },
  );
  if (!hasIdentity(lead)) {
    return fail([
      {
        path: '(root)',
        message:
          'expected a JSON array of HubSpot events, or a workflow contact with an email or a contact id (vid, hs_object_id)',
      },
    ]);
  }
  const form = latestFormSubmission(body);
  const event: LeadlineEvent = {
    id: null,
    // A deal workflow sends the associated contact with the deal's stage: closed won / lost close it.
    type: hubspotWorkflowType(value('dealstage')),
    source: ctx.source,
    occurredAt: isoFrom(form?.timestamp) ?? ctx.receivedAt.toISOString(),
    lead,
    metadata: metadata({ form_id: form?.formId, form_title: form?.title, page_url: form?.pageUrl }),
    utm: utmOf({
      source: value('utm_source'),
      medium: value('utm_medium'),
      campaign: value('utm_campaign'),
      term: value('utm_term'),
      content: value('utm_content'),
    }),
  };
  addContactProperties(event.metadata, fields);
  return ok([event]);
}

/**
 * The body's contact fields by name: `properties` (values may be wrapped as `{value}`) then the
 * top-level scalars, which win because a custom request body is the workflow author's choice.
 */
function workflowFields(body: Record<string, unknown>): Map<string, Field> {
  const fields = new Map<string, Field>();
  if (isRecord(body.properties)) {
    for (const [name, raw] of Object.entries(body.properties)) {
      const wrapped = isRecord(raw) && 'value' in raw;
      fields.set(name, {
        value: wrapped ? raw.value : raw,
        path: pathOf('properties', name, wrapped ? 'value' : ''),
      });
    }
  }
  for (const [name, raw] of Object.entries(body)) {
    if (name !== 'properties' && !isRecord(raw) && !Array.isArray(raw)) {
      fields.set(name, { value: raw, path: name });
    }
  }
  return fields;
}

const formSubmissionSchema = z.object({
  'form-id': looseText,
  title: looseText,
  'page-url': looseText,
  timestamp: z.number().optional().catch(undefined),
});

const workflowScalar = z.union([z.string(), z.number()]).optional();

/**
 * A workflow "Send a webhook" body, for documentation only: `mapWorkflowContact` reads any object
 * by field name (see `workflowFields`) and does not parse with this. Other fields become metadata.
 */
export const workflowContactSchema = z
  .object({
    email: z.string().optional(),
    // The names the mapper reads, from its own lists, so the documentation cannot drift from them.
    ...Object.fromEntries(
      [...Object.values(PROFILE_FIELDS), 'phone', 'mobilephone', ...ID_FIELDS, ...UTM_FIELDS].map((name) => [name, workflowScalar]),
    ),
    dealstage: workflowScalar.describe('a deal workflow\'s stage: closedwon / closedlost close the deal'),
    properties: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('the contact record\'s properties; values may be wrapped as {"value": …}'),
    'form-submissions': z.array(formSubmissionSchema).optional(),
  })
  .loose();

/** The newest entry of the legacy contact record's `form-submissions`, when there is one. */
function latestFormSubmission(
  body: Record<string, unknown>,
): { formId?: string; title?: string; pageUrl?: string; timestamp?: number } | undefined {
  const submissions = body['form-submissions'];
  if (!Array.isArray(submissions)) return undefined;
  let latest: z.infer<typeof formSubmissionSchema> | undefined;
  for (const item of submissions) {
    const parsed = formSubmissionSchema.safeParse(item);
    if (!parsed.success) continue;
    if (latest === undefined || (parsed.data.timestamp ?? 0) > (latest.timestamp ?? 0)) latest = parsed.data;
  }
  if (latest === undefined) return undefined;
  return {
    formId: latest['form-id'],
    title: latest.title,
    pageUrl: latest['page-url'],
    timestamp: latest.timestamp,
  };
}

function addContactProperties(target: Record<string, MetadataValue>, fields: Map<string, Field>): void {
  let added = 0;
  for (const [name, field] of fields) {
    if (added >= MAX_WORKFLOW_METADATA) return;
    if (SKIPPED_FIELDS.has(name) || name === '__proto__' || name.length > 100) continue;
    if (Object.hasOwn(target, name)) continue;
    if (name.startsWith('hs_') && !KEPT_HS_FIELDS.has(name)) continue;
    const flat = metadataValue(field.value);
    if (flat === undefined || flat === null) continue;
    target[name] = flat;
    added += 1;
  }
}
