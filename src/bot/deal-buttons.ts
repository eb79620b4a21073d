import type { App } from '@slack/bolt';
import { z } from 'zod';
import { closeLeadDeal } from '../app/commands/close-deal.ts';
import type { AppContext } from '../app/context.ts';
import { leadById } from '../app/queries/find-leads.ts';
import { displayName } from '../app/queries/lead-card.ts';
import { dayKey, zonedTime } from '../engine/calendar.ts';
import type { DealOutcome } from '../engine/deals.ts';
import { DEAL_ACTIONS, LOST_MODAL, money, renderLostModal, renderWonModal, WON_MODAL } from '../slack/render/deals.ts';
import { notice } from '../slack/render/lead-lists.ts';
import { plain } from '../slack/render/mrkdwn.ts';
import { type ReplyTarget, respond, viewInteraction } from '../slack/respond.ts';
import { afterAck, callerOf, NOT_ON_TEAM } from './lead-respond.ts';
import { targetOf } from './lead-modals.ts';

/**
 * "Mark won" / "Mark lost" on the lead card and a claimed alert: the button opens its modal right
 * after the ack (trigger ids last 3 s); the submission is checked in the ack (errors show in the
 * modal), then the deal closes through closeLeadDeal and the closer gets an ephemeral answer.
 */

const leadIdValue = z.coerce.number().int().positive();
const metadataSchema = z.object({ leadId: z.number().int().positive(), responseUrl: z.string().nullable() });
const fieldSchema = z.object({
  value: z.string().nullish(),
  selected_date: z.string().nullish(),
  selected_options: z.array(z.object({ value: z.string() })).nullish(),
});
const stateSchema = z.record(z.string(), z.record(z.string(), fieldSchema.loose()));
type State = z.output<typeof stateSchema>;

/**
 * Registers both buttons and both modal submissions.
 *
 * @example
 * registerDealButtons(slack.app, ctx);
 */
export function registerDealButtons(app: App, ctx: AppContext): void {
  for (const [actionId, outcome] of [
    [DEAL_ACTIONS.markWon, 'won'],
    [DEAL_ACTIONS.markLost, 'lost'],
  ] as const) {
    app.action(actionId, async ({ ack, body, action, client }) => {
      await ack();
      const target = targetOf(body, action);
      const leadId = leadIdValue.safeParse('value' in action ? action.value : undefined);
      if (!callerOf(ctx.ruleset, body.user.id).onTeam) {
        return afterAck(ctx, target, 'mark deal', () => respond(ctx, target, notice(NOT_ON_TEAM)));
      }
      if (!leadId.success || !('trigger_id' in body)) return;
      const lead = await leadById(ctx.pool, leadId.data);
      if (lead === null) return afterAck(ctx, target, 'mark deal', () => respond(ctx, target, notice('This lead no longer exists.')));
      await client.views.open({ trigger_id: body.trigger_id, view: modalFor(ctx, outcome, displayName(lead), leadId.data, target) });
    });
  }
  for (const [callbackId, outcome] of [
    [WON_MODAL.callbackId, 'won'],
    [LOST_MODAL.callbackId, 'lost'],
  ] as const) {
    // A view submission's ack takes the errors to show; Bolt types it as one of two ack kinds.
    app.view(callbackId, async ({ ack, body, view }) =>
      submitted(ctx, outcome, (response) => ack(response as never), body.user.id, view),
    );
  }
}

function modalFor(ctx: AppContext, outcome: DealOutcome, leadName: string, leadId: number, target: ReplyTarget) {
  const metadata = JSON.stringify({ leadId, responseUrl: target.responseUrl });
  if (outcome === 'lost') return renderLostModal({ leadName, metadata });
  return renderWonModal({
    leadName,
    currency: ctx.ruleset.deals.currency,
    today: dayKey(ctx.now(), ctx.ruleset.timezone),
    products: ctx.ruleset.deals.products.map((p) => ({ id: p.id, name: p.name, unit: p.unit, unitPrice: p.unit_price })),
    metadata,
  });
}

type Ack = (response?: { response_action: 'errors'; errors: Record<string, string> }) => Promise<void>;

