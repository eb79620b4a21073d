import { z } from 'zod';
import type { LeadlineEvent } from '../event.ts';
import type { MapContext, MapResult } from './common.ts';
import {
  fail,
  idSchema,
  isoFrom,
  isRecord,
  leadOf,
  looseText,
  metadata,
  normalizeEmail,
  ok,
  optionalObject,
  optionalTimestamp,
  snake,
  text,
  zodIssues,
} from './common.ts';

const TARGET_HEADER = 'X-Moco-Target';
const EVENT_HEADER = 'X-Moco-Event';
const TIMESTAMP_HEADER = 'X-Moco-Timestamp';

const PAST_TENSE: ReadonlyMap<string, string> = new Map([
  ['create', 'created'],
  ['update', 'updated'],
  ['delete', 'deleted'],
  ['archive', 'archived'],
]);

const number = z.number().optional().catch(undefined);
const named = { id: idSchema.optional().catch(undefined), name: looseText };

/** A MOCO entity as the mapper reads it (also the source of its OpenAPI schema). */
export const entitySchema = z.object({
  id: idSchema,
  name: looseText,
  title: looseText,
  identifier: looseText,
  status: looseText,
  currency: looseText,
  money: number,
  net_total: number,
  gross_total: number,
  created_at: optionalTimestamp,
  updated_at: optionalTimestamp,
  company: optionalObject(named),
  customer: optionalObject(named),
  deal: optionalObject(named),
  category: optionalObject(named),
  // Contact fields
  firstname: looseText,
  lastname: looseText,
  job_position: looseText,
  work_email: looseText,
  work_phone: looseText,
  mobile_phone: looseText,
});
type Entity = z.infer<typeof entitySchema>;

export const personSchema = z.object({ id: idSchema, name: looseText, firstname: looseText, lastname: looseText });

// `Invoice::Payment`: a payment names its invoice, never a person.
export const paymentSchema = z.object({
  id: idSchema,
  date: looseText,
  paid_total: z.number().refine(Number.isFinite, 'must be a finite number'),
  currency: looseText,
  invoice: z.object({ id: idSchema, identifier: looseText, title: looseText }),
  updated_at: optionalTimestamp,
  created_at: optionalTimestamp,
});

/**
 * Maps a MOCO webhook (the entity JSON; `X-Moco-Target` / `X-Moco-Event` headers say what
 * happened) to events. Contacts identify by MOCO contact id and work email; deals and offers by
 * the linked person. Companies, and entities with no person, yield no event and count as ignored.
 * Invoice payments are the one kind of event that names no person: they carry the invoice's MOCO
 * id, and processing applies them to the deal that holds that invoice (see `paymentOf`).
 *
 * @example
 * // headers: X-Moco-Target: Deal, X-Moco-Event: update
 * mapMoco({ id: 123, name: 'Website V2', status: 'won', person: { id: 77, name: 'Max Muster' } }, ctx)
 * // events[0]: { type: 'moco.deal_updated', lead: { fullName: 'Max Muster', ids: { moco_contact_id: '77' } }, metadata: { deal_status: 'won', … } }
 */
