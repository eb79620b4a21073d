/**
 * Deals that close: the message in the deals channel when a deal is won or lost, and the money
 * formatting the card, Home tab and digest share. Pure: every value a lead or a person typed goes
 * through `plain`.
 */
import type { types } from '@slack/bolt';
import { context, header, plain, section, truncate, userMention } from './mrkdwn.ts';
import { type LeadSummary, leadDisplayName, type SlackMessage, type SlackPerson, personText } from './views.ts';

export interface ClosedDealView {
  dealId: number;
  outcome: 'won' | 'lost';
  lead: LeadSummary;
  pipelineName: string;
  stageName: string;
  owner: SlackPerson | null;
  value: number | null;
  currency: string;
  /** The Slack user who closed it, when a person did (rules and webhooks close deals too). */
  closedBySlackUser: string | null;
  /** What closed it when no person did: `automation:<rule>`, `hubspot`, `moco`. */
  closedByOther: string | null;
  lostReason: string | null;
  lineItems: readonly { title: string; quantity: number; unit: string; unitPrice: number }[];
}

/**
 * An amount with its currency, grouped for reading: `12,500 EUR`, `99.50 USD`.
 *
 * @example
 * money(12500, 'EUR') // '12,500 EUR'
 */
export function money(amount: number, currency: string): string {
  const digits = Number.isInteger(amount) ? 0 : 2;
  const text = amount.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: 2 });
  return `${text} ${plain(currency, 3)}`;
}

/**
 * The deals channel's message for a won or lost deal.
 *
 * @example
 * renderDealClosed({ outcome: 'won', lead, pipelineName: 'B2B customers', value: 12000, currency: 'EUR', … })
 * // { text: 'Won: Ada Lovelace (Genomics Lab), 12,000 EUR', blocks: [...] }
 */
export function renderDealClosed(view: ClosedDealView): SlackMessage {
  const name = plain(leadDisplayName(view.lead), 200);
  const company = view.lead.company ? ` (${plain(view.lead.company, 120)})` : '';
  const amount = view.value === null ? null : money(view.value, view.currency);
  const title = view.outcome === 'won' ? `🏆 Won: ${leadDisplayName(view.lead)}` : `Lost: ${leadDisplayName(view.lead)}`;
  const by =
    view.closedBySlackUser !== null
      ? userMention(view.closedBySlackUser)
      : plain(view.closedByOther ?? 'Leadline', 100);
  const lines = [
    `*${name}*${company} · ${plain(view.pipelineName, 120)} → ${plain(view.stageName, 120)}`,
    `Owner: ${personText(view.owner)} · closed by ${by}`,
  ];
  if (amount !== null) lines.push(`Value: *${amount}*`);
  if (view.outcome === 'lost' && view.lostReason) lines.push(`Reason: ${plain(view.lostReason, 500)}`);
  const blocks: types.KnownBlock[] = [header(truncate(title, 150)), section(lines.join('\n'))];
  if (view.lineItems.length > 0) {
    const items = view.lineItems
      .slice(0, 10)
      .map((i) => `• ${plain(i.title, 120)}: ${i.quantity} ${plain(i.unit, 20)} × ${money(i.unitPrice, view.currency)}`);
    blocks.push(section(`*Offer items*\n${items.join('\n')}`));
  }
  blocks.push(context([`Deal #${view.dealId}`]));
  const verb = view.outcome === 'won' ? 'Won' : 'Lost';
  return { text: truncate(`${verb}: ${name}${company}${amount === null ? '' : `, ${amount}`}`, 600), blocks };
}