async function submitted(
  ctx: AppContext,
  outcome: DealOutcome,
  ack: Ack,
  userId: string,
  view: { id: string; private_metadata: string; state: { values: unknown } },
): Promise<void> {
  const caller = callerOf(ctx.ruleset, userId);
  const metadata = readMetadata(view.private_metadata);
  const state = stateSchema.safeParse(view.state.values);
  const firstBlock = outcome === 'won' ? WON_MODAL.amount.blockId : LOST_MODAL.reason.blockId;
  if (!caller.onTeam || caller.member === null) return ack(errors(firstBlock, NOT_ON_TEAM));
  if (metadata === null || !state.success) return ack(errors(firstBlock, 'This form lost track of its lead; open it again.'));
  const close = outcome === 'won' ? wonDetails(ctx, state.data) : lostDetails(state.data);
  if ('error' in close) return ack(errors(close.block, close.error));
  await ack();
  const target = { userId, responseUrl: metadata.responseUrl, interaction: viewInteraction(view.id) };
  const member = caller.member;
  await afterAck(ctx, target, `mark ${outcome}`, async () => {
    const result = await closeLeadDeal(ctx, { leadId: metadata.leadId, outcome, member, close });
    const text = !result.done
      ? plain(result.why, 300)
      : outcome === 'won'
        ? `🏆 The deal in ${plain(result.pipelineName, 120)} is won: ${money(close.value ?? 0, close.currency ?? ctx.ruleset.deals.currency)}.`
        : `The deal in ${plain(result.pipelineName, 120)} is lost.`;
    await respond(ctx, target, notice(text), { leadId: metadata.leadId });
  });
}

type Details =
  | { value?: number; currency?: string; closedAt?: Date; lineItems?: { title: string; quantity: number; unit: string; unit_price: number }[]; lostReason?: string }
  | { error: string; block: string };

function wonDetails(ctx: AppContext, state: State): Details {
  const amount = Number(state[WON_MODAL.amount.blockId]?.[WON_MODAL.amount.actionId]?.value ?? '');
  if (!Number.isFinite(amount) || amount <= 0) return { error: 'Type the amount the deal was won for.', block: WON_MODAL.amount.blockId };
  const currency = (state[WON_MODAL.currency.blockId]?.[WON_MODAL.currency.actionId]?.value ?? '').trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) return { error: 'A three-letter currency code like EUR.', block: WON_MODAL.currency.blockId };
  const date = state[WON_MODAL.closedOn.blockId]?.[WON_MODAL.closedOn.actionId]?.selected_date ?? null;
  const parts = date === null ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const closedAt = parts === null ? undefined : zonedTime(Number(parts[1]), Number(parts[2]), Number(parts[3]), 12, 0, ctx.ruleset.timezone);
  if (closedAt !== undefined && closedAt.getTime() > ctx.now().getTime() + 36 * 3_600_000) {
    return { error: 'A deal is closed today or earlier.', block: WON_MODAL.closedOn.blockId };
  }
  const chosen = state[WON_MODAL.products.blockId]?.[WON_MODAL.products.actionId]?.selected_options ?? [];
  const products = new Map(ctx.ruleset.deals.products.map((p) => [p.id, p]));
  const lineItems = chosen.flatMap(({ value }) => {
    const p = products.get(value);
    return p === undefined ? [] : [{ title: p.name, quantity: 1, unit: p.unit, unit_price: p.unit_price }];
  });
  return { value: amount, currency, ...(closedAt === undefined ? {} : { closedAt }), lineItems };
}

function lostDetails(state: State): Details {
  const reason = (state[LOST_MODAL.reason.blockId]?.[LOST_MODAL.reason.actionId]?.value ?? '').trim();
  if (reason === '') return { error: 'Say why the deal was lost.', block: LOST_MODAL.reason.blockId };
  return { lostReason: reason.slice(0, LOST_MODAL.reason.maxLength) };
}

function readMetadata(raw: string): z.output<typeof metadataSchema> | null {
  try {
    const parsed = metadataSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function errors(block: string, reason: string) {
  return { response_action: 'errors' as const, errors: { [block]: reason } };
}
