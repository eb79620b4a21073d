/**
 * The lead card `/lead` shows: who the lead is, score and grade with the rules behind them, intent
 * per pipeline, live signals, owner, pipeline, stage and deal, the last events, the SLA clock and
 * why routing decided as it did. Pure: data in, `{ text, blocks }` out. Lead-supplied text enters
 * only through `plain`; rule ids, pipeline names and explanations from the ruleset are escaped too.
 */
import type { types } from '@slack/bolt';
import { actions, button, context, fields, header, plain, section, userMention } from './mrkdwn.ts';
import { relativeTime } from './time.ts';
import type { SlackMessage, SlackPerson } from './views.ts';
import { DEAL_ACTIONS, money } from './deals.ts';


/** Someone on the team as the card names them. */
export interface LeadCardData {
  id: number;
  /** Display name, raw (the card escapes it). */
  name: string;
  email: string | null;
  company: string | null;
  title: string | null;
  country: string | null;
  erased: boolean;
  score: number;
  grade: string;
  /** pool, routed, conflict or archived. */
  status: string;
  breakdown: { ruleId: string; category: string; points: number; expiresAt: Date | null }[];
  /** Each configured intent with its share of live intent weight and the pipelines serving it. */
  intents: { intent: string; share: number; pipelines: string[] }[];
  signals: { signal: string; intent: string; tier: string; weight: number; occurredAt: Date }[];
  owner: SlackPerson | null;
  claimedBy: { person: SlackPerson; at: Date } | null;
  disqualified: boolean;
  deals: {
    id: number;
    pipeline: string;
    stage: string;
    status: string;
    owner: SlackPerson | null;
    queue: string | null;
    value: number | null;
    currency: string;
    /** The value weighted by the stage's win probability (engine/deals weightedValue). */
    weighted: number | null;
  }[];
  events: { type: string; source: string; occurredAt: Date }[];
  sla: {
    state: string;
    priority: string;
    dueAt: Date;
    step: number;
    snoozedUntil: Date | null;
    claimedAt: Date | null;
    createdAt: Date;
  } | null;
  /** Routing and assignment explanations, plain sentences. */
  why: string[];
  notes: { authorSlackUserId: string; text: string; at: Date }[];
}

/** Button action ids on the card. Claim and Details are served by the hot-lead alert listeners. */
export const CARD_ACTIONS = {
  claim: 'lead.claim',
  details: 'lead.details',
  reassign: 'lead.reassign',
  note: 'lead.note',
  share: 'lead.share',
} as const;

export interface CardView {
  now: Date;
  /** Managers and admins see Reassign. */
  canManage: boolean;
  /** Set when the card is posted to a channel for everyone: no Share, Note or Reassign there. */
  sharedBy?: string;
}

const MAX_BREAKDOWN = 8;
const MAX_SIGNALS = 6;
const SLA_STEPS = ['', 'owner reminded', 'escalated to managers', 'reassigned'];

function person(p: SlackPerson | null, fallback: string): string {
  if (p === null) return fallback;
  return p.slackUserId === null
    ? plain(p.name, 100)
    : `${userMention(p.slackUserId)} (${plain(p.name, 100)})`;
}

function signed(points: number): string {
  return points > 0 ? `+${points}` : String(points);
}

function bullets(lines: readonly string[], max: number, more: (n: number) => string): string {
  const shown = lines.slice(0, max).map((line) => `• ${line}`);
  if (lines.length > max) shown.push(more(lines.length - max));
  return shown.join('\n');
}

/**
 * The SLA clock in a few words, e.g. `HIGH · due in 12 min` or `HIGH · overdue 5 min (owner reminded)`.
 *
 * @example
 * slaText({ state: 'open', priority: 'HIGH', dueAt, step: 0, … }, now) // 'HIGH · due in 12 min'
 */
