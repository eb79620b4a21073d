import type { TeamMember } from '../engine/routing-schema.ts';
import { AWAY_UNTIL_BACK } from '../engine/presence.ts';
import { setAway as storeAway } from '../app/commands/away.ts';
import { sendExport } from '../app/commands/export.ts';
import { addNote as storeNote } from '../app/commands/note.ts';
import { reassignLead as giveLead } from '../app/commands/reassign.ts';
import type { AppContext } from '../app/context.ts';
import {
  CHOICES,
  clearWinner,
  findLeads,
  leadByEmail as findByEmail,
  loadLeadList,
  type LookupQuery,
  toLine,
} from '../app/queries/find-leads.ts';
import { displayName, loadLeadCard } from '../app/queries/lead-card.ts';
import type { LeadHitRow } from '../db/sql/lookup.ts';
import { renderLeadCard } from '../slack/render/lead-card.ts';
import { notice, renderChoices, renderHelp, renderLeadList } from '../slack/render/lead-lists.ts';
import { plain, userMention } from '../slack/render/mrkdwn.ts';
import { formatLocal } from '../slack/render/time.ts';
import { type ReplyTarget, respond } from '../slack/respond.ts';
import { closestSubcommand } from './lead-parse.ts';
import type { Caller } from './lead-respond.ts';

/**
 * The `/lead` subcommands' work after the ack: each calls a query or command of `app` and answers
 * through `respond` (the outbox). Roles and arguments were checked before the ack (lead-command.ts).
 */

/**
 * Sends the lead card to the user (ephemeral), with the buttons their role allows.
 *
 * @example
 * await showCard(ctx, caller, target, 42);
 */
export async function showCard(
  ctx: AppContext,
  caller: Caller,
  target: ReplyTarget,
  leadId: number,
  options: { replaceOriginal?: boolean } = {},
): Promise<void> {
  const now = ctx.now();
  const card = await loadLeadCard(ctx.pool, ctx.ruleset, leadId, now);
  if (card === null) {
    await respond(ctx, target, notice(`Lead #${leadId} does not exist (any more).`));
    return;
  }
  const message = renderLeadCard(card, { now, canManage: caller.canManage });
  await respond(ctx, target, message, { leadId, kind: 'lead.card', ...options });
}

/**
 * `/lead <query>`: the card, up to five choices, or "no match" (with help when it looks like a typo).
 *
 * @example
 * await runLookup(ctx, caller, { userId, responseUrl }, lookupQuery('ada lovelace'));
 */
export async function runLookup(
  ctx: AppContext,
  caller: Caller,
  target: ReplyTarget,
  query: LookupQuery,
): Promise<void> {
  const hits = await findLeads(ctx.pool, query);
  const winner = clearWinner(hits);
  if (winner !== null) return showCard(ctx, caller, target, winner.id);
  if (hits.length > 0) {
    const more = hits.length > CHOICES;
    await respond(
      ctx,
      target,
      renderChoices(query.text, hits.slice(0, CHOICES).map(toLine), ctx.now(), { more }),
    );
    return;
  }
  const word = query.text.split(' ')[0] ?? '';
  const closest = closestSubcommand(word);
  if (closest !== null) {
    await respond(ctx, target, renderHelp({ typed: word, closest }));
    return;
  }
  await respond(
    ctx,
    target,
    notice(
      `No lead matches “${plain(query.text, 200)}”. Try an email, a name, a company or a domain; \`/lead help\` lists everything.`,
    ),
  );
}

/**
 * `/lead mine`, `/lead top [n]`, `/lead pool`: a list with an Open button per lead.
 *
 * @example
 * await runList(ctx, anna, target, { kind: 'top', n: 5 });
 */
export async function runList(
  ctx: AppContext,
  member: TeamMember,
  target: ReplyTarget,
  list: { kind: 'mine' } | { kind: 'top'; n: number } | { kind: 'pool' },
): Promise<void> {
  const lines = await loadLeadList(ctx.pool, list.kind === 'mine' ? { kind: 'mine', memberId: member.id } : list);
  const [title, empty] =
    list.kind === 'mine'
      ? ['Your leads', 'Nothing claimed or owned by you.']
      : list.kind === 'top'
        ? [`Top ${list.n} unclaimed leads`, 'No unclaimed leads.']
        : ['Hottest leads waiting in the pool', 'The pool is empty.'];
  await respond(ctx, target, renderLeadList(title, lines, ctx.now(), empty));
}

