/**
 * The lead details modal (the alert's Details button, and `/lead`), plus the small formatting
 * helpers alert messages share. Pure: data in, a Block Kit view out. Every value a lead, a form or
 * a ruleset supplied goes through `plain` (escaped once, cut); only Leadline's own markup is trusted.
 */
import type { types } from '@slack/bolt';
import type { LeadExplanation } from '../../engine/lead-processor.ts';
import { BLOCK_LIMITS, context, divider, fields, header, plain, section, userMention } from './mrkdwn.ts';
import { zonedParts } from '../../engine/calendar.ts';
import { formatLocal } from './time.ts';
import { type SlackPerson, personText } from './views.ts';

export interface LeadDetails {
  leadId: number;
  /** Raw display name (see `leadDisplayName`). */
  name: string;
  email: string | null;
  company: string | null;
  title: string | null;
  phone: string | null;
  country: string | null;
  website: string | null;
  source: string | null;
  status: string;
  score: number;
  grade: string;
  owner: SlackPerson | null;
  claim: { bySlackUser: string; at: Date } | null;
  disqualified: { reason: string; bySlackUser: string | null; at: Date } | null;
  explanation: Pick<LeadExplanation, 'breakdown' | 'signals' | 'intents'>;
  deals: {
    id: number;
    pipelineName: string;
    stageName: string;
    owner: SlackPerson | null;
    queue: string | null;
    status: string;
    createdAt: Date;
  }[];
  events: { type: string; source: string; occurredAt: Date }[];
  /** IANA zone dates are shown in (the ruleset's). */
  timezone: string;
}

/** The modal's title: Slack allows 24 characters. */
export const LEAD_DETAILS_TITLE = 'Lead details';

// Per-list caps keep the modal under Slack's 100 blocks with every section heading in place.
const CAPS = { breakdown: 40, signals: 15, deals: 10, events: 15 } as const;

/**
 * Wall-clock time in a zone, 24-hour.
 *
 * @example
 * clockTime(new Date('2026-11-20T09:42:00Z'), 'Europe/Berlin') // '10:42'
 */