export function slaText(sla: LeadCardData['sla'], now: Date): string {
  if (sla === null) return 'No alert';
  const prefix = plain(sla.priority, 20);
  if (sla.state === 'claimed' && sla.claimedAt !== null) {
    const late = sla.claimedAt > sla.dueAt ? ' (after the deadline)' : ' (in time)';
    return `${prefix} · claimed ${relativeTime(sla.claimedAt, now)}${late}`;
  }
  if (sla.state === 'snoozed' && sla.snoozedUntil !== null && sla.snoozedUntil > now) {
    return `${prefix} · snoozed, back ${relativeTime(sla.snoozedUntil, now)}`;
  }
  if (sla.state !== 'open' && sla.state !== 'snoozed') return `${prefix} · ${plain(sla.state, 20)}`;
  const step = SLA_STEPS[sla.step] ?? '';
  const clock =
    sla.dueAt > now ? `due ${relativeTime(sla.dueAt, now)}` : `overdue since ${relativeTime(sla.dueAt, now)}`;
  return `${prefix} · ${clock}${step === '' ? '' : ` (${step})`}`;
}

function contactLine(card: LeadCardData): string {
  const role = [card.title, card.company].filter((v): v is string => v !== null && v.trim() !== '');
  const parts = [
    card.email === null ? null : plain(card.email, 320),
    role.length === 0 ? null : plain(role.join(' at '), 400),
    card.country === null ? null : plain(card.country, 60),
  ].filter((p): p is string => p !== null);
  return parts.length === 0 ? 'No contact details' : parts.join(' · ');
}

function dealField(card: LeadCardData): [string, string] {
  const deal = card.deals[0];
  if (deal === undefined) {
    const where = card.status === 'conflict' ? 'Waiting for a manager' : 'Not routed yet (pool)';
    return [`*Pipeline / stage*\n${where}`, '*Deal*\nNone'];
  }
  const weighted =
    deal.status === 'open' && deal.weighted !== null ? ` (weighted ${money(deal.weighted, deal.currency)})` : '';
  const value = deal.value === null ? '' : ` · ${money(deal.value, deal.currency)}${weighted}`;
  const more = card.deals.length > 1 ? ` (+${card.deals.length - 1} more)` : '';
  return [
    `*Pipeline / stage*\n${plain(deal.pipeline, 200)} · ${plain(deal.stage, 200)}`,
    `*Deal*\n#${deal.id} ${plain(deal.status, 10)}${value}${more}`,
  ];
}

function ownerField(card: LeadCardData): string {
  const deal = card.deals[0];
  if (card.owner !== null) return person(card.owner, 'Nobody');
  if (deal?.queue != null) return `Queue ${plain(deal.queue, 80)}`;
  return 'Nobody yet';
}

function claimField(card: LeadCardData, now: Date): string {
  if (card.disqualified) return 'Not a fit';
  if (card.claimedBy === null) return 'Unclaimed';
  return `${person(card.claimedBy.person, 'Someone')} ${relativeTime(card.claimedBy.at, now)}`;
}

function breakdownText(card: LeadCardData, now: Date): string {
  if (card.breakdown.length === 0) return '*Score breakdown*\nNo points yet.';
  const lines = card.breakdown.map((row) => {
    const expiry = row.expiresAt === null ? '' : ` · expires ${relativeTime(row.expiresAt, now)}`;
    return `${signed(row.points)} ${plain(row.ruleId, 100)} (${plain(row.category, 20)})${expiry}`;
  });
  return `*Score breakdown*\n${bullets(lines, MAX_BREAKDOWN, (n) => `…and ${n} more`)}`;
}

function intentText(card: LeadCardData): string {
  const live = card.intents.filter((i) => i.share > 0);
  if (live.length === 0) return '*Intent per pipeline*\nNo live intent signals.';
  const lines = live.map((i) => {
    const where = i.pipelines.length === 0 ? 'no pipeline' : i.pipelines.map((p) => plain(p, 100)).join(', ');
    return `${plain(i.intent, 50)} ${Math.round(i.share)}% → ${where}`;
  });
  return `*Intent per pipeline*\n${bullets(lines, 10, (n) => `…and ${n} more`)}`;
}

function signalText(card: LeadCardData, now: Date): string {
  if (card.signals.length === 0) return '*Current signals*\nNone live.';
  const lines = card.signals.map(
    (s) =>
      `${plain(s.signal, 100)} (${plain(s.intent, 50)}, ${plain(s.tier, 10)}) · weight ${Math.round(s.weight * 10) / 10} · ${relativeTime(s.occurredAt, now)}`,
  );
  return `*Current signals*\n${bullets(lines, MAX_SIGNALS, (n) => `…and ${n} more`)}`;
}