async function leadByEmail(ctx: AppContext, target: ReplyTarget, email: string): Promise<LeadHitRow | null> {
  const lead = await findByEmail(ctx.pool, email);
  if (lead === null) await respond(ctx, target, notice(`No lead has the email ${plain(email, 320)}.`));
  return lead;
}

/**
 * Adds a note to a lead (from `/lead note` or the Note modal) and confirms it.
 *
 * @example
 * await addNote(ctx, caller, target, 42, 'Call back on Friday');
 */
export async function addNote(
  ctx: AppContext,
  caller: Caller,
  target: ReplyTarget,
  lead: { id: number; name: string },
  text: string,
): Promise<void> {
  await storeNote(ctx, { leadId: lead.id, authorSlackUser: caller.userId, text });
  await respond(ctx, target, notice(`Note added to *${plain(lead.name, 200)}*.`), { leadId: lead.id });
}

/**
 * `/lead note <email> <text>`.
 *
 * @example
 * await runNote(ctx, caller, target, 'ada@genomics-lab.example', 'Call back on Friday');
 */
export async function runNote(
  ctx: AppContext,
  caller: Caller,
  target: ReplyTarget,
  email: string,
  text: string,
): Promise<void> {
  const lead = await leadByEmail(ctx, target, email);
  if (lead !== null) await addNote(ctx, caller, target, { id: lead.id, name: displayName(lead) }, text);
}

/**
 * Gives the lead to `member` (reassignLead) and confirms; says so when the lead has no open deal.
 * Used by `/lead assign` and the Reassign modal.
 *
 * @example
 * await reassignLead(ctx, caller, target, { id: 42, name: 'Ada Lovelace' }, anna);
 */
export async function reassignLead(
  ctx: AppContext,
  caller: Caller,
  target: ReplyTarget,
  lead: { id: number; name: string },
  member: TeamMember,
): Promise<void> {
  const { openDeals } = await giveLead(ctx, { leadId: lead.id, member, bySlackUser: caller.userId });
  const name = `*${plain(lead.name, 200)}*`;
  const text =
    openDeals === 0
      ? `${name} has no open deal to reassign. Route the lead to a pipeline first.`
      : `${name} now belongs to ${userMention(member.slack_user_id)} (${openDeals === 1 ? 'one deal' : `${openDeals} deals`}).`;
  await respond(ctx, target, notice(text), { leadId: lead.id });
}

/**
 * `/lead assign <email> @user` (the caller's role was checked before the ack).
 *
 * @example
 * await runAssign(ctx, caller, target, 'ada@genomics-lab.example', ben);
 */
export async function runAssign(
  ctx: AppContext,
  caller: Caller,
  target: ReplyTarget,
  email: string,
  member: TeamMember,
): Promise<void> {
  const lead = await leadByEmail(ctx, target, email);
  if (lead !== null)
    await reassignLead(ctx, caller, target, { id: lead.id, name: displayName(lead) }, member);
}

/**
 * `/lead away [until]` and `/lead back` (until null): sets or clears the caller's away-until, which
 * assignment honours from the next lead on.
 *
 * @example
 * await setAway(ctx, anna, target, new Date('2026-12-04T23:00:00Z'));
 */
export async function setAway(
  ctx: AppContext,
  member: TeamMember,
  target: ReplyTarget,
  until: Date | null,
): Promise<void> {
  await storeAway(ctx, member, until);
  const text =
    until === null
      ? 'Welcome back: new leads can reach you again.'
      : until.getTime() === AWAY_UNTIL_BACK.getTime()
        ? 'You are away until you say `/lead back`. New leads go to your teammates.'
        : `You are away until ${formatLocal(until, ctx.ruleset.timezone)} (${ctx.ruleset.timezone}). New leads go to your teammates meanwhile.`;
  await respond(ctx, target, notice(text));
}

/**
 * `/lead export <email>`: the lead's stored data as JSON, by DM to the admin who asked (several
 * messages when it is long), plus an audit entry.
 *
 * @example
 * await runExport(ctx, admin, target, 'ada@genomics-lab.example'); // DMs "Export of lead #42 (1/2) …"
 */
export async function runExport(
  ctx: AppContext,
  caller: Caller,
  target: ReplyTarget,
  email: string,
): Promise<void> {
  const lead = await leadByEmail(ctx, target, email);
  if (lead === null) return;
  const sent = await sendExport(ctx, { leadId: lead.id, toSlackUser: caller.userId, interaction: target.interaction });
  if (sent === null) return;
  const count = sent.messages === 1 ? 'one message' : `${sent.messages} messages`;
  await respond(ctx, target, notice(`Lead #${lead.id}’s data is on its way to you by DM (${count}).`));
}
