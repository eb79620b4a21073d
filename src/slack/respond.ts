import type { Pool } from '../db/pool.ts';
import type { JobQueue } from '../db/job-queue.ts';
import { kickSlackDelivery } from './outbox/kick.ts';
import { enqueueSlack } from './outbox/enqueue.ts';
import type { SlackMessage } from './render/views.ts';

/**
 * The one way Leadline answers a person privately after Slack was acknowledged: an ephemeral
 * through the interaction's `response_url`, else a DM. Every answer is a `slack_outbox` row
 * (durable, retried, redactable by `/lead forget`) under a key made of the interaction it answers,
 * so an interaction Slack delivers twice, or a job that runs twice, posts one answer.
 */

/** Where an answer goes, and which interaction it answers. */
export interface ReplyTarget {
  userId: string;
  /** The interaction's response_url: an ephemeral there; without one, a DM. */
  responseUrl: string | null;
  /**
   * The interaction being answered, as Slack names it again when it retries it: see
   * {@link commandInteraction}, {@link actionInteraction} and {@link viewInteraction}.
   */
  interaction: string;
}

/** What `respond` needs of the application: the database, the queue to wake delivery, the clock. */
export interface ReplyOutbox {
  pool: Pool;
  queue: JobQueue;
  now(): Date;
}

export interface ReplyOptions {
  /**
   * Which answer to the interaction this is, when one interaction gets more than one (the
   * apology after a failure is `failed`). Default `answer`.
   */
  part?: string;
  leadId?: number | null;
  /** Swap the message the button sat on (a card refreshed in place). */
  replaceOriginal?: boolean;
  /** The outbox row's kind, for listing and redaction. Default `lead.reply`. */
  kind?: string;
}

/**
 * A slash command, by its trigger id (unique per invocation).
 *
 * @example
 * commandInteraction('1337.4242.d1e2f3') // 'command:1337.4242.d1e2f3'
 */
export function commandInteraction(triggerId: string): string {
  return `command:${triggerId}`;
}

/**
 * A button press: the action, who pressed it and when (Slack's `action_ts`).
 *
 * @example
 * actionInteraction({ actionId: 'lead.claim', userId: 'U0ANNA001', actionTs: '1763640100.123456' })
 * // 'action:lead.claim:U0ANNA001:1763640100.123456'
 */
export function actionInteraction(input: { actionId: string; userId: string; actionTs: string }): string {
  return `action:${input.actionId}:${input.userId}:${input.actionTs}`;
}

/**
 * A modal submission, by the view's id (a modal is submitted once).
 *
 * @example
 * viewInteraction('V0MODAL001') // 'view:V0MODAL001'
 */
export function viewInteraction(viewId: string): string {
  return `view:${viewId}`;
}

/**
 * Answers `target` privately with `message` and wakes the delivery worker.
 *
 * @example
 * await respond(ctx, { userId: 'U0ANNA001', responseUrl, interaction: commandInteraction(triggerId) }, notice('Done.'));
 */
export async function respond(
  out: ReplyOutbox,
  target: ReplyTarget,
  message: SlackMessage | { text: string },
  options: ReplyOptions = {},
): Promise<void> {
  const key = `reply:${target.interaction}:${options.part ?? 'answer'}`;
  const kind = options.kind ?? 'lead.reply';
  const leadId = options.leadId ?? null;
  const content = 'blocks' in message ? { text: message.text, blocks: message.blocks } : { text: message.text };
  const entry =
    target.responseUrl !== null
      ? {
          key,
          kind,
          leadId,
          method: 'response_url' as const,
          responseUrl: target.responseUrl,
          payload: {
            response_type: 'ephemeral',
            replace_original: options.replaceOriginal === true,
            ...content,
          },
        }
      : { key, kind, leadId, method: 'chat.postMessage' as const, channel: target.userId, payload: content };
  await enqueueSlack(out.pool, entry, out.now());
  await kickSlackDelivery(out.queue);
}
