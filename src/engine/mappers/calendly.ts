import { z } from 'zod';
import type { MapContext, MapResult } from './common.ts';
import {
  emailSchema,
  fail,
  isoFrom,
  isRecord,
  leadOf,
  looseArray,
  looseText,
  metadata,
  ok,
  optionalObject,
  optionalTimestamp,
  text,
  utmOf,
  zodIssues,
} from './common.ts';

const EVENT_TYPES: ReadonlyMap<string, string> = new Map([
  ['invitee.created', 'meeting.booked'],
  ['invitee.canceled', 'meeting.canceled'],
]);

/** A Calendly webhook body as the mapper reads it (also the source of its OpenAPI schema). */
export const calendlySchema = z.object({
  event: z.string(),
  created_at: optionalTimestamp,
  payload: z.object({
    uri: looseText,
    email: emailSchema,
    name: looseText,
    first_name: looseText,
    last_name: looseText,
    status: looseText,
    timezone: looseText,
    text_reminder_number: looseText,
    rescheduled: z.boolean().optional().catch(undefined),
    old_invitee: looseText,
    created_at: optionalTimestamp,
    updated_at: optionalTimestamp,
    scheduled_event: optionalObject({
      uri: looseText,
      name: looseText,
      start_time: optionalTimestamp,
      end_time: optionalTimestamp,
      location: optionalObject({ type: looseText, location: looseText, join_url: looseText }),
    }),
    questions_and_answers: looseArray,
    tracking: optionalObject({
      utm_source: looseText,
      utm_medium: looseText,
      utm_campaign: looseText,
      utm_term: looseText,
      utm_content: looseText,
    }),
    cancellation: optionalObject({ canceled_by: looseText, reason: looseText, canceler_type: looseText }),
  }),
});

/**
 * Maps a Calendly webhook (`invitee.created` / `invitee.canceled`) to one meeting event.
 *
 * @example
 * mapCalendly({ event: 'invitee.created', payload: { email: 'ada@example.com', uri: 'https://api.calendly.com/…' } }, ctx)
 * // events[0]: { type: 'meeting.booked', id: 'invitee.created:https://api.calendly.com/…', … }
 */
export function mapCalendly(body: unknown, ctx: MapContext): MapResult {
  const eventName = isRecord(body) ? body.event : undefined;
  const type = typeof eventName === 'string' ? EVENT_TYPES.get(eventName) : undefined;
  if (type === undefined) {
    return fail([
      {
        path: isRecord(body) ? 'event' : '(root)',
        message: 'expected a Calendly webhook whose event is invitee.created or invitee.canceled',
      },
    ]);
  }
  const parsed = calendlySchema.safeParse(body);
  if (!parsed.success) return fail(zodIssues(parsed.error));
  const { event, payload } = parsed.data;
  const canceled = event === 'invitee.canceled';
  const scheduled = payload.scheduled_event;
  const occurredAt = canceled
    ? (parsed.data.created_at ?? payload.updated_at)
    : (parsed.data.created_at ?? payload.created_at);
  return ok([
    {
      // One invitee URI carries both its booking and its cancellation; the event name keeps them apart.
      id: payload.uri === undefined ? null : `${event}:${payload.uri}`,
      type,
      source: ctx.source,
      occurredAt: isoFrom(occurredAt) ?? ctx.receivedAt.toISOString(),
      lead: leadOf(
        {
          fullName: payload.name,
          firstName: payload.first_name,
          lastName: payload.last_name,
          phone: payload.text_reminder_number,
        },
        payload.email,
        { calendly_invitee: payload.uri },
      ),
      metadata: metadata({
        event_name: scheduled?.name,
        starts_at: isoFrom(scheduled?.start_time) ?? undefined,
        ends_at: isoFrom(scheduled?.end_time) ?? undefined,
        event_uri: scheduled?.uri,
        location: scheduled?.location?.join_url ?? scheduled?.location?.location ?? scheduled?.location?.type,
        timezone: payload.timezone,
        answers: answersText(payload.questions_and_answers),
        // A reschedule is a cancel with `rescheduled: true` followed by a create naming the old invitee.
        rescheduled: canceled ? payload.rescheduled === true : payload.old_invitee !== undefined,
        cancel_reason: canceled ? payload.cancellation?.reason : undefined,
        canceled_by: canceled ? payload.cancellation?.canceled_by : undefined,
      }),
      utm: utmOf({
        source: payload.tracking?.utm_source,
        medium: payload.tracking?.utm_medium,
        campaign: payload.tracking?.utm_campaign,
        term: payload.tracking?.utm_term,
        content: payload.tracking?.utm_content,
      }),
    },
  ]);
}

/** Booking questions as `Question: Answer` lines; unanswered questions are left out. */
function answersText(items: unknown[]): string | undefined {
  const lines: string[] = [];
  for (const item of items) {
    if (!isRecord(item)) continue;
    const answer = text(item.answer, 2000);
    if (answer === undefined) continue;
    lines.push(`${text(item.question, 500) ?? 'Answer'}: ${answer}`);
  }
  return lines.length === 0 ? undefined : lines.join('\n');
}