export function mapMoco(body: unknown, ctx: MapContext): MapResult {
  const rawTarget = ctx.headers.get(TARGET_HEADER)?.trim() ?? '';
  const rawEvent = ctx.headers.get(EVENT_HEADER)?.trim() ?? '';
  const target = rawTarget === '' ? null : snake(rawTarget);
  const verb = rawEvent === '' ? null : snake(rawEvent);
  if (target === null || verb === null) {
    const bad = target === null ? [TARGET_HEADER, rawTarget] : [EVENT_HEADER, rawEvent];
    return fail([
      {
        path: `headers.${bad[0]}`,
        message: bad[1] === '' ? 'header is required for MOCO webhooks' : 'not a usable MOCO header value',
      },
    ]);
  }
  // Companies are accounts, not people; Leadline has no lead to attach them to.
  if (target === 'company') return ok([], 1);
  if (!isRecord(body))
    return fail([{ path: '(root)', message: 'expected the MOCO entity as a JSON object' }]);
  const type = `moco.${target}_${PAST_TENSE.get(verb) ?? (verb.endsWith('e') ? `${verb}d` : `${verb}ed`)}`;
  if (target === 'invoice_payment') return paymentEvent(body, type, ctx);
  const parsed = entitySchema.safeParse(body);
  if (!parsed.success) return fail(zodIssues(parsed.error));
  const entity = parsed.data;
  const lead = target === 'contact' ? contactLead(entity) : personLead(body, entity);
  if (lead === null) return ok([], 1);
  const status = entity.status;
  const event: LeadlineEvent = {
    id: null,
    type,
    source: ctx.source,
    occurredAt: occurredAt(ctx, entity),
    lead,
    metadata: metadata({
      entity_id: entity.id,
      // On a contact these are the person's own name and honorific, already on the lead.
      name: target === 'contact' ? undefined : entity.name,
      title: target === 'contact' ? undefined : entity.title,
      identifier: entity.identifier,
      status,
      deal_status: target === 'deal' && (status === 'won' || status === 'lost') ? status : undefined,
      stage: entity.category?.name,
      deal_id: entity.deal?.id,
      money: entity.money,
      net_total: entity.net_total,
      gross_total: entity.gross_total,
      currency: entity.currency,
    }),
    utm: {},
  };
  return ok([event]);
}

function paymentEvent(body: Record<string, unknown>, type: string, ctx: MapContext): MapResult {
  const parsed = paymentSchema.safeParse(body);
  if (!parsed.success) return fail(zodIssues(parsed.error));
  const payment = parsed.data;
  const paidOn = payment.date !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(payment.date) ? payment.date : undefined;
  const event: LeadlineEvent = {
    id: null,
    type,
    source: ctx.source,
    occurredAt: occurredAt(ctx, payment),
    lead: { ids: {} },
    metadata: metadata({
      entity_id: payment.id,
      invoice_id: payment.invoice.id,
      invoice_identifier: payment.invoice.identifier,
      paid_total: payment.paid_total,
      currency: payment.currency,
      paid_on: paidOn,
    }),
    utm: {},
  };
  return ok([event]);
}

function contactLead(entity: Entity): LeadlineEvent['lead'] {
  return leadOf(
    {
      firstName: entity.firstname,
      lastName: entity.lastname,
      title: entity.job_position,
      phone: entity.work_phone ?? entity.mobile_phone,
      company: entity.company?.name,
    },
    // A malformed address in the CRM must not bounce the delivery: MOCO retries and then
    // disables the hook. The contact id identifies the lead anyway.
    normalizeEmail(entity.work_email),
    { moco_contact_id: entity.id },
  );
}

/** The deal's / offer's person (`person`, or `contact` on offers) as the lead, or null when none. */
function personLead(body: Record<string, unknown>, entity: Entity): LeadlineEvent['lead'] | null {
  const parsed = personSchema.safeParse(body.person ?? body.contact);
  if (!parsed.success) return null;
  const person = parsed.data;
  const joined = [person.firstname, person.lastname].filter((part) => part !== undefined).join(' ');
  return leadOf(
    {
      fullName: person.name ?? text(joined),
      firstName: person.firstname,
      lastName: person.lastname,
      company: entity.company?.name ?? entity.customer?.name,
    },
    null,
    { moco_contact_id: person.id },
  );
}

/** When MOCO says it happened: its timestamp header, else the entity's own times, else arrival. */
function occurredAt(ctx: MapContext, entity: { updated_at?: string | undefined; created_at?: string | undefined }): string {
  return headerTime(ctx.headers.get(TIMESTAMP_HEADER)) ?? isoFrom(entity.updated_at ?? entity.created_at) ?? ctx.receivedAt.toISOString();
}

/** `X-Moco-Timestamp` (epoch ms) as ISO, or null when absent or not a plausible time. */
function headerTime(value: string | null): string | null {
  const trimmed = value?.trim() ?? '';
  return /^\d{10,15}$/.test(trimmed) ? isoFrom(Number(trimmed)) : null;
}
