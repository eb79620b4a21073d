import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { AppContext } from '../app/context.ts';
import { retryMocoSync } from '../app/moco/request.ts';
import { MOCO_RETRY_ACTION } from '../slack/render/deals.ts';
import { notice } from '../slack/render/lead-lists.ts';
import { respond } from '../slack/respond.ts';
import { ADMINS_ONLY, afterAck, callerOf } from './lead-respond.ts';
import { targetOf } from './lead-modals.ts';

const requestIdValue = z.coerce.number().int().positive();

/**
 * The Retry button on a failed MOCO sync in the deals channel: admins queue the sync again (once,
 * however often they click); anyone else is told privately.
 *
 * @example
 * registerMocoActions(slack.app, ctx);
 */
export function registerMocoActions(app: App, ctx: AppContext): void {
  app.action(MOCO_RETRY_ACTION, async ({ ack, body, action }) => {
    await ack();
    const target = targetOf(body, action);
    const requestId = requestIdValue.safeParse('value' in action ? action.value : undefined);
    await afterAck(ctx, target, 'moco retry', async () => {
      if (!callerOf(ctx.ruleset, body.user.id).isAdmin) return respond(ctx, target, notice(ADMINS_ONLY));
      if (!requestId.success) return;
      const queued = await retryMocoSync(ctx, requestId.data);
      const text = queued ? 'Retrying the MOCO sync; the result replaces the message above.' : 'This MOCO sync is not failed any more.';
      await respond(ctx, target, notice(text));
    });
  });
}
