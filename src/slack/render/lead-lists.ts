/**
 * The other `/lead` replies: choices when a lookup is ambiguous, lead lists (`mine`, `top`, `pool`),
 * help, short notices, and an export split into messages. Pure; lead text enters through `plain`.
 */
import type { types } from '@slack/bolt';
import { BLOCK_LIMITS, button, context, escapeMrkdwn, plain, section } from './mrkdwn.ts';
import { relativeTime } from './time.ts';
import type { SlackMessage } from './views.ts';


/** A lead as a line in a list or a choice. */
export interface LeadLine {
  id: number;
  name: string;
  email: string | null;
  company: string | null;
  score: number;
  grade: string;
  slaDueAt?: Date | null;
  claimedBySlackUser?: string | null;
}

/** `lead.pick:<id>`: unique per button (Slack wants unique action ids in a message); value = lead id. */
export const PICK_ACTION_PREFIX = 'lead.pick';

/**
 * A button that shows the lead's card.
 *
 * @example
 * pickButton(42) // { type: 'button', action_id: 'lead.pick:42', value: '42', text: { …'Show' } }
 */
export function pickButton(leadId: number, text = 'Show'): types.Button {
  return button({ text, actionId: `${PICK_ACTION_PREFIX}:${leadId}`, value: String(leadId) });
}

/**
 * One lead as mrkdwn: name, company, email, score and grade, and the SLA clock when it runs.
 *
 * @example
 * leadLine({ id: 7, name: 'Ada Lovelace', company: 'Genomics Lab', email: null, score: 87, grade: 'A' }, now)
 * // '*Ada Lovelace* · Genomics Lab · score 87 (A)'
 */
export function leadLine(lead: LeadLine, now: Date): string {
  const parts = [`*${plain(lead.name, 200)}*`];
  if (lead.company) parts.push(plain(lead.company, 200));
  if (lead.email) parts.push(plain(lead.email, 320));
  parts.push(`score ${lead.score} (${plain(lead.grade, 2)})`);
  if (lead.slaDueAt != null) {
    parts.push(lead.slaDueAt > now ? `SLA due ${relativeTime(lead.slaDueAt, now)}` : 'SLA overdue');
  }
  return parts.join(' · ');
}

/**
 * Up to five leads matching a lookup, each with a button showing its card.
 *
 * @example
 * renderChoices('acme', leads, now, { more: true }) // section "4 leads match …", then one section per lead with a Show button
 */
export function renderChoices(
  query: string,
  leads: readonly LeadLine[],
  now: Date,
  options: { more?: boolean } = {},
): SlackMessage {
  const shown = leads.slice(0, 5);
  const intro =
    options.more === true
      ? `More than ${shown.length} leads match “${plain(query, 200)}”; here are the closest. Which one?`
      : `${shown.length} leads match “${plain(query, 200)}”. Which one?`;
  return {
    text: intro,
    blocks: [
      section(intro),
      ...shown.map((lead) => section(leadLine(lead, now), { accessory: pickButton(lead.id) })),
    ],
  };
}

/**
 * A titled list of leads with a button per lead; `empty` when there are none.
 *
 * @example
 * renderLeadList('Your leads', rows, now, 'Nothing claimed or owned by you.')
 */
export function renderLeadList(
  title: string,
  leads: readonly LeadLine[],
  now: Date,
  empty: string,
): SlackMessage {
  if (leads.length === 0) return notice(`*${title}*\n${empty}`);
  const blocks: types.KnownBlock[] = [section(`*${title}*`)];
  // A list never grows past a message's 50 blocks: 1 title, ≤ 45 leads, 1 footer.
  for (const lead of leads.slice(0, 45)) {
    blocks.push(section(leadLine(lead, now), { accessory: pickButton(lead.id, 'Open') }));
  }
  blocks.push(context([`${leads.length} lead${leads.length === 1 ? '' : 's'}`]));
  return { text: `${title}: ${leads.length}`, blocks };
}

