import type { PipelineConfig, StageConfig, TeamMember } from './routing-schema.ts';
import { canManage } from './team.ts';

/**
 * What a deal is worth and who may close it: the stages a pipeline closes deals in, the win
 * probability per stage, the weighted value, and the permission to mark a deal won, lost or open
 * again. Pure: the callers load deals and members.
 */

export type DealStatus = 'open' | 'won' | 'lost';
export type DealOutcome = 'won' | 'lost';

/**
 * The stage a pipeline closes deals in for `outcome` (`won: true` / `lost: true`), or null when
 * the pipeline has none: the deal then closes where it stands.
 *
 * @example
 * closingStage(b2b, 'won') // { id: 'won', name: 'Won', won: true }
 */
export function closingStage(pipeline: Pick<PipelineConfig, 'stages'>, outcome: DealOutcome): StageConfig | null {
  return pipeline.stages.find((stage) => stage[outcome] === true) ?? null;
}

/**
 * Whether entering `stageId` closes the deal, and how.
 *
 * @example
 * stageOutcome(b2b, 'lost') // 'lost'
 */
export function stageOutcome(pipeline: Pick<PipelineConfig, 'stages'>, stageId: string): DealOutcome | null {
  const stage = pipeline.stages.find((s) => s.id === stageId);
  if (stage?.won === true) return 'won';
  if (stage?.lost === true) return 'lost';
  return null;
}

/**
 * The chance (0–100) that a deal in `stageId` is won: the stage's `probability`, else 100 for a won
 * stage, 0 for a lost one, and for open stages an even climb by position (of four open stages the
 * first is 20, the last 80), so a ruleset without probabilities still weighs later stages more.
 *
 * @example
 * stageProbability({ stages: [{ id: 'new' }, { id: 'proposal', probability: 60 }] }, 'proposal') // 60
 */
export function stageProbability(pipeline: Pick<PipelineConfig, 'stages'>, stageId: string): number {
  const stage = pipeline.stages.find((s) => s.id === stageId);
  if (stage === undefined) return 0;
  if (stage.probability !== undefined) return stage.probability;
  if (stage.won === true) return 100;
  if (stage.lost === true) return 0;
  const open = pipeline.stages.filter((s) => s.won !== true && s.lost !== true);
  return Math.round((100 * (open.indexOf(stage) + 1)) / (open.length + 1));
}

/**
 * An open deal's value weighted by its stage's probability; a won deal counts whole, a lost one
 * and a deal without a value count nothing.
 *
 * @example
 * weightedValue({ status: 'open', value: 10_000, stageId: 'proposal' }, b2b) // 6000
 */
export function weightedValue(
  deal: { status: DealStatus; value: number | null; stageId: string },
  pipeline: Pick<PipelineConfig, 'stages'> | undefined,
): number {
  if (deal.value === null || deal.status === 'lost') return 0;
  if (deal.status === 'won') return deal.value;
  if (pipeline === undefined) return 0;
  return (deal.value * stageProbability(pipeline, deal.stageId)) / 100;
}

export type ClosePermission = { ok: true } | { ok: false; why: string };

/**
 * Who may close a deal: its owner (a rep closes their own deals), and managers and admins any.
 *
 * @example
 * mayClose(anna, { status: 'open', ownerMemberId: 'ben' }) // { ok: false, why: 'Reps close their own deals; …' }
 */
export function mayClose(
  member: TeamMember | null,
  deal: { status: DealStatus; ownerMemberId: string | null },
): ClosePermission {
  if (member === null || !member.active) return { ok: false, why: 'Only members of the sales team can close deals.' };
  if (deal.status !== 'open') return { ok: false, why: `This deal is already ${deal.status}.` };
  if (canManage(member) || deal.ownerMemberId === member.id) return { ok: true };
  return { ok: false, why: 'Reps close their own deals; a manager or admin can close this one.' };
}

/**
 * Who may reopen a closed deal: managers and admins.
 *
 * @example
 * mayReopen(lena, { status: 'won' }) // { ok: true }
 */
export function mayReopen(member: TeamMember | null, deal: { status: DealStatus }): ClosePermission {
  if (!canManage(member)) return { ok: false, why: 'Only managers and admins can reopen a deal.' };
  if (deal.status === 'open') return { ok: false, why: 'This deal is open already.' };
  return { ok: true };
}

/** What a deal-closing event asks for: the outcome and what the sender knows about it. */
export interface DealCloseSignal {
  outcome: DealOutcome;
  value: number | null;
  currency: string | null;
  reason: string | null;
  /** The sender's id of the deal (MOCO), to find our deal by before falling back to the lead's open one. */
  mocoDealId: string | null;
  /** Who closed it, as the close records it. */
  closedBy: string;
  /** MOCO reported it: the close is not synced back to MOCO. */
  fromMoco: boolean;
}

const HUBSPOT_STAGES: Readonly<Record<string, DealOutcome>> = { closedwon: 'won', closedlost: 'lost' };

