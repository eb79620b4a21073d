import { randomUUID } from 'node:crypto';
import { type Pool, run, withTransaction } from '../db/pool.ts';
import {
  insertNote,
  type LeadHitRow,
  type LeadListRow,
  selectLeadByEmail,
  selectLeadsByDomain,
  selectLeadsFuzzy,
  selectMyLeads,
  selectOpenDealIds,
  selectPoolLeads,
  selectTopUnclaimed,
  setTrigramThresholds,
  upsertAwayUntil,
} from '../db/sql/lookup.ts';
import type { TeamMember } from '../engine/routing-schema.ts';
import { exportLead } from '../app/commands/forget.ts';
import type { AppContext } from '../app/context.ts';
import { displayName, loadLeadCard } from '../app/queries/lead-card.ts';
import { assignDeal } from '../app/processing/assignment.ts';
import { kickSlackDelivery } from '../slack/outbox/kick.ts';
import { enqueueSlack } from '../slack/outbox/enqueue.ts';
import { renderLeadCard } from '../slack/render/lead-card.ts';
import {
  exportMessages,
  type LeadLine,
  notice,
  renderChoices,
  renderHelp,
  renderLeadList,
} from '../slack/render/lead-lists.ts';
import { plain, userMention } from '../slack/render/mrkdwn.ts';
import { formatLocal } from '../slack/render/time.ts';
import { closestSubcommand, type LookupQuery } from './lead-parse.ts';
import { type Caller, type ReplyTarget, reply } from './lead-respond.ts';
import { insertAudit } from '../db/sql/audit.ts';

/**
 * The `/lead` subcommands' work after the ack: each reads or writes the database and answers
 * through `reply` (the outbox). Roles and arguments were checked before the ack (lead-command.ts).
 */

/** Away "until `/lead back`": a date no one reaches, so assignment treats the member as away. */
export const AWAY_UNTIL_BACK = new Date('9999-12-31T00:00:00.000Z');
const CHOICES = 5;
/** Whole-value similarity a match needs: typos pass, a shared "GmbH" alone does not. */
const SIMILARITY = 0.45;
/** A query that is one word of the value ("lovelace", "genomics") needs this much of that word. */
const WORD_SIMILARITY = 0.6;
const LIST_SIZE = 20;
const EXPORT_PARTS = 10;

/**
 * A lead row as a list line.
 *
 * @example
 * toLine(row) // { id: 7, name: 'Ada Lovelace', company: 'Genomics Lab', score: 87, grade: 'A', … }
 */
export function toLine(row: LeadHitRow | LeadListRow): LeadLine {
  return {
    id: row.id,
    name: displayName(row),
    email: row.email,
    company: row.company,
    score: row.score,
    grade: row.grade,
    ...('sla_due_at' in row
      ? { slaDueAt: row.sla_due_at, claimedBySlackUser: row.claimed_by_slack_user }
      : {}),
  };
}

/**
 * Leads matching a lookup, best first: the exact email, else leads of the company domain, else
 * trigram matches on name, company and email (also the fallback when an email or domain has no
 * exact hit, to catch typos).
 *
 * @example
 * await findLeads(pool, { kind: 'email', email: 'ada@lab.example', text: 'ada@lab.example' }) // [{ id: 7, … }]
 */
export async function findLeads(pool: Pool, query: LookupQuery): Promise<LeadHitRow[]> {
  if (query.kind === 'email') {
    const exact = await run<LeadHitRow>(pool, selectLeadByEmail(query.email));
    if (exact.length > 0) return exact;
    return fuzzy(pool, query.email);
  }
  if (query.kind === 'domain') {
    const hits = await run<LeadHitRow>(pool, selectLeadsByDomain(query.domain, CHOICES + 1));
    if (hits.length > 0) return hits;
    return fuzzy(pool, query.domain.split('.')[0] ?? query.domain);
  }
  return fuzzy(pool, query.text);
}

/** Trigram lookup with stricter thresholds than pg_trgm's defaults (0.3, 0.6), in one short transaction. */
async function fuzzy(pool: Pool, text: string): Promise<LeadHitRow[]> {
  return withTransaction(pool, async (tx) => {
    await run(tx, setTrigramThresholds(SIMILARITY, WORD_SIMILARITY));
    return run<LeadHitRow>(tx, selectLeadsFuzzy(text, CHOICES + 1));
  });
}

