import type { TeamMember } from './routing-schema.ts';
import type { Ruleset } from './ruleset.ts';

/**
 * The team member behind a Slack user, or null for someone outside the team.
 *
 * @example
 * memberBySlackUser(ruleset, 'U0AAAA005') // { id: 'lena.wagner', role: 'manager', … }
 */
export function memberBySlackUser(ruleset: Pick<Ruleset, 'team'>, slackUserId: string): TeamMember | null {
  return ruleset.team.members.find((member) => member.slack_user_id === slackUserId) ?? null;
}

export function memberById(ruleset: Pick<Ruleset, 'team'>, memberId: string | null): TeamMember | null {
  if (memberId === null) return null;
  return ruleset.team.members.find((member) => member.id === memberId) ?? null;
}

/** Managers and admins decide routing conflicts, reassign leads and see team load. */
export function canManage(member: TeamMember | null): boolean {
  return member?.active === true && (member.role === 'manager' || member.role === 'admin');
}

export function isAdmin(member: TeamMember | null): boolean {
  return member?.active === true && member.role === 'admin';
}

/**
 * The active managers and admins, in team order: who escalations, `managers` notifications, tasks
 * and upkeep findings reach.
 */
export function managers(ruleset: Pick<Ruleset, 'team'>): TeamMember[] {
  return ruleset.team.members.filter((member) => canManage(member));
}