export function clockTime(at: Date, timezone: string): string {
  const p = zonedParts(at, timezone);
  return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

/**
 * Day and time in a zone.
 *
 * @example
 * dayTime(new Date('2026-11-20T13:00:00Z'), 'Europe/Berlin') // 'Fri 20 Nov, 14:00'
 */
export function dayTime(at: Date, timezone: string): string {
  return formatLocal(at, timezone);
}

/**
 * Slack's date token (shown in each reader's own zone), with a fallback in the ruleset zone.
 *
 * @example
 * slackDate(due, 'Europe/Berlin') // '<!date^1795168800^{date_short_pretty} at {time}|Fri 20 Nov, 11:00>'
 */
export function slackDate(at: Date, timezone: string): string {
  const unix = Math.floor(at.getTime() / 1000);
  return `<!date^${unix}^{date_short_pretty} at {time}|${dayTime(at, timezone)}>`;
}

/**
 * The Details modal: profile, full score breakdown (rule, points, event time, expiry), signals with
 * their current weights, intent shares, deals and the latest events. Long lists are cut with an
 * "… and N more" line so the view stays within 100 blocks.
 *
 * @example
 * await client.views.open({ trigger_id, view: renderLeadDetailsModal(details) });
 */
export function renderLeadDetailsModal(details: LeadDetails): types.ModalView {
  const tz = details.timezone;
  const blocks: types.KnownBlock[] = [header(plain(details.name, 140)), fields(profileFields(details))];
  const status: string[] = [];
  if (details.claim !== null) {
    status.push(`Claimed by ${userMention(details.claim.bySlackUser)} on ${dayTime(details.claim.at, tz)}`);
  }
  if (details.disqualified !== null) {
    const by = details.disqualified.bySlackUser;
    status.push(
      `Not a fit: ${plain(details.disqualified.reason, 500)}${by === null ? '' : ` (by ${userMention(by)})`}`,
    );
  }
  if (status.length > 0) blocks.push(context(status));

  const { breakdown, signals, intents } = details.explanation;
  listSection(
    blocks,
    `*Score breakdown* · ${details.score} (${plain(details.grade, 2)})`,
    breakdown,
    CAPS.breakdown,
    (row) => {
      const expiry = row.expiresAt === null ? 'never expires' : `expires ${dayTime(row.expiresAt, tz)}`;
      const what = row.description === null ? '' : ` ${plain(row.description, 200)}`;
      return `*${signed(row.points)}*${what} \`${plain(row.ruleId, 100)}\` · ${dayTime(row.occurredAt, tz)} · ${expiry}`;
    },
  );
  listSection(blocks, '*Signals*', signals, CAPS.signals, (s) =>
    [
      `\`${plain(s.signal, 100)}\``,
      plain(s.tier, 10),
      plain(s.intent, 50),
      `weight ${round1(s.currentWeight)} of ${round1(s.weight)}`,
      dayTime(s.occurredAt, tz),
    ].join(' · '),
  );
  blocks.push(divider());
  const shares = intents.filter((i) => i.weight > 0);
  blocks.push(
    section(
      `*Intents*\n${
        shares.length === 0
          ? 'No live intent signals.'
          : shares.map((i) => `${plain(i.intent, 50)}: ${i.share} % (weight ${round1(i.weight)})`).join('\n')
      }`,
    ),
  );
  listSection(blocks, '*Deals*', details.deals, CAPS.deals, (deal) =>
    [
      plain(deal.pipelineName, 100),
      plain(deal.stageName, 100),
      deal.owner === null && deal.queue !== null ? `queue ${plain(deal.queue, 80)}` : personText(deal.owner),
      plain(deal.status, 10),
      `opened ${dayTime(deal.createdAt, tz)}`,
    ].join(' · '),
  );
  listSection(
    blocks,
    '*Last events*',
    details.events,
    CAPS.events,
    (e) => `\`${plain(e.type, 60)}\` from ${plain(e.source, 60)} · ${dayTime(e.occurredAt, tz)}`,
  );
  return {
    type: 'modal',
    title: { type: 'plain_text', text: LEAD_DETAILS_TITLE },
    close: { type: 'plain_text', text: 'Close' },
    blocks: capBlocks(blocks, BLOCK_LIMITS.blocksPerView),
  };
}

function profileFields(d: LeadDetails): string[] {
  const field = (label: string, value: string | null, max = 200) =>
    `*${label}*\n${value === null || value.trim() === '' ? '—' : plain(value, max)}`;
  return [
    field('Email', d.email),
    field('Company', d.company),
    field('Title', d.title),
    field('Phone', d.phone, 50),
    field('Country', d.country, 60),
    field('Website', d.website),
    field('Source', d.source, 100),
    field('Status', d.status, 20),
    `*Owner*\n${personText(d.owner)}`,
    `*Score*\n${d.score} (${plain(d.grade, 2)})`,
  ];
}

/** A divider, a heading, one context block per item (up to `cap`) and "… and N more". */
function listSection<T>(
  blocks: types.KnownBlock[],
  heading: string,
  items: readonly T[],
  cap: number,
  line: (item: T) => string,
): void {
  blocks.push(divider(), section(items.length === 0 ? `${heading}\nNone.` : heading));
  for (const item of items.slice(0, cap)) blocks.push(context([line(item)]));
  if (items.length > cap) blocks.push(context([`… and ${items.length - cap} more`]));
}

/** A last guard: never more than `max` blocks, the last one saying how many were left out. */
function capBlocks(blocks: types.KnownBlock[], max: number): types.KnownBlock[] {
  if (blocks.length <= max) return blocks;
  const kept = blocks.slice(0, max - 1);
  return [...kept, context([`… and ${blocks.length - kept.length} more`])];
}

function signed(points: number): string {
  return points > 0 ? `+${points}` : String(points);
}

function round1(n: number): string {
  return String(Math.round(n * 10) / 10);
}
