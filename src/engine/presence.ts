import type { TeamConfig, TeamMember } from './routing-schema.ts';

/**
 * Whether a team member can take leads now: Leadline's own away-until and the member's Slack
 * status (emoji or text, until it expires), or an inactive account. Assignment skips absent
 * members; the App Home shows who is away and why.
 */

/** What Slack and Leadline know about a member right now. */
/**
 * Away "until `/lead back`": a date no one reaches, so assignment treats the member as away until
 * they clear it.
 */
export const AWAY_UNTIL_BACK = new Date('9999-12-31T00:00:00.000Z');

export interface MemberPresence {
  memberId: string;
  /** Open deals the member owns across all pipelines (capacity counts these). */
  openDeals: number;
  statusEmoji?: string | null;
  statusText?: string | null;
  /** When the Slack status clears itself; null or absent: it does not. */
  statusExpiresAt?: Date | null;
  /** Away until this time, set in Leadline (e.g. `/leadline away until friday`). */
  awayUntil?: Date | null;
  /** The Slack account is deactivated. */
  deactivated?: boolean;
}

export type AbsenceReason =
  | { kind: 'inactive'; source: 'team' | 'slack' }
  | { kind: 'away'; via: 'status_emoji' | 'status_text' | 'away_until'; value: string };

// Patterns are validated when the ruleset is parsed; compile each once per process.
const patterns = new Map<string, RegExp>();
function statusPattern(source: string): RegExp {
  let pattern = patterns.get(source);
  if (pattern === undefined) {
    pattern = new RegExp(source, 'i');
    patterns.set(source, pattern);
  }
  return pattern;
}

/**
 * Why a member cannot take leads now, or null. A Slack status counts until it expires.
 *
 * @example
 * absence(member, { memberId: 'ben', openDeals: 3, statusEmoji: ':palm_tree:' }, team.away, now)
 * // { kind: 'away', via: 'status_emoji', value: ':palm_tree:' }
 */
export function absence(
  member: Pick<TeamMember, 'active'>,
  presence: MemberPresence | undefined,
  away: TeamConfig['away'],
  now: Date,
): AbsenceReason | null {
  if (!member.active) return { kind: 'inactive', source: 'team' };
  if (presence?.deactivated === true) return { kind: 'inactive', source: 'slack' };
  if (presence?.awayUntil != null && presence.awayUntil > now) {
    return { kind: 'away', via: 'away_until', value: presence.awayUntil.toISOString() };
  }
  const statusLive = presence?.statusExpiresAt == null || presence.statusExpiresAt > now;
  if (presence === undefined || !statusLive) return null;
  const emoji = presence.statusEmoji
    ?.trim()
    .toLowerCase()
    .replace(/^:?(.*?):?$/, ':$1:');
  if (emoji !== undefined && emoji !== '::' && away.status_emoji.includes(emoji)) {
    return { kind: 'away', via: 'status_emoji', value: emoji };
  }
  const statusText = presence.statusText?.trim() ?? '';
  if (statusText !== '' && away.status_text_patterns.some((p) => statusPattern(p).test(statusText))) {
    return { kind: 'away', via: 'status_text', value: statusText };
  }
  return null;
}

/** One away or back change of a member, as the audit log keeps them. */
export interface PresenceChange {
  at: Date;
  /** Away until then (`AWAY_UNTIL_BACK`: until they say they are back); null: back. */
  until: Date | null;
}

/**
 * How long a member was away between `from` and `to`, from their changes in time order (those
 * before `from` say how the window began). An away ends at its `until`, at the next change, or at
 * `to`, whichever comes first.
 *
 * @example
 * awayTimeMs([{ at: mon9, until: mon17 }], mon0, tue0) // 8 h
 */
export function awayTimeMs(changes: readonly PresenceChange[], from: Date, to: Date): number {
  let total = 0;
  changes.forEach((change, i) => {
    if (change.until === null) return;
    const next = changes[i + 1]?.at ?? to;
    const end = Math.min(change.until.getTime(), next.getTime(), to.getTime());
    const start = Math.max(change.at.getTime(), from.getTime());
    if (end > start) total += end - start;
  });
  return total;
}