/** Subcommands with their usage, in the order help lists them. */
export const HELP_LINES: readonly (readonly [string, string])[] = [
  ['/lead <email, name, company or domain>', 'look a lead up and show its card'],
  ['/lead mine', 'your claimed and owned leads, SLA due soonest first'],
  ['/lead top [n]', 'the n hottest unclaimed leads (at most 20)'],
  ['/lead pool', 'the hottest leads waiting to be routed'],
  ['/lead new', 'add a lead by hand'],
  ['/lead note <email> <text>', 'add a note to a lead'],
  ['/lead assign <email> @user', 'give the lead’s open deal to someone (managers)'],
  ['/lead won <email> <amount> [currency]', 'mark the lead’s open deal won (yours; managers any)'],
  ['/lead lost <email> <reason>', 'mark the lead’s open deal lost (yours; managers any)'],
  ['/lead reopen <email>', 'open the lead’s last closed deal again (managers)'],
  ['/lead away [until]', 'take no new leads until friday, 2026-12-01, 3d, tomorrow, …'],
  ['/lead back', 'take leads again'],
  ['/lead forget <email>', 'erase a lead’s personal data (admins)'],
  ['/lead export <email>', 'a lead’s data as JSON, by DM (admins)'],
  ['/lead why <email>', 'every route and owner decision for the lead, with the ruleset that made it'],
  ['/lead fairness [pipeline] [days]', 'leads vs target share, claims within SLA, reassignments per rep (managers; 30 days, at most 400)'],
  ['/lead help', 'this list'],
];

/**
 * Help, optionally led by "Did you mean …?" for a mistyped subcommand.
 *
 * @example
 * renderHelp({ typed: 'mnie', closest: 'mine' }).text // 'Unknown subcommand “mnie”. Did you mean `/lead mine`? …'
 */
export function renderHelp(suggestion?: { typed: string; closest: string | null }): SlackMessage {
  const list = HELP_LINES.map(([usage, what]) => `\`${escapeMrkdwn(usage)}\` ${what}`).join('\n');
  const blocks: types.KnownBlock[] = [];
  let lead = '';
  if (suggestion !== undefined) {
    lead = `Unknown subcommand “${plain(suggestion.typed, 50)}”.`;
    if (suggestion.closest !== null) lead += ` Did you mean \`/lead ${suggestion.closest}\`?`;
    blocks.push(section(lead));
  }
  blocks.push(section(`*Leadline commands*\n${list}`));
  return { text: lead === '' ? 'Leadline commands' : lead, blocks };
}

/**
 * A one-section reply; `text` is trusted mrkdwn (escape lead data before passing it).
 *
 * @example
 * notice('Note added to *Ada Lovelace*.')
 */
export function notice(text: string): SlackMessage {
  return { text: text.slice(0, BLOCK_LIMITS.messageText), blocks: [section(text)] };
}

/** Characters of JSON per export message, inside the code fence and under Slack's 4,000. */
const EXPORT_CHUNK = 3_500;

/**
 * A lead's export as messages of escaped JSON in code blocks, split on line boundaries, at most
 * `maxParts` (the last says what was left out).
 *
 * @example
 * exportMessages(JSON.stringify(data, null, 2), 42, 10) // [{ text: 'Export of lead #42 (1/2)\n```…```' }, …]
 */
export function exportMessages(json: string, leadId: number, maxParts: number): { text: string }[] {
  const chunks: string[] = [];
  let current = '';
  for (const raw of json.split('\n')) {
    // A long line (a long form answer) is cut into pieces that stay within a chunk even when every
    // character escapes to `&amp;` (five times as long).
    for (let i = 0; i < Math.max(raw.length, 1); i += EXPORT_CHUNK / 5) {
      const line = escapeMrkdwn(raw.slice(i, i + EXPORT_CHUNK / 5));
      if (current.length + line.length + 1 > EXPORT_CHUNK && current !== '') {
        chunks.push(current);
        current = '';
      }
      current += current === '' ? line : `\n${line}`;
    }
  }
  if (current !== '') chunks.push(current);
  const total = chunks.length;
  const kept = chunks.slice(0, maxParts);
  return kept.map((chunk, i) => {
    const cut =
      i === kept.length - 1 && total > maxParts ? `\n(${total - maxParts} more parts left out)` : '';
    return { text: `Export of lead #${leadId} (${i + 1}/${kept.length})\n\`\`\`${chunk}\`\`\`${cut}` };
  });
}
