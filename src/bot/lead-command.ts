

import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { Ruleset } from '../engine/ruleset.ts';
import { memberBySlackUser } from '../engine/team.ts';
import { IntakeWriter } from '../app/intake/intake-writer.ts';
import type { AppContext } from '../app/context.ts';
import { loadLeadCard } from '../app/queries/lead-card.ts';
import { kickSlackDelivery } from '../slack/outbox/kick.ts';
import { enqueueSlack } from '../slack/outbox/enqueue.ts';
import { renderLeadCard } from '../slack/render/lead-card.ts';
import { HELP_LINES, notice, PICK_ACTION_PREFIX, renderHelp } from '../slack/render/lead-lists.ts';
import { plain } from '../slack/render/mrkdwn.ts';
import { openForgetModal, openNewLeadModal, registerLeadModals, targetOf } from './lead-modals.ts';
import { type LeadCommand, parseLeadCommand } from './lead-parse.ts';
import {
  ADMINS_ONLY,
  afterAck,
  type Caller,
  callerOf,
  MANAGERS_ONLY,
  NOT_ON_TEAM,
} from './lead-respond.ts';
import {
  runAssign,
  runExport,
  runList,
  runLookup,
  runNote,
  setAway,
  showCard,
} from './lead-subcommands.ts';
import type { SlackMessage } from '../slack/render/views.ts';
import { commandInteraction, respond } from '../slack/respond.ts';
import { AWAY_UNTIL_BACK } from '../engine/presence.ts';
import { registerDealButtons } from './deal-buttons.ts';
import { runDealCommand } from './deal-commands.ts';
import { runFairness, runWhy } from './lead-reports.ts';

export interface LeadCommandOptions {
  /** The process's intake writer (one per process shares group commits); a new one by default. */
  intake?: IntakeWriter;
}

export const SHARE_ACTION = 'lead.share';
const PICK_ACTION = new RegExp(`^${PICK_ACTION_PREFIX.replace('.', '\\.')}:\\d+$`);
const leadIdValue = z.coerce.number().int().positive();

const ephemeral = (message: SlackMessage) => ({ response_type: 'ephemeral' as const, ...message });

/** Why the caller may not run this command, decided from the ruleset alone; null when they may. */
function refusal(command: LeadCommand, caller: Caller, ruleset: Ruleset): string | null {
  if (command.kind === 'help' || command.kind === 'usage') return null;
  if (!caller.onTeam) return NOT_ON_TEAM;
  if (command.kind === 'assign') {
    if (!caller.canManage) return MANAGERS_ONLY;
    const member = memberBySlackUser(ruleset, command.slackUserId);
    if (member === null || !member.active) return 'That person is not an active member of the team.';
  }
  if ((command.kind === 'forget' || command.kind === 'export') && !caller.isAdmin) return ADMINS_ONLY;
  if (command.kind === 'reopen' && !caller.canManage) return 'Only managers and admins can reopen a deal.';
  if (command.kind === 'fairness' && !caller.canManage) return MANAGERS_ONLY;
  return null;
}

function usageMessage(command: Extract<LeadCommand, { kind: 'usage' }>): SlackMessage {
  const line = HELP_LINES.find(([usage]) => usage.startsWith(`/lead ${command.subcommand}`));
  const usage = line === undefined ? '' : ` Usage: \`${plain(line[0], 100)}\``;
  return notice(`${plain(command.problem, 300)}.${usage}`);
}

/**
 * Registers `/lead` with its subcommands, the choice and list buttons (`lead.pick:<id>`), Share
 * (`lead.share`), and the modals behind Reassign, Note, `new` and `forget` (registerLeadModals).
 * Claim and Details on the card use the alert listeners' ids (`lead.claim`, `lead.details`) and are
 * not registered here. `/lead ping` is left to registerPing.
 *
 * The ack is always first and never waits on the database: refusals, help and usage errors are
 * decided from the ruleset and go into the ack itself; everything else is acked empty and answered
 * through the response_url via the outbox; modals open right after the ack (trigger ids last 3 s).
 *
 * @example
 * registerPing(slack.app);
 * registerLeadCommand(slack.app, ctx, { intake: writer });
 */
