import { z } from 'zod';
import type { ErrorIssue } from '../../errors.ts';
import type { LeadlineEvent } from '../event.ts';
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
  ok,
  optionalEmailSchema,
  optionalTimestamp,
  pathOf,
  snake,
  zodIssues,
} from './common.ts';

const EVENT_TYPES: ReadonlyMap<string, string> = new Map([
  ['emailsOpened', 'email.opened'],
  ['emailsClicked', 'email.clicked'],
  ['emailsReplied', 'email.replied'],
  ['emailsBounced', 'email.bounced'],
  ['emailsUnsubscribed', 'email.unsubscribed'],
  ['emailsSent', 'email.sent'],
  ['linkedinInviteAccepted', 'linkedin.connected'],
  ['linkedinReplied', 'linkedin.replied'],
  ['linkedinVisitDone', 'linkedin.profile_visited'],
  ['interested', 'lead.interested'],
  ['notInterested', 'lead.not_interested'],
]);

// Only the fields below are read; everything else, including the shared `secret` Lemlist echoes
// back in every activity, is dropped by construction and can never reach an event.
/** One Lemlist activity as the mapper reads it (also the source of its OpenAPI schema). */
export const activitySchema = z.object({
  _id: idSchema.optional(),
  type: z.string().trim().min(1).max(100),
  createdAt: optionalTimestamp,
  leadId: looseText,
  leadEmail: optionalEmailSchema,
  leadFirstName: looseText,
  leadLastName: looseText,
  leadCompanyName: looseText,
  leadPhone: looseText,
  linkedinUrl: looseText,
  campaignId: looseText,
  campaignName: looseText,
  sequenceId: looseText,
  sequenceStep: z.unknown().transform(metadataValue).optional(),
  sendUserEmail: looseText,
});
type Activity = z.infer<typeof activitySchema>;

/**
 * Maps a Lemlist activity webhook (one activity object, or an array of them) to events.
 *
 * @example
 * mapLemlist({ _id: 'act_1', type: 'emailsReplied', leadEmail: 'ada@example.com', campaignName: 'Q3 outbound' }, ctx)
 * // events[0]: { id: 'act_1', type: 'email.replied', utm: { source: 'lemlist', campaign: 'Q3 outbound' }, … }
 */
export function mapLemlist(body: unknown, ctx: MapContext): MapResult {
  const items = Array.isArray(body) ? body : [body];
  if (Array.isArray(body)) {
    const sizeIssue = batchSizeIssue(body.length, '(root)');
    if (sizeIssue !== null) return fail([sizeIssue]);
  }
  const issues: ErrorIssue[] = [];
  const events: LeadlineEvent[] = [];
  items.forEach((item, index) => {
    const prefix = Array.isArray(body) ? String(index) : '';
    if (!isRecord(item)) {
      issues.push({ path: pathOf(prefix), message: 'expected a Lemlist activity object' });
      return;
    }
    const parsed = activitySchema.safeParse(item);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, prefix));
      return;
    }
    const type = eventType(parsed.data.type);
    if (type === null) {
      issues.push({ path: pathOf(prefix, 'type'), message: 'not a usable Lemlist activity type' });
      return;
    }
    const event = toEvent(parsed.data, type, ctx);
    if (!hasIdentity(event.lead)) {
      issues.push({
        path: pathOf(prefix, 'leadEmail'),
        message: 'required when the activity has neither leadId nor linkedinUrl',
      });
      return;
    }
    events.push(event);
  });
  return issues.length > 0 ? fail(issues) : ok(events);
}

function eventType(type: string): string | null {
  const known = EVENT_TYPES.get(type);
  if (known !== undefined) return known;
  const word = snake(type);
  return word === null ? null : `lemlist.${word}`;
}

function toEvent(activity: Activity, type: string, ctx: MapContext): LeadlineEvent {
  return {
    id: activity._id ?? null,
    type,
    source: ctx.source,
    occurredAt: isoFrom(activity.createdAt) ?? ctx.receivedAt.toISOString(),
    lead: leadOf(
      {
        firstName: activity.leadFirstName,
        lastName: activity.leadLastName,
        company: activity.leadCompanyName,
        phone: activity.leadPhone,
      },
      activity.leadEmail,
      { lemlist_id: activity.leadId, linkedin_url: activity.linkedinUrl },
    ),
    metadata: metadata({
      lemlist_type: activity.type,
      campaign_id: activity.campaignId,
      sequence_id: activity.sequenceId,
      sequence_step: activity.sequenceStep,
      sender_email: activity.sendUserEmail,
    }),
    utm: {
      source: 'lemlist',
      ...(activity.campaignName === undefined ? {} : { campaign: activity.campaignName }),
    },
  };
}