/** One hit, or exactly one exact hit among several, is clear; anything else needs a choice. */
function clearWinner(hits: readonly LeadHitRow[]): LeadHitRow | null {
  if (hits.length === 1) return hits[0]!;
  const exact = hits.filter((hit) => hit.similarity >= 0.999);
  return exact.length === 1 ? exact[0]! : null;
}

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
    await reply(ctx, target, notice(`Lead #${leadId} does not exist (any more).`));
    return;
  }
  const message = renderLeadCard(card, { now, canManage: caller.canManage });
  await reply(ctx, target, message, { leadId, kind: 'lead.card', ...options });
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
    await reply(
      ctx,
      target,
      renderChoices(query.text, hits.slice(0, CHOICES).map(toLine), ctx.now(), { more }),
    );
    return;
  }
  const word = query.text.split(' ')[0] ?? '';
  const closest = closestSubcommand(word);
  if (closest !== null) {
    await reply(ctx, target, renderHelp({ typed: word, closest }));
    return;
  }
  await reply(
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
  const now = ctx.now();
  if (list.kind === 'mine') {
    const rows = await run<LeadListRow>(ctx.pool, selectMyLeads(member.id, LIST_SIZE));
    await reply(
      ctx,
      target,
      renderLeadList('Your leads', rows.map(toLine), now, 'Nothing claimed or owned by you.'),
    );
  } else if (list.kind === 'top') {
    const rows = await run<LeadListRow>(ctx.pool, selectTopUnclaimed(list.n));
    const title = `Top ${list.n} unclaimed leads`;
    await reply(ctx, target, renderLeadList(title, rows.map(toLine), now, 'No unclaimed leads.'));
  } else {
    const rows = await run<LeadListRow>(ctx.pool, selectPoolLeads(LIST_SIZE));
    const title = 'Hottest leads waiting in the pool';
    await reply(ctx, target, renderLeadList(title, rows.map(toLine), now, 'The pool is empty.'));
  }
}

async function leadByEmail(ctx: AppContext, target: ReplyTarget, email: string): Promise<LeadHitRow | null> {
  const [lead] = await run<LeadHitRow>(ctx.pool, selectLeadByEmail(email));
  if (lead === undefined) await reply(ctx, target, notice(`No lead has the email ${plain(email, 320)}.`));
  return lead ?? null;
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
  const now = ctx.now();
  await withTransaction(ctx.pool, async (tx) => {
    const [note] = await run<{ id: number }>(tx, insertNote(lead.id, caller.userId, text, now));
    await run(tx, insertAudit({ actor: caller.userId, action: 'note', leadId: lead.id, detail: { noteId: note?.id ?? null }, now }));
  });
  await reply(ctx, target, notice(`Note added to *${plain(lead.name, 200)}*.`), { leadId: lead.id });
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
 * Gives every open deal of the lead to `member` (assignDeal, manual), records it in the audit log and
 * confirms; says so when the lead has no open deal. Used by `/lead assign` and the Reassign modal.
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
  const now = ctx.now();
  const deals = await withTransaction(ctx.pool, async (tx) => {
    const open = await run<{ id: number; pipeline_id: string }>(tx, selectOpenDealIds(lead.id));
    for (const deal of open) await assignDeal(tx, ctx, deal.id, member.id, now);
    if (open.length > 0) {
      const detail = { to: member.id, deals: open.map((d) => d.id) };
      await run(tx, insertAudit({ actor: caller.userId, action: 'assign', leadId: lead.id, detail, now }));
    }
    return open;
  });
  const name = `*${plain(lead.name, 200)}*`;
  const text =
    deals.length === 0
      ? `${name} has no open deal to reassign. Route the lead to a pipeline first.`
      : `${name} now belongs to ${userMention(member.slack_user_id)} (${deals.length === 1 ? 'one deal' : `${deals.length} deals`}).`;
  await reply(ctx, target, notice(text), { leadId: lead.id });
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
  await run(ctx.pool, upsertAwayUntil(member.id, member.slack_user_id, until, ctx.now()));
  const text =
    until === null
      ? 'Welcome back: new leads can reach you again.'
      : until.getTime() === AWAY_UNTIL_BACK.getTime()
        ? 'You are away until you say `/lead back`. New leads go to your teammates.'
        : `You are away until ${formatLocal(until, ctx.ruleset.timezone)} (${ctx.ruleset.timezone}). New leads go to your teammates meanwhile.`;
  await reply(ctx, target, notice(text));
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
  const data = await exportLead(ctx.pool, lead.id);
  if (data === null) return;
  const messages = exportMessages(JSON.stringify(data, null, 2), lead.id, EXPORT_PARTS);
  const now = ctx.now();
  const batch = randomUUID();
  await withTransaction(ctx.pool, async (tx) => {
    for (const [i, message] of messages.entries()) {
      await enqueueSlack(
        tx,
        {
          key: `export:${lead.id}:${batch}:${i + 1}`,
          kind: 'lead.export',
          leadId: lead.id,
          method: 'chat.postMessage',
          channel: caller.userId,
          payload: { text: message.text },
        },
        now,
      );
    }
    await run(tx, insertAudit({ actor: caller.userId, action: 'export', leadId: lead.id, detail: { messages: messages.length }, now }));
  });
  await kickSlackDelivery(ctx.queue);
  const count = messages.length === 1 ? 'one message' : `${messages.length} messages`;
  await reply(ctx, target, notice(`Lead #${lead.id}’s data is on its way to you by DM (${count}).`));
}
