import { closeLeadDeal, reopenLeadDeal } from '../app/commands/close-deal.ts';
import type { AppContext } from '../app/context.ts';
import { displayName } from '../app/queries/lead-card.ts';
import { leadByEmail } from '../app/queries/find-leads.ts';
import type { TeamMember } from '../engine/routing-schema.ts';
import { money } from '../slack/render/deals.ts';
import { notice } from '../slack/render/lead-lists.ts';
import { plain } from '../slack/render/mrkdwn.ts';
import { type ReplyTarget, respond } from '../slack/respond.ts';
import type { LeadCommand } from './lead-parse.ts';

type DealCommand = Extract<LeadCommand, { kind: 'won' | 'lost' | 'reopen' }>;

/**
 * `/lead won <email> <amount> [currency]`, `/lead lost <email> <reason>`, `/lead reopen <email>`
 * (the role was checked before the ack; whether this member may close this deal is the command's).
 *
 * @example
 * await runDealCommand(ctx, anna, target, { kind: 'won', email: 'ada@lab.example', amount: 12000, currency: null });
 */
export async function runDealCommand(
  ctx: AppContext,
  member: TeamMember,
  target: ReplyTarget,
  command: DealCommand,
): Promise<void> {
  const lead = await leadByEmail(ctx.pool, command.email);
  if (lead === null) {
    await respond(ctx, target, notice(`No lead has the email ${plain(command.email, 320)}.`));
    return;
  }
  const name = `*${plain(displayName(lead), 200)}*`;
  const result =
    command.kind === 'reopen'
      ? await reopenLeadDeal(ctx, { leadId: lead.id, member })
      : await closeLeadDeal(ctx, {
          leadId: lead.id,
          outcome: command.kind,
          member,
          close:
            command.kind === 'won'
              ? { value: command.amount, currency: command.currency ?? ctx.ruleset.deals.currency }
              : { lostReason: command.reason },
        });
  if (!result.done) {
    await respond(ctx, target, notice(`${name}: ${plain(result.why, 300)}`), { leadId: lead.id });
    return;
  }
  const pipeline = plain(result.pipelineName, 120);
  const text =
    command.kind === 'won'
      ? `🏆 ${name}’s deal in ${pipeline} is won: ${money(command.amount, command.currency ?? ctx.ruleset.deals.currency)}.`
      : command.kind === 'lost'
        ? `${name}’s deal in ${pipeline} is lost: ${plain(command.reason, 300)}.`
        : `${name}’s deal in ${pipeline} is open again.`;
  await respond(ctx, target, notice(text), { leadId: lead.id });
}
