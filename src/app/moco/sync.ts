import type { MocoClient, MocoItem } from '../../clients/moco.ts';
import { type Pool, run } from '../../db/pool.ts';
import {
  finishMocoSync,
  type MocoSubjectRow,
  selectMocoSubject,
  storeMocoCompany,
  storeMocoDealId,
  storeMocoPerson,
  tryLockMocoSync,
  unlockMocoSync,
} from '../../db/sql/moco-sync.ts';
import { dayKey } from '../../engine/calendar.ts';
import { stageProbability } from '../../engine/deals.ts';
import type { Ruleset } from '../../engine/ruleset.ts';
import { memberById } from '../../engine/team.ts';
import { isLeadlineError, LeadlineError } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import { displayName } from '../queries/lead-card.ts';
import { assertMocoReachable, recordMocoReachable, recordMocoUnreachable } from './breaker.ts';
import { settleInvoicePayments } from './payments.ts';
import { announceSync, type MocoSyncOutcome } from './sync-notices.ts';

export type { MocoSyncOutcome } from './sync-notices.ts';

/** The MOCO client and the account's web address (for links in Slack). */
export interface MocoConnection {
  client: MocoClient;
  /** `https://acme.mocoapp.com`: the API's base URL without `/api/v1`. */
  webUrl: string;
}

type Step = MocoSubjectRow & { companyId?: number; personId?: number };

/**
 * Sends one sync request to MOCO: finds or creates the customer company, the contact person and —
 * for a won deal — the MOCO deal and, per `moco.on_won`, its offer or invoice. Every id MOCO returns
 * is stored before the next call, and every record is looked up (by stored id, then by name or
 * email) before it is created, so a retried, repeated or concurrent sync never creates a second
 * one; one sync per lead runs at a time across processes (an advisory lock). What MOCO refuses
 * (422), a key it rejects (401/403) or a missing setting fails the request with a message naming
 * it, announced in Slack; outages and rate limits throw, so the queue retries.
 *
 * @example
 * await syncToMoco(ctx, moco, 12) // { status: 'synced', companyId: 4, personId: 9, dealId: 31, offerId: 77, invoiceId: null }
 */
export async function syncToMoco(ctx: AppContext, connection: MocoConnection | null, requestId: number): Promise<MocoSyncOutcome> {
  const [subject] = await run(ctx.pool, selectMocoSubject(requestId));
  if (subject === undefined) return { status: 'gone' };
  if (subject.state === 'synced') return { status: 'already_synced' };
  const lock = await ctx.pool.connect();
  try {
    const [held] = await run(lock, tryLockMocoSync(subject.lead_id));
    if (held?.locked !== true) throw new LeadlineError('upstream_failed', `a sync for lead ${subject.lead_id} is running`);
    try {
      return await syncLocked(ctx, connection, subject);
    } finally {
      await run(lock, unlockMocoSync(subject.lead_id));
    }
  } finally {
    lock.release();
  }
}

async function syncLocked(ctx: AppContext, connection: MocoConnection | null, subject: MocoSubjectRow): Promise<MocoSyncOutcome> {
  const moco = connection?.client ?? null;
  const webUrl = connection?.webUrl ?? null;
  // Read again under the lock: a sync that held it may have stored ids meanwhile.
  const [fresh] = await run(ctx.pool, selectMocoSubject(subject.request_id));
  if (fresh === undefined) return { status: 'gone' };
  if (fresh.state === 'synced') return { status: 'already_synced' };
  const account = webUrl === null ? 'moco' : new URL(webUrl).host;
  try {
    const settings = required(ctx.ruleset, moco);
    await assertMocoReachable(ctx, account);
    const step: Step = { ...fresh };
    step.companyId = await ensureCompany(ctx.pool, settings.moco, ctx.ruleset, step);
    step.personId = await ensurePerson(ctx.pool, settings.moco, step);
    const deal = fresh.entity === 'contact' ? null : await ensureDeal(ctx, settings.moco, step);
    const kind = fresh.entity === 'invoice' ? 'invoice' : (ctx.ruleset.moco?.on_won ?? 'none');
    const document = deal === null ? null : await ensureDocument(ctx, settings.moco, step, deal, kind);
    await run(ctx.pool, finishMocoSync(fresh.request_id, 'synced', null, ctx.now()));
    await recordMocoReachable(ctx, account);
    const outcome = {
      status: 'synced' as const,
      companyId: step.companyId,
      personId: step.personId,
      dealId: deal,
      offerId: document?.kind === 'offer' ? document.id : null,
      invoiceId: document?.kind === 'invoice' ? document.id : null,
    };
    await announceSync(ctx, fresh, outcome, webUrl);
    return outcome;
  } catch (err) {
    if (!isLeadlineError(err) || !['moco_rejected', 'moco_unauthorized', 'config_invalid', 'invalid_state'].includes(err.code)) {
      await run(ctx.pool, finishMocoSync(fresh.request_id, 'pending', errorText(err), ctx.now()));
      // A refusal by the breaker itself (moco_paused) is not another failure to count.
      if (isLeadlineError(err, 'upstream_failed')) {
        await recordMocoUnreachable(ctx, account, err.message);
      }
      throw err;
    }
    await run(ctx.pool, finishMocoSync(fresh.request_id, 'failed', err.message, ctx.now()));
    if (err.code === 'moco_unauthorized') await recordMocoUnreachable(ctx, account, err.message, { keyRejected: true });
    const failed = { status: 'failed' as const, error: err.message };
    await announceSync(ctx, fresh, failed, webUrl);
    return failed;
  }
}

