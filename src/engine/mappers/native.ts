import type { LeadlineEvent, MetadataValue, NativeEvent } from '../event.ts';
import { nativeBodySchema, nativeEventSchema } from '../event.ts';
import type { MapContext, MapResult } from './common.ts';
import {
  batchSizeIssue,
  cut,
  fail,
  isoFrom,
  isRecord,
  leadOf,
  MAX_METADATA_TEXT,
  ok,
  utmOf,
  zodIssues,
} from './common.ts';

// The batch branch of the union, parsed on its own so issues keep their `events.N.…` paths
// instead of collapsing into one "no union member matched" at the root.
const batchSchema = nativeBodySchema.options[0];

/**
 * Maps Leadline's own wire format (one event, or `{ "events": [...] }`) to events.
 *
 * @example
 * mapNative({ type: 'form.submitted', lead: { email: 'ada@example.com' } }, ctx)
 * // { ok: true, events: [{ id: null, type: 'form.submitted', lead: { email: 'ada@example.com', ids: {} }, … }], ignored: 0 }
 */
export function mapNative(body: unknown, ctx: MapContext): MapResult {
  if (isRecord(body) && 'events' in body) {
    if (Array.isArray(body.events)) {
      const sizeIssue = batchSizeIssue(body.events.length, 'events');
      if (sizeIssue !== null) return fail([sizeIssue]);
    }
    const parsed = batchSchema.safeParse(body);
    if (!parsed.success) return fail(zodIssues(parsed.error));
    return ok(parsed.data.events.map((event) => toEvent(event, ctx)));
  }
  const parsed = nativeEventSchema.safeParse(body);
  if (!parsed.success) return fail(zodIssues(parsed.error));
  return ok([toEvent(parsed.data, ctx)]);
}

function toEvent(event: NativeEvent, ctx: MapContext): LeadlineEvent {
  const { lead } = event;
  return {
    id: event.id ?? null,
    type: event.type,
    source: ctx.source,
    occurredAt: isoFrom(event.occurred_at) ?? ctx.receivedAt.toISOString(),
    lead: leadOf(
      {
        firstName: lead.first_name,
        lastName: lead.last_name,
        fullName: lead.name,
        company: lead.company,
        title: lead.title,
        phone: lead.phone,
        country: lead.country,
        region: lead.region,
        website: lead.website,
      },
      lead.email,
      lead.ids ?? {},
    ),
    metadata: boundedMetadata(event.metadata ?? {}),
    utm: utmOf(event.utm ?? {}),
  };
}

// The sender chose these values; keep them as sent (blanks and nulls too), only cut long text.
function boundedMetadata(input: Record<string, MetadataValue>): Record<string, MetadataValue> {
  const out: Record<string, MetadataValue> = {};
  for (const [key, value] of Object.entries(input)) {
    out[key] = typeof value === 'string' ? cut(value, MAX_METADATA_TEXT) : value;
  }
  return out;
}