export function registerLeadCommand(app: App, ctx: AppContext, options: LeadCommandOptions = {}): void {
  const intake = options.intake ?? new IntakeWriter(ctx.pool, ctx.queue);

  app.command('/lead', async ({ command, ack, client }) => {
    const parsed = parseLeadCommand(command.text, ctx.now(), ctx.ruleset.timezone);
    if (parsed.kind === 'ping') return;
    const caller = callerOf(ctx.ruleset, command.user_id);
    const refused = refusal(parsed, caller, ctx.ruleset);
    if (refused !== null) return ack(ephemeral(notice(refused)));
    if (parsed.kind === 'help') return ack(ephemeral(renderHelp()));
    if (parsed.kind === 'usage') return ack(ephemeral(usageMessage(parsed)));
    await ack();
    const target = {
      userId: command.user_id,
      responseUrl: command.response_url,
      interaction: commandInteraction(command.trigger_id),
    };
    await afterAck(ctx, target, parsed.kind, async () => {
      const member = caller.member!;
      switch (parsed.kind) {
        case 'new':
          return openNewLeadModal(client, command.trigger_id, command.response_url);
        case 'forget':
          return openForgetModal(client, command.trigger_id, parsed.email, command.response_url);
        case 'lookup':
          return runLookup(ctx, caller, target, parsed.query);
        case 'mine':
        case 'pool':
        case 'top':
          return runList(ctx, member, target, parsed);
        case 'note':
          return runNote(ctx, caller, target, parsed.email, parsed.text);
        case 'assign':
          return runAssign(
            ctx,
            caller,
            target,
            parsed.email,
            memberBySlackUser(ctx.ruleset, parsed.slackUserId)!,
          );
        case 'away':
          return setAway(ctx, member, target, parsed.until ?? AWAY_UNTIL_BACK);
        case 'back':
          return setAway(ctx, member, target, null);
        case 'export':
          return runExport(ctx, caller, target, parsed.email);
        case 'won':
        case 'lost':
        case 'reopen':
          return runDealCommand(ctx, member, target, parsed);
        case 'why':
          return runWhy(ctx, target, parsed.email);
        case 'fairness':
          return runFairness(ctx, target, parsed);
      }
    });
  });

  registerCardButtons(app, ctx);
  registerLeadModals(app, ctx, { intake });
  registerDealButtons(app, ctx);
}

/** The choice and list buttons (`lead.pick:<id>`, which swap in the card) and Share. */
function registerCardButtons(app: App, ctx: AppContext): void {
  app.action(PICK_ACTION, async ({ ack, body, action }) => {
    await ack();
    const target = targetOf(body, action);
    const caller = callerOf(ctx.ruleset, body.user.id);
    const leadId = leadIdValue.safeParse('value' in action ? action.value : undefined);
    await afterAck(ctx, target, 'pick', async () => {
      if (!caller.onTeam) return respond(ctx, target, notice(NOT_ON_TEAM));
      if (leadId.success) await showCard(ctx, caller, target, leadId.data, { replaceOriginal: true });
    });
  });

  app.action(SHARE_ACTION, async ({ ack, body, action }) => {
    await ack();
    const target = targetOf(body, action);
    const caller = callerOf(ctx.ruleset, body.user.id);
    const leadId = leadIdValue.safeParse('value' in action ? action.value : undefined);
    const channel = ('channel' in body ? body.channel?.id : undefined) ?? null;
    await afterAck(ctx, target, 'share', async () => {
      if (!caller.onTeam) return respond(ctx, target, notice(NOT_ON_TEAM));
      if (!leadId.success) return;
      if (channel === null) return respond(ctx, target, notice('There is no channel to share this card in.'));
      await shareCard(ctx, caller, leadId.data, channel, target.interaction);
    });
  });
}

/**
 * Posts the lead card to a channel for everyone (Claim and Details only), through the outbox.
 *
 * @example
 * await shareCard(ctx, caller, 42, 'C0ROUTING1', 'action:lead.share:U0ANNA001:1763640100.123456');
 */
export async function shareCard(
  ctx: AppContext,
  caller: Caller,
  leadId: number,
  channel: string,
  interaction: string,
): Promise<void> {
  const now = ctx.now();
  const card = await loadLeadCard(ctx.pool, ctx.ruleset, leadId, now);
  if (card === null) return;
  const message = renderLeadCard(card, { now, canManage: false, sharedBy: caller.userId });
  await enqueueSlack(
    ctx.pool,
    {
      // One post per press, however often Slack delivers the press.
      key: `share:${interaction}`,
      kind: 'lead.share',
      leadId,
      method: 'chat.postMessage',
      channel,
      payload: { text: message.text, blocks: message.blocks, unfurl_links: false },
    },
    now,
  );
  await kickSlackDelivery(ctx.queue);
}