function required(ruleset: Ruleset, moco: MocoClient | null): { moco: MocoClient } {
  if (moco === null) {
    throw new LeadlineError('config_invalid', 'MOCO is not configured: set MOCO_API_KEY and MOCO_SUBDOMAIN (or MOCO_API_URL)');
  }
  if (ruleset.moco === undefined) throw new LeadlineError('config_invalid', 'the ruleset has no moco section');
  return { moco };
}

async function ensureCompany(pool: Pool, moco: MocoClient, ruleset: Ruleset, step: Step): Promise<number> {
  const stored = step.org_moco_company_id ?? step.lead_moco_company_id;
  if (stored !== null) return stored;
  const name = (step.company ?? step.organization_name ?? step.organization_domain ?? displayName({ ...step, id: step.lead_id })).trim();
  const found = (await moco.findCompanies({ term: name })).find((c) => c.name.trim().toLowerCase() === name.toLowerCase());
  const company = found ?? (await moco.createCompany({ name, type: 'customer', currency: step.currency ?? ruleset.deals.currency }));
  await run(pool, storeMocoCompany({ organizationId: step.organization_id, leadId: step.lead_id }, company.id));
  return company.id;
}

async function ensurePerson(pool: Pool, moco: MocoClient, step: Step): Promise<number> {
  if (step.lead_moco_person_id !== null) return step.lead_moco_person_id;
  const email = step.email;
  const found =
    email === null ? undefined : (await moco.findPeople({ term: email })).find((p) => p.work_email?.toLowerCase() === email);
  // MOCO requires a last name: a lead known only by email is named after its local part.
  const lastname = step.last_name ?? step.full_name?.split(' ').at(-1) ?? email?.split('@')[0] ?? `Lead ${step.lead_id}`;
  const person =
    found ??
    (await moco.createPerson({
      lastname,
      gender: 'U',
      ...(step.first_name ? { firstname: step.first_name } : {}),
      ...(email ? { work_email: email } : {}),
      ...(step.title ? { job_position: step.title } : {}),
      ...(step.companyId === undefined ? {} : { company_id: step.companyId }),
    }));
  await run(pool, storeMocoPerson(step.lead_id, person.id));
  return person.id;
}

async function ensureDeal(ctx: AppContext, moco: MocoClient, step: Step): Promise<number> {
  if (step.deal_id === null || step.deal_status !== 'won') {
    throw new LeadlineError('invalid_state', `deal ${step.deal_id ?? '?'} is not won; only won deals go to MOCO`);
  }
  if (step.moco_deal_id !== null) return step.moco_deal_id;
  const name = mocoDealName(ctx.ruleset, step);
  const existing = (await moco.findDeals({ term: name })).find((d) => d.name === name);
  if (existing !== undefined) {
    await run(ctx.pool, storeMocoDealId(step.deal_id, 'moco_deal_id', existing.id));
    return existing.id;
  }
  const pipeline = ctx.ruleset.pipelines.find((p) => p.id === step.pipeline_id);
  const stageName = pipeline?.stages.find((s) => s.id === step.stage_id)?.name ?? step.stage_id ?? 'Won';
  const categories = await moco.listDealCategories();
  const category =
    categories.find((c) => c.name.toLowerCase() === stageName.toLowerCase()) ??
    (await moco.createDealCategory({ name: stageName, probability: pipeline ? stageProbability(pipeline, step.stage_id ?? '') : 100 }));
  const closedOn = dayKey(step.closed_at ?? ctx.now(), ctx.ruleset.timezone);
  const deal = await moco.createDeal({
    name,
    currency: step.currency ?? ctx.ruleset.deals.currency,
    money: step.value ?? 0,
    reminder_date: closedOn,
    user_id: await mocoUserId(ctx, moco, step),
    deal_category_id: category.id,
    status: 'won',
    closed_on: closedOn,
    ...(step.companyId === undefined ? {} : { company_id: step.companyId }),
    ...(step.personId === undefined ? {} : { person_id: step.personId }),
  });
  await run(ctx.pool, storeMocoDealId(step.deal_id, 'moco_deal_id', deal.id));
  return deal.id;
}