function eventText(card: LeadCardData, now: Date): string {
  if (card.events.length === 0) return '*Last events*\nNone stored.';
  const lines = card.events.map(
    (e) => `${plain(e.type, 100)} via ${plain(e.source, 60)} · ${relativeTime(e.occurredAt, now)}`,
  );
  return `*Last events*\n${bullets(lines, 5, () => '')}`;
}

function whyText(card: LeadCardData): string | null {
  if (card.why.length === 0) return null;
  return `*Why*\n${card.why.map((line) => `> ${plain(line, 400)}`).join('\n')}`;
}

function cardButtons(card: LeadCardData, view: CardView): types.Button[] {
  const id = String(card.id);
  const out: types.Button[] = [];
  if (!card.erased && card.claimedBy === null && !card.disqualified) {
    out.push(button({ text: 'Claim', actionId: CARD_ACTIONS.claim, value: id, style: 'primary' }));
  }
  out.push(button({ text: 'Details', actionId: CARD_ACTIONS.details, value: id }));
  if (view.sharedBy !== undefined || card.erased) return out;
  if (view.canManage) out.push(button({ text: 'Reassign', actionId: CARD_ACTIONS.reassign, value: id }));
  out.push(button({ text: 'Note', actionId: CARD_ACTIONS.note, value: id }));
  if (card.deals.some((d) => d.status === 'open')) {
    out.push(button({ text: 'Mark won', actionId: DEAL_ACTIONS.markWon, value: id, style: 'primary' }));
    out.push(button({ text: 'Mark lost', actionId: DEAL_ACTIONS.markLost, value: id }));
  }
  out.push(button({ text: 'Share', actionId: CARD_ACTIONS.share, value: id }));
  return out;
}

/**
 * The lead card, for the caller (ephemeral, with every button the caller may use) or shared in a
 * channel (`sharedBy`: Claim and Details only).
 *
 * @example
 * const { text, blocks } = renderLeadCard(card, { now, canManage: false });
 * // text: 'Ada Lovelace: score 87 (A)'; blocks: header, fields, breakdown, intent, …, actions
 */
export function renderLeadCard(card: LeadCardData, view: CardView): SlackMessage {
  const name = card.erased ? `Lead #${card.id} (erased)` : card.name;
  const blocks: types.KnownBlock[] = [header(plain(name, 150))];
  if (!card.erased) blocks.push(section(contactLine(card), { blockId: 'lead-contact' }));
  const [pipeline, deal] = dealField(card);
  blocks.push(
    fields(
      [
        `*Score*\n${card.score} · grade ${plain(card.grade, 2)}`,
        `*Owner*\n${ownerField(card)}`,
        pipeline,
        deal,
        `*SLA*\n${slaText(card.sla, view.now)}`,
        `*Claimed*\n${claimField(card, view.now)}`,
      ],
      { blockId: 'lead-facts' },
    ),
    section(breakdownText(card, view.now), { blockId: 'lead-breakdown' }),
    section(intentText(card), { blockId: 'lead-intent' }),
    section(signalText(card, view.now), { blockId: 'lead-signals' }),
    section(eventText(card, view.now), { blockId: 'lead-events' }),
  );
  const why = whyText(card);
  if (why !== null) blocks.push(section(why, { blockId: 'lead-why' }));
  if (card.notes.length > 0) {
    blocks.push(
      context(
        card.notes.map(
          (n) =>
            `:memo: ${userMention(n.authorSlackUserId)} ${relativeTime(n.at, view.now)}: ${plain(n.text, 300)}`,
        ),
      ),
    );
  }
  blocks.push(actions('lead-actions', cardButtons(card, view)));
  const footer = [`Lead #${card.id}`];
  if (view.sharedBy !== undefined) footer.push(`shared by ${userMention(view.sharedBy)}`);
  blocks.push(context([footer.join(' · ')]));
  return { text: plain(`${name}: score ${card.score} (${card.grade})`, 300), blocks };
}
