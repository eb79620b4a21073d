import type { TeamMember } from '../engine/routing-schema.ts';
import { canManage, isAdmin, memberBySlackUser } from '../engine/team.ts';
import type { AppContext } from '../app/context.ts';
import { notice } from '../slack/render/lead-lists.ts';
import { type ReplyTarget, respond } from '../slack/respond.ts';

/**
 * Runs the slow part of a listener after its ack: any failure is logged and answered with a short
 * apology instead of leaving the user without a reply.
 *
 * @example
 * await ack();
 * await afterAck(ctx, target, 'lookup', () => runLookup(ctx, target, query));
 */
export async function afterAck(
  ctx: AppContext,
  target: ReplyTarget,
  what: string,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (err) {
    ctx.log.error({ err, what, user: target.userId }, '/lead work failed after ack');
    try {
      await respond(ctx, target, notice('Sorry, Leadline could not finish that just now. Please try again.'), {
        part: 'failed',
      });
    } catch (replyErr) {
      ctx.log.error({ err: replyErr, what }, '/lead failure reply failed');
    }
  }
}

/** Who may do what with `/lead`. */
export interface Caller {
  userId: string;
  member: TeamMember | null;
  /** An active team member. */
  onTeam: boolean;
  canManage: boolean;
  isAdmin: boolean;
}

/**
 * The caller's role from the ruleset alone (no database), so refusals can go into the ack.
 *
 * @example
 * callerOf(ruleset, 'U0LENA004') // { onTeam: true, canManage: true, isAdmin: false, … }
 */
export function callerOf(ruleset: AppContext['ruleset'], userId: string): Caller {
  const member = memberBySlackUser(ruleset, userId);
  return {
    userId,
    member,
    onTeam: member?.active === true,
    canManage: canManage(member),
    isAdmin: isAdmin(member),
  };
}

export const NOT_ON_TEAM =
  'Leadline answers members of the sales team only. Ask an admin to add your Slack user to the team in the ruleset.';
export const MANAGERS_ONLY = 'Only managers and admins can do that.';
export const ADMINS_ONLY = 'Only admins can do that.';
