/**
 * The view types every renderer shares: a message, a person, a lead's name. Raw values stay raw
 * here; renderers escape them (mrkdwn.ts) where they enter a message.
 */
import type { types } from '@slack/bolt';
import { plain, userMention } from './mrkdwn.ts';

/** A message as `chat.postMessage`, `chat.update` and `response_url` take it. */
export interface SlackMessage {
  /** The notification and fallback text; escaped like the blocks. */
  text: string;
  blocks: types.KnownBlock[];
}

/** A team member (or anyone) as a message names them: a mention when the Slack id is known. */
export interface SlackPerson {
  slackUserId: string | null;
  name: string;
}

/** The name parts of a lead, as every view of a lead carries them. */
export interface LeadNameParts {
  id: number | string;
  fullName?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
}

/** A lead as every message sums it up (the alert, the conflict, a notification): raw values. */
export interface LeadSummary extends LeadNameParts {
  id: number;
  company?: string | null;
  title?: string | null;
  score: number;
  grade?: string | null;
}

/**
 * A lead's display name: full name, else first and last name, else the email (unless `email` is
 * false: a shared channel that should not see addresses), else `Lead #id`. Raw (unescaped): it
 * goes through `plain` where it enters a message.
 *
 * @example
 * leadDisplayName({ id: 7, firstName: 'Ada', lastName: 'Lovelace' }) // 'Ada Lovelace'
 * leadDisplayName({ id: 7, email: 'ada@lab.example' }, { email: false }) // 'Lead #7'
 */
export function leadDisplayName(lead: LeadNameParts, options: { email?: boolean } = {}): string {
  const full = lead.fullName?.trim();
  if (full) return full;
  const parts = [lead.firstName, lead.lastName].map((p) => p?.trim()).filter((p) => !!p);
  if (parts.length > 0) return parts.join(' ');
  const email = options.email === false ? undefined : lead.email?.trim();
  return email || `Lead #${lead.id}`;
}

/**
 * A person as safe mrkdwn: `<@U…>` when the Slack id is known, else the escaped name.
 *
 * @example
 * personText({ slackUserId: 'U0ANNA001', name: 'Anna' }) // '<@U0ANNA001>'
 */
export function personText(person: SlackPerson | null, none = 'Unassigned'): string {
  if (person === null) return none;
  return person.slackUserId === null ? plain(person.name, 100) : userMention(person.slackUserId);
}
