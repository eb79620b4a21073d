import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { AppContext } from '../app/context.ts';
import { requestInvoice, retryMocoSync } from '../app/moco/request.ts';
import { MOCO_INVOICE_ACTION, MOCO_RETRY_ACTION } from '../slack/render/deals.ts';
import { notice } from '../slack/render/lead-lists.ts';
import { respond } from '../slack/respond.ts';
import { ADMINS_ONLY, afterAck, callerOf, MANAGERS_ONLY } from './lead-respond.ts';
import { targetOf } from './lead-modals.ts';

const requestIdValue = z.coerce.number().int().positive();

/**
 * The MOCO buttons in the deals channel: Retry on a failed sync (admins queue it again, once
 * however often they click) and Create invoice under an offer (managers and admins, once per
 * deal); anyone else is told privately.
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

  app.action(MOCO_INVOICE_ACTION, async ({ ack, body, action }) => {
    await ack();
    const target = targetOf(body, action);
    const dealId = requestIdValue.safeParse('value' in action ? action.value : undefined);
    await afterAck(ctx, target, 'moco invoice', async () => {
      if (!callerOf(ctx.ruleset, body.user.id).canManage) return respond(ctx, target, notice(MANAGERS_ONLY));
      if (!dealId.success) return;
      const asked = await requestInvoice(ctx, dealId.data);
      await respond(ctx, target, notice(asked ? 'Creating the invoice in MOCO; the deals channel hears when it exists.' : 'That deal no longer exists.'));
    });
  });
}
