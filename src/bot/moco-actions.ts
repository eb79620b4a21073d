import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { AppContext } from '../app/context.ts';
import { requestInvoice, retryMocoSync } from '../app/moco/request.ts';
import { MOCO_INVOICE_ACTION, MOCO_RETRY_ACTION } from '../slack/render/deals.ts';
import { notice } from '../slack/render/lead-lists.ts';
import { respond } from '../slack/respond.ts';
import { ADMINS_ONLY, afterAck, callerOf, MANAGERS_ONLY } from './lead-respond.ts';
import { targetOf } from './lead-modals.ts';

const idValue = z.coerce.number().int().positive();

/**
 * The MOCO buttons on a deal's messages: Retry on a failed sync (admins queue it again, once
 * however often they click) and Create invoice under an offer (managers and admins, once per
 * deal); anyone else is told privately.
 *
 * @example
 * registerMocoActions(slack.app, ctx);
 */
export function registerMocoActions(app: App, ctx: AppContext): void {
  onIdButton(app, ctx, MOCO_RETRY_ACTION, 'admins', async (requestId) =>
    (await retryMocoSync(ctx, requestId))
      ? 'Retrying the MOCO sync; the result replaces the message above.'
      : 'This MOCO sync is not failed any more.',
  );
  onIdButton(app, ctx, MOCO_INVOICE_ACTION, 'managers', async (dealId) =>
    (await requestInvoice(ctx, dealId))
      ? 'Creating the invoice in MOCO; the deal’s thread hears when it exists.'
      : 'That deal no longer exists.',
  );
}

/** A button whose value is an id: ack, check the role, run, and answer the clicker privately. */
function onIdButton(
  app: App,
  ctx: AppContext,
  actionId: string,
  who: 'admins' | 'managers',
  work: (id: number) => Promise<string>,
): void {
  app.action(actionId, async ({ ack, body, action }) => {
    await ack();
    const target = targetOf(body, action);
    const id = idValue.safeParse('value' in action ? action.value : undefined);
    await afterAck(ctx, target, actionId, async () => {
      const caller = callerOf(ctx.ruleset, body.user.id);
      const allowed = who === 'admins' ? caller.isAdmin : caller.canManage;
      if (!allowed) return respond(ctx, target, notice(who === 'admins' ? ADMINS_ONLY : MANAGERS_ONLY));
      if (id.success) await respond(ctx, target, notice(await work(id.data)));
    });
  });
}
