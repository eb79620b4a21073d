/**
 * Deals that close: the messages in a deal's thread (the alert's, else the deals channel) when it
 * is won or lost, synced, accepted or paid, and the money formatting the card, Home tab and digest
 * share. Pure: every value a lead or a person typed goes
 * through `plain`.
 */
import type { types } from '@slack/bolt';
import { actions, button, context, header, plain, section, truncate, userMention } from './mrkdwn.ts';
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
 * The message for a won or lost deal, in its thread.
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

/** An admin's Retry on a failed MOCO sync; the value is the sync request's id. */
export const MOCO_RETRY_ACTION = 'moco.retry';
/** A manager's "Create invoice" on a deal MOCO has an offer for; the value is Leadline's deal id. */
export const MOCO_INVOICE_ACTION = 'moco.invoice';

/** Buttons and modals that close a deal from the lead card and a claimed alert. */
export const DEAL_ACTIONS = { markWon: 'deal.mark_won', markLost: 'deal.mark_lost' } as const;
export const WON_MODAL = {
  callbackId: 'deal.won.submit',
  amount: { blockId: 'amount', actionId: 'amount' },
  currency: { blockId: 'currency', actionId: 'currency' },
  closedOn: { blockId: 'closed_on', actionId: 'closed_on' },
  products: { blockId: 'products', actionId: 'products' },
} as const;
export const LOST_MODAL = {
  callbackId: 'deal.lost.submit',
  reason: { blockId: 'reason', actionId: 'reason', maxLength: 500 },
} as const;

/**
 * "Mark won": amount, currency (the ruleset's preselected), close date and the offer's line items
 * from the ruleset's products (one of each chosen; Slack's multi-select holds 100).
 *
 * @example
 * renderWonModal({ leadId: 42, leadName: 'Ada', currency: 'EUR', today: '2026-11-20', products: [...], metadata: '{…}' })
 */
export function renderWonModal(input: {
  leadName: string;
  currency: string;
  today: string;
  products: readonly { id: string; name: string; unit: string; unitPrice: number }[];
  metadata: string;
}): types.ModalView {
  const blocks: types.KnownBlock[] = [
    section(`Mark the deal of *${plain(input.leadName, 200)}* won. The team sees it in the deal's thread.`),
    {
      type: 'input',
      block_id: WON_MODAL.amount.blockId,
      label: { type: 'plain_text', text: 'Amount' },
      element: {
        type: 'number_input',
        action_id: WON_MODAL.amount.actionId,
        is_decimal_allowed: true,
        min_value: '0.01',
        placeholder: { type: 'plain_text', text: 'e.g. 12000' },
      },
    },
    {
      type: 'input',
      block_id: WON_MODAL.currency.blockId,
      label: { type: 'plain_text', text: 'Currency' },
      element: {
        type: 'plain_text_input',
        action_id: WON_MODAL.currency.actionId,
        initial_value: input.currency,
        max_length: 3,
        min_length: 3,
      },
    },
    {
      type: 'input',
      block_id: WON_MODAL.closedOn.blockId,
      label: { type: 'plain_text', text: 'Close date' },
      element: { type: 'datepicker', action_id: WON_MODAL.closedOn.actionId, initial_date: input.today },
    },
  ];
  if (input.products.length > 0) {
    blocks.push({
      type: 'input',
      block_id: WON_MODAL.products.blockId,
      optional: true,
      label: { type: 'plain_text', text: 'Offer items' },
      element: {
        type: 'multi_static_select',
        action_id: WON_MODAL.products.actionId,
        placeholder: { type: 'plain_text', text: 'Products for the offer' },
        options: input.products.slice(0, 100).map((p) => ({
          text: { type: 'plain_text', text: truncate(`${p.name} · ${p.unitPrice} per ${p.unit}`, 75) },
          value: p.id,
        })),
      },
    });
  }
  return closeModal(WON_MODAL.callbackId, 'Mark won', input.metadata, blocks);
}

