import { randomUUID } from 'node:crypto';

import type { TeamMember } from '../engine/routing-schema.ts';

import { canManage, isAdmin, memberBySlackUser } from '../engine/team.ts';

import type { AppContext } from '../app/context.ts';

import { kickSlackDelivery } from '../slack/outbox/kick.ts';

import { enqueueSlack } from '../slack/outbox/enqueue.ts';

import { notice } from '../slack/render/lead-lists.ts';
import type { SlackMessage } from '../slack/render/views.ts';


/**
 * How `/lead` and its buttons and modals answer after Slack was acknowledged: every reply is a
 * `slack_outbox` row (durable, retried, redactable by `/lead forget`) followed by a kick of the
 * dispatcher, never a direct call from the listener.
 */

/** Where a reply goes: the interaction's response_url (ephemeral), else a DM to the user. */
export interface ReplyTarget {
  userId: string;
  responseUrl: string | null;
}

/**
 * Sends `message` to the user privately: through the response_url as an ephemeral message
 * (`replaceOriginal` swaps the message a button sat on), or as a DM when there is no response_url.
 *
 * @example
 * await reply(ctx, { userId: 'U0ANNA001', responseUrl }, renderHelp(), { leadId: null });
 */
export async function reply(
  ctx: AppContext,
  target: ReplyTarget,
  message: SlackMessage,
  options: { leadId?: number | null; replaceOriginal?: boolean; kind?: string } = {},
): Promise<void> {
  const kind = options.kind ?? 'lead.reply';
  const payload = { text: message.text, blocks: message.blocks };
  const now = ctx.now();
  if (target.responseUrl !== null) {
    await enqueueSlack(
      ctx.pool,
      {
        key: `ephemeral:${randomUUID()}`,
        kind,
        leadId: options.leadId ?? null,
        method: 'response_url',
        responseUrl: target.responseUrl,
        payload: {
          response_type: 'ephemeral',
          ...(options.replaceOriginal === true ? { replace_original: true } : {}),
          ...payload,
        },
      },
      now,
    );
  } else {
    await enqueueSlack(
      ctx.pool,
      {
        key: `dm:${randomUUID()}`,
        kind,
        leadId: options.leadId ?? null,
        method: 'chat.postMessage',
        channel: target.userId,
        payload,
      },
      now,
    );
  }
  await kickSlackDelivery(ctx.queue);
}

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
      await reply(ctx, target, notice('Sorry, Leadline could not finish that just now. Please try again.'));
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