async function mocoUserId(ctx: AppContext, moco: MocoClient, step: Step): Promise<number> {
  const email = memberById(ctx.ruleset, step.owner_member_id)?.email?.toLowerCase();
  const user = email === undefined ? undefined : (await moco.listUsers()).find((u) => u.email?.toLowerCase() === email);
  const fallback = ctx.ruleset.moco?.default_user_id;
  if (user !== undefined) return user.id;
  if (fallback !== undefined) return fallback;
  throw new LeadlineError(
    'config_invalid',
    `no MOCO user for the deal's owner: give ${step.owner_member_id ?? 'the owner'} an email MOCO knows in team.members, or set moco.default_user_id`,
  );
}

async function ensureDocument(
  ctx: AppContext,
  moco: MocoClient,
  step: Step,
  mocoDealId: number,
  kind: 'offer' | 'invoice' | 'none',
): Promise<{ kind: 'offer' | 'invoice'; id: number } | null> {
  const settings = ctx.ruleset.moco!;
  if (kind === 'none' || step.deal_id === null) return null;
  if (kind === 'offer' && step.moco_offer_id !== null) return { kind: 'offer', id: step.moco_offer_id };
  if (kind === 'invoice' && step.moco_invoice_id !== null) return { kind: 'invoice', id: step.moco_invoice_id };
  const date = dayKey(step.closed_at ?? ctx.now(), ctx.ruleset.timezone);
  const due = dayKey(new Date((step.closed_at ?? ctx.now()).getTime() + settings.due_days * 86_400_000), ctx.ruleset.timezone);
  const title = mocoDealName(ctx.ruleset, step);
  const address = [step.company ?? step.organization_name, displayName({ ...step, id: step.lead_id })].filter(Boolean).join('\n');
  const currency = step.currency ?? ctx.ruleset.deals.currency;
  const common = { recipient_address: address, date, due_date: due, title, tax: settings.tax, currency, items: items(step, title) };
  // The title ends with the Leadline deal's number: how a sync that died after MOCO answered finds
  // its record, even if the company was renamed meanwhile.
  if (kind === 'offer') {
    const existing = (await moco.findOffers({ dealId: mocoDealId })).find((o) => o.title.endsWith(marker(step.deal_id)));
    const offer =
      existing ??
      (await moco.createOffer({ ...common, deal_id: mocoDealId, ...(step.companyId ? { company_id: step.companyId } : {}) }));
    await run(ctx.pool, storeMocoDealId(step.deal_id, 'moco_offer_id', offer.id));
    return { kind: 'offer', id: offer.id };
  }
  const customer = step.companyId!;
  const fromOffer = step.moco_offer_id === null ? {} : { offer_id: step.moco_offer_id };
  const existing = (await moco.findInvoices({ companyId: customer })).find((i) => i.title.endsWith(marker(step.deal_id)));
  const invoice = existing ?? (await moco.createInvoice({ ...common, customer_id: customer, deal_id: mocoDealId, ...fromOffer }));
  await run(ctx.pool, storeMocoDealId(step.deal_id, 'moco_invoice_id', invoice.id));
  // A payment MOCO reported before this id was stored has waited for it.
  await settleInvoicePayments(ctx.pool, ctx, [String(invoice.id)], ctx.now());
  return { kind: 'invoice', id: invoice.id };
}

function items(step: Step, title: string): MocoItem[] {
  const lines = step.line_items ?? [];
  if (lines.length === 0) return [{ type: 'item', title, quantity: 1, unit: 'pcs', unit_price: step.value ?? 0 }];
  return lines.map((l) => ({ type: 'item', title: l.title, quantity: l.quantity, unit: l.unit, unit_price: l.unit_price }));
}

/** The MOCO deal's name, unique per Leadline deal: how a retried sync finds the deal it created. */
function mocoDealName(ruleset: Ruleset, step: Pick<MocoSubjectRow, 'company' | 'organization_name' | 'pipeline_id' | 'deal_id'>): string {
  const who = step.company ?? step.organization_name ?? 'Lead';
  const pipeline = ruleset.pipelines.find((p) => p.id === step.pipeline_id)?.name ?? step.pipeline_id ?? 'Deal';
  return `${who} – ${pipeline} ${marker(step.deal_id)}`;
}

function marker(dealId: number | null): string {
  return `(Leadline #${dealId})`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 500) : String(err).slice(0, 500);
}
