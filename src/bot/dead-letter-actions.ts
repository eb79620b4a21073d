import type { App } from '@slack/bolt';
import type { AppContext } from '../app/context.ts';
import {
  type DeadLetterOutcome,
  type DeadLetterRef,
  describeOutcome,
  discardDeadLetter,
  parseDeadLetterRef,
  retryDeadLetter,
} from '../app/dead-letters.ts';
import type { IntakeWriter } from '../app/intake/intake-writer.ts';
import { DEAD_LETTER_ACTIONS } from '../slack/render/dead-letters.ts';
import { notice } from '../slack/render/lead-lists.ts';
import { respond } from '../slack/respond.ts';
import { publishHome } from './home.ts';
import { ADMINS_ONLY, afterAck, callerOf } from './lead-respond.ts';
import { targetOf } from './lead-modals.ts';

export interface DeadLetterActionOptions {
  /** The web role's intake writer, so a parked delivery read again takes the urgent lane too. */
  intake?: IntakeWriter;
}

/**
 * The Retry and Discard buttons of App Home's "Dead letters": active admins only (anyone else is
 * told privately and nothing changes); after an admin's press their Home tab is published again
 * with what the press did above the list. A second press of the same button changes nothing.
 *
 * @example
 * registerDeadLetterActions(slack.app, ctx, { intake });
 */
export function registerDeadLetterActions(app: App, ctx: AppContext, options: DeadLetterActionOptions = {}): void {
  onDeadLetterButton(app, ctx, DEAD_LETTER_ACTIONS.retry, (ref) => retryDeadLetter(ctx, ref, options));
  onDeadLetterButton(app, ctx, DEAD_LETTER_ACTIONS.discard, (ref) => discardDeadLetter(ctx, ref));
}

/** Matches `<prefix>` and `<prefix>:<kind>:<id>` (the Home tab's per-item action ids). */
function prefixPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix.replace('.', '\\.')}(:|$)`);
}

function onDeadLetterButton(
  app: App,
  ctx: AppContext,
  prefix: string,
  work: (ref: DeadLetterRef) => Promise<DeadLetterOutcome>,
): void {
  app.action(prefixPattern(prefix), async ({ ack, body, action }) => {
    await ack();
    const target = targetOf(body, action);
    const value = 'value' in action ? action.value : undefined;
    await afterAck(ctx, target, prefix, async () => {
      if (!callerOf(ctx.ruleset, body.user.id).isAdmin) return respond(ctx, target, notice(ADMINS_ONLY));
      const ref = typeof value === 'string' ? parseDeadLetterRef(value) : null;
      const told = ref === null ? 'That button names no dead letter Leadline knows.' : describeOutcome(ref, await work(ref));
      await publishHome(ctx, body.user.id, { deadLetterNotice: told });
    });
  });
}