/**
 * Whether an event closes a deal: a native `deal.won` / `deal.lost`, HubSpot's deal workflow
 * (`crm.deal_won` / `crm.deal_lost`, from `dealstage` closedwon / closedlost) and a MOCO deal
 * update to won or lost. Null for every other event.
 *
 * @example
 * dealCloseOf({ type: 'moco.deal_updated', source: 'moco', metadata: { deal_status: 'won', money: 12000, entity_id: '55' } })
 * // { outcome: 'won', value: 12000, currency: null, reason: null, mocoDealId: '55', closedBy: 'moco', fromMoco: true }
 */
export function dealCloseOf(event: {
  type: string;
  source: string;
  metadata: Readonly<Record<string, unknown>>;
}): DealCloseSignal | null {
  const m = event.metadata;
  const base = { reason: null, mocoDealId: null, closedBy: event.source, fromMoco: false };
  if (event.type === 'deal.won' || event.type === 'deal.lost') {
    const outcome = event.type === 'deal.won' ? 'won' : 'lost';
    return { ...base, outcome, value: numberOf(m['amount']), currency: textOf(m['currency']), reason: textOf(m['reason']) };
  }
  if (event.type === 'crm.deal_won' || event.type === 'crm.deal_lost') {
    return {
      ...base,
      outcome: event.type === 'crm.deal_won' ? 'won' : 'lost',
      value: numberOf(m['amount']),
      currency: textOf(m['deal_currency_code']),
      reason: textOf(m['closed_lost_reason']),
    };
  }
  const status = m['deal_status'];
  if (event.type === 'moco.deal_updated' && (status === 'won' || status === 'lost')) {
    return {
      ...base,
      outcome: status,
      value: numberOf(m['money']),
      currency: textOf(m['currency']),
      mocoDealId: mocoIdOf(m['entity_id']),
      fromMoco: true,
    };
  }
  return null;
}

/**
 * The event type of a HubSpot deal workflow's webhook: a `dealstage` of closedwon / closedlost
 * closes the deal; anything else is the contact workflow's form submission.
 *
 * @example
 * hubspotWorkflowType('closedwon') // 'crm.deal_won'
 */
export function hubspotWorkflowType(dealstage: unknown): string {
  const outcome = typeof dealstage === 'string' ? HUBSPOT_STAGES[dealstage.trim().toLowerCase()] : undefined;
  return outcome === undefined ? 'form.submitted' : `crm.deal_${outcome}`;
}

/**
 * MOCO's offer update to `accepted`: the offer's id and its deal's, or null for any other event.
 *
 * @example
 * offerAcceptedOf({ type: 'moco.offer_updated', metadata: { status: 'accepted', entity_id: '77', deal_id: '55' } })
 * // { mocoOfferId: '77', mocoDealId: '55' }
 */
export function offerAcceptedOf(event: {
  type: string;
  metadata: Readonly<Record<string, unknown>>;
}): { mocoOfferId: string | null; mocoDealId: string | null } | null {
  if (event.type !== 'moco.offer_updated' || event.metadata['status'] !== 'accepted') return null;
  return { mocoOfferId: mocoIdOf(event.metadata['entity_id']), mocoDealId: mocoIdOf(event.metadata['deal_id']) };
}

/** A payment MOCO reported for one of its invoices. */
export interface MocoPaymentSignal {
  paymentId: string;
  invoiceId: string;
  amount: number;
  currency: string | null;
  /** `YYYY-MM-DD`, as MOCO dates it. */
  paidOn: string | null;
  deleted: boolean;
}

/**
 * The MOCO payment an event reports, or null. Payments name no person, so processing applies them
 * to the deal holding the invoice instead of identifying a lead.
 *
 * @example
 * paymentOf({ type: 'moco.invoice_payment_created', metadata: { entity_id: '9', invoice_id: '31', paid_total: 5000, currency: 'EUR' } })
 * // { paymentId: '9', invoiceId: '31', amount: 5000, currency: 'EUR', paidOn: null, deleted: false }
 */
export function paymentOf(event: { type: string; metadata: Readonly<Record<string, unknown>> }): MocoPaymentSignal | null {
  if (!event.type.startsWith('moco.invoice_payment_')) return null;
  const m = event.metadata;
  const paymentId = mocoIdOf(m['entity_id']);
  const invoiceId = mocoIdOf(m['invoice_id']);
  const amount = numberOf(m['paid_total']);
  if (paymentId === null || invoiceId === null || amount === null) return null;
  const paidOn = textOf(m['paid_on']);
  return {
    paymentId,
    invoiceId,
    amount,
    currency: textOf(m['currency']),
    paidOn: paidOn !== null && /^\d{4}-\d{2}-\d{2}$/.test(paidOn) ? paidOn : null,
    deleted: event.type === 'moco.invoice_payment_deleted' || event.type === 'moco.invoice_payment_archived',
  };
}

/** A metadata value as a number (senders send amounts as numbers or numeric strings), else null. */
function numberOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function textOf(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** A MOCO record id as the database stores it (a bigint), else null. */
function mocoIdOf(value: unknown): string | null {
  const text = typeof value === 'number' ? String(value) : value;
  return typeof text === 'string' && /^\d{1,18}$/.test(text) ? text : null;
}