/** The shell both close modals share: title and submit say what it does. */
function closeModal(callbackId: string, title: string, metadata: string, blocks: types.KnownBlock[]): types.ModalView {
  return {
    type: 'modal',
    callback_id: callbackId,
    private_metadata: metadata,
    title: { type: 'plain_text', text: title },
    submit: { type: 'plain_text', text: title },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

/**
 * "Mark lost": why the deal was lost.
 *
 * @example
 * renderLostModal({ leadName: 'Ada', metadata: '{"leadId":42}' })
 */
export function renderLostModal(input: { leadName: string; metadata: string }): types.ModalView {
  return closeModal(LOST_MODAL.callbackId, 'Mark lost', input.metadata, [
    section(`Why was the deal of *${plain(input.leadName, 200)}* lost?`),
    {
      type: 'input',
      block_id: LOST_MODAL.reason.blockId,
      label: { type: 'plain_text', text: 'Reason' },
      element: {
        type: 'plain_text_input',
        action_id: LOST_MODAL.reason.actionId,
        multiline: true,
        max_length: LOST_MODAL.reason.maxLength,
        placeholder: { type: 'plain_text', text: 'e.g. went with a competitor, no budget' },
      },
    },
  ]);
}

/**
 * What a MOCO sync did, for the deal's thread: the records it created, each linked to MOCO when
 * the account's address is known, or MOCO's reason for refusing.
 *
 * @example
 * renderMocoSync({ lead, entity: 'deal', outcome: { status: 'synced', companyId: 4, personId: 9, dealId: 31, offerId: 77, invoiceId: null }, webUrl })
 * // { text: 'Won — customer, deal and offer created in MOCO: Ada Lovelace', … }
 */
export function renderMocoSync(input: {
  requestId: number;
  /** Leadline's deal, for the Create invoice button under an offer. */
  dealId: number | null;
  lead: LeadSummary;
  entity: 'deal' | 'contact' | 'invoice';
  outcome:
    | { status: 'synced'; companyId: number; personId: number; dealId: number | null; offerId: number | null; invoiceId: number | null }
    | { status: 'failed'; error: string };
  webUrl: string | null;
}): SlackMessage {
  const name = plain(leadDisplayName(input.lead), 200);
  const o = input.outcome;
  if (o.status === 'failed') {
    const text = `MOCO sync failed for ${name}: ${plain(o.error, 500)}`;
    const retry = button({ text: 'Retry', actionId: MOCO_RETRY_ACTION, value: String(input.requestId) });
    return {
      text: truncate(text, 600),
      blocks: [
        section(`⚠️ ${text}`),
        actions('moco-sync', [retry]),
        context(['Fix what it names, then Retry (admins).']),
      ],
    };
  }
  const link = (path: string, label: string) =>
    input.webUrl === null ? label : `<${input.webUrl}/${path}|${label}>`;
  const parts = [link(`companies/${o.companyId}`, 'customer'), link(`contacts/people/${o.personId}`, 'contact')];
  if (o.dealId !== null) parts.push(link(`deals/${o.dealId}`, 'deal'));
  if (o.offerId !== null) parts.push(link(`offers/${o.offerId}`, 'offer'));
  if (o.invoiceId !== null) parts.push(link(`invoices/${o.invoiceId}`, 'invoice'));
  const made = input.entity === 'deal' ? 'Won — ' : '';
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts[0]!;
  const plainList = list.replace(/<[^|>]+\|([^>]+)>/g, '$1');
  const blocks: types.KnownBlock[] = [section(`✅ ${made}${list} created in MOCO for *${name}*.`)];
  if (o.offerId !== null && o.invoiceId === null && input.dealId !== null) {
    blocks.push(actions('moco-invoice', [button({ text: 'Create invoice', actionId: MOCO_INVOICE_ACTION, value: String(input.dealId) })]));
  }
  return { text: truncate(`${made}${plainList} created in MOCO: ${name}`, 600), blocks };
}

/**
 * The deal thread's note that a customer accepted the offer in MOCO.
 *
 * @example
 * renderOfferAccepted({ lead, value: 12000, currency: 'EUR' }).text // '🤝 Ada Lovelace accepted the offer in MOCO (12,000 EUR).'
 */
export function renderOfferAccepted(input: { lead: LeadSummary; value: number | null; currency: string }): SlackMessage {
  const amount = input.value === null ? '' : ` (${money(input.value, input.currency)})`;
  const text = `🤝 ${plain(leadDisplayName(input.lead), 200)} accepted the offer in MOCO${amount}.`;
  return { text, blocks: [section(text)] };
}

/**
 * The deal thread's note that MOCO recorded a payment on the deal's invoice: the total paid so far
 * against the deal's value (net, so a paid gross invoice shows more than the value).
 *
 * @example
 * renderDealPaid({ lead, paid: 5000, value: 12000, currency: 'EUR', paidOn: '2026-12-01' }).text
 * // '💶 Payment recorded in MOCO for Ada Lovelace: 5,000 EUR paid of 12,000 EUR (2026-12-01).'
 */
export function renderDealPaid(input: {
  lead: LeadSummary;
  paid: number;
  value: number | null;
  currency: string;
  paidOn: string | null;
}): SlackMessage {
  const who = plain(leadDisplayName(input.lead), 200);
  const of = input.value === null ? '' : ` of ${money(input.value, input.currency)}`;
  const when = input.paidOn === null ? '' : ` (${plain(input.paidOn, 10)})`;
  const text =
    input.paid > 0
      ? `💶 Payment recorded in MOCO for ${who}: ${money(input.paid, input.currency)} paid${of}${when}.`
      : `💶 MOCO no longer records a payment for ${who}'s invoice.`;
  return { text, blocks: [section(text)] };
}
