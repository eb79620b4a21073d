/**
 * A MOCO API client for the sync: find or create companies, people and deals, move deals to won or
 * lost, write offers and invoices. Unlike the Slack and OpenAI clients it retries what a later try
 * can fix (429 after `Retry-After`, 5xx, timeouts; see moco-http.ts for the table) and throws a
 * `LeadlineError` for everything else, because a sync is a sequence of calls that each need the one
 * before. What the caller does with each code:
 *
 * - `moco_unauthorized`: stop syncing and tell the admins; no request will pass until the key changes.
 * - `moco_rejected`: this record cannot go to MOCO as it is; the message is MOCO's, show it.
 * - `not_found`: the record was deleted in MOCO meanwhile.
 * - `upstream_rate_limited`, `upstream_failed`: try again later (the job queue backs off).
 *
 * Every request first takes a slot from the injected limiter, which shares MOCO's per-account budget
 * among all Leadline processes; the client itself knows nothing of where the budget is kept.
 * Answers are checked with zod but keep the fields MOCO adds without documenting them.
 */
import { z } from 'zod';
import { createMocoTransport, type MocoLimiter } from './moco-http.ts';

export type { MocoLimiter } from './moco-http.ts';

const id = z.number().int();
const text = z.string().nullish();
const ref = z.looseObject({ id, name: text });

const sessionSchema = z.looseObject({ id, uuid: z.string() });
const companySchema = z.looseObject({
  id,
  name: z.string(),
  type: z.string(),
  identifier: text,
  email: text,
  currency: text,
});
const personSchema = z.looseObject({
  id,
  firstname: text,
  lastname: z.string(),
  gender: text,
  work_email: text,
  job_position: text,
  company: ref.nullish(),
});
const userSchema = z.looseObject({ id, firstname: text, lastname: text, email: text, active: z.boolean().nullish() });
const dealCategorySchema = z.looseObject({ id, name: z.string(), probability: z.number() });
const dealSchema = z.looseObject({
  id,
  name: z.string(),
  status: z.string(),
  money: z.number().nullish(),
  currency: text,
  reminder_date: text,
  closed_on: text,
  user: z.looseObject({ id }).nullish(),
  company: ref.nullish(),
  person: ref.nullish(),
  category: ref.nullish(),
});
const documentSchema = z.looseObject({
  id,
  identifier: text,
  title: z.string(),
  status: text,
  date: text,
  currency: text,
  net_total: z.number().nullish(),
  gross_total: z.number().nullish(),
  deal: ref.nullish(),
  company: ref.nullish(),
  customer_id: id.nullish(),
});

export type MocoSession = z.infer<typeof sessionSchema>;
export type MocoCompany = z.infer<typeof companySchema>;
export type MocoPerson = z.infer<typeof personSchema>;
export type MocoUser = z.infer<typeof userSchema>;
export type MocoDealCategory = z.infer<typeof dealCategorySchema>;
export type MocoDeal = z.infer<typeof dealSchema>;
/** Offers and invoices: the fields the sync reads back. */
export type MocoOffer = z.infer<typeof documentSchema>;
export type MocoInvoice = z.infer<typeof documentSchema>;

export type MocoDealStatus = 'potential' | 'pending' | 'won' | 'lost' | 'dropped';
/** Dates as MOCO takes them: `YYYY-MM-DD`. */
export type MocoDate = string;

export interface NewMocoCompany {
  name: string;
  type: 'customer';
  /** Mandatory for customers. */
  currency: string;
  country_code?: string;
  email?: string;
  address?: string;
  /** Mandatory only when the account numbers customers by hand. */
  identifier?: string;
}

export interface NewMocoPerson {
  lastname: string;
  firstname?: string;
  gender: 'F' | 'M' | 'U';
  work_email?: string;
  job_position?: string;
  company_id?: number;
}

export interface NewMocoDeal {
  name: string;
  currency: string;
  money: number;
  reminder_date: MocoDate;
  user_id: number;
  deal_category_id: number;
  company_id?: number;
  person_id?: number;
  status?: MocoDealStatus;
  closed_on?: MocoDate;
  info?: string;
}

export type MocoItem =
  | { type: 'item'; title: string; quantity: number; unit: string; unit_price: number }
  | { type: 'title'; title: string }
  | { type: 'description'; description: string };

export interface NewMocoOffer {
  deal_id: number;
  company_id?: number;
  recipient_address: string;
  date: MocoDate;
  due_date: MocoDate;
  title: string;
  tax: number;
  /** Only needed when neither the deal nor the company sets it. */
  currency?: string;
  items: MocoItem[];
}

export interface NewMocoInvoice {
  customer_id: number;
  recipient_address: string;
  date: MocoDate;
  due_date: MocoDate;
  title: string;
  tax: number;
  currency: string;
  items: MocoItem[];
  deal_id?: number;
  offer_id?: number;
}

export interface MocoClient {
  /** Checks the key (`GET /session`): resolves with the key's user, throws `moco_unauthorized`. */
  session(): Promise<MocoSession>;
  /** Customers whose name or email contains `term`, or whose customer number is `identifier`. */
  findCompanies(query: { term?: string; identifier?: string }): Promise<MocoCompany[]>;
  createCompany(input: NewMocoCompany): Promise<MocoCompany>;
  /** People whose name, work email or company contains `term`. */
  findPeople(query: { term: string }): Promise<MocoPerson[]>;
  createPerson(input: NewMocoPerson): Promise<MocoPerson>;
  listUsers(): Promise<MocoUser[]>;
  /** MOCO's pipeline stages. */
  listDealCategories(): Promise<MocoDealCategory[]>;
  createDealCategory(input: { name: string; probability: number }): Promise<MocoDealCategory>;
  /**
   * Deals whose name contains `term` (case-insensitive). MOCO does not document `term` for deals,
   * so the answer is filtered here as well: an account that ignores it lists every deal, which costs
   * requests but never returns a wrong one.
   */
  findDeals(query?: { term?: string }): Promise<MocoDeal[]>;
  createDeal(input: NewMocoDeal): Promise<MocoDeal>;
  /** `PUT /deals/{id}`: sending the same change twice is harmless, so it is retried like a GET. */
  updateDeal(dealId: number, change: { status: MocoDealStatus; closed_on?: MocoDate }): Promise<MocoDeal>;
  /** The deal's offers (`GET /offers?deal_id=`; checked here too, like `findDeals`). */
  findOffers(query: { dealId: number }): Promise<MocoOffer[]>;
  createOffer(input: NewMocoOffer): Promise<MocoOffer>;
  /** The customer's invoices (`GET /invoices?company_id=`; checked here too). */
  findInvoices(query: { companyId: number }): Promise<MocoInvoice[]>;
  createInvoice(input: NewMocoInvoice): Promise<MocoInvoice>;
}

export interface MocoClientOptions {
  /** `MocoConfig.baseUrl`: `https://{subdomain}.mocoapp.com/api/v1`; a local fake in tests. */
  baseUrl: string;
  apiKey: string;
  /** Per attempt; default 15 s. */
  timeoutMs?: number;
  limiter: MocoLimiter;
  /** Tries per request, the first included; default 5. */
  maxAttempts?: number;
  /** Backoff before retry n is `baseDelayMs · 2^(n-1)` (default 1 s), at most `maxDelayMs` (30 s), jittered. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A `Retry-After` beyond this (default 120 s, MOCO's window) throws at once instead of waiting. */
  maxRetryAfterMs?: number;
  /** Pages a list may span (100 each); default 50. */
  maxPages?: number;
  /** Waits between retries; default a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1), for jitter; default `Math.random`. */
  random?: () => number;
  /** Told how each call ended, for the metrics. */
  onAttempt?: (outcome: 'ok' | 'rate_limited' | 'retry' | 'failed') => void;
}

/**
 * Creates the MOCO client.
 *
 * @example
 * const moco = createMocoClient({ baseUrl: config.moco.baseUrl, apiKey: config.moco.apiKey, limiter: createMocoLimiter({ pool, limit: 120 }) });
 * const [company] = await moco.findCompanies({ term: 'Beispiel AG' });
 * const deal = await moco.createDeal({ name: 'Beispiel AG: sequencing', currency: 'EUR', money: 25_000, reminder_date: '2025-12-01', user_id: 933593033, deal_category_id: 12, company_id: company?.id });
 * await moco.updateDeal(deal.id, { status: 'won', closed_on: '2025-12-12' });
 */
export function createMocoClient(options: MocoClientOptions): MocoClient {
  const http = createMocoTransport({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs ?? 15_000,
    limiter: options.limiter,
    maxAttempts: options.maxAttempts ?? 5,
    baseDelayMs: options.baseDelayMs ?? 1_000,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
    maxPages: options.maxPages ?? 50,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: options.random ?? Math.random,
    ...(options.onAttempt === undefined ? {} : { onAttempt: options.onAttempt }),
  });
  return {
    session: () => http.request('GET', '/session', sessionSchema),
    findCompanies: (query) =>
      http.list('/companies', companySchema, { type: 'customer', term: query.term, identifier: query.identifier }),
    createCompany: (input) => http.request('POST', '/companies', companySchema, { body: input }),
    findPeople: (query) => http.list('/contacts/people', personSchema, { term: query.term }),
    createPerson: (input) => http.request('POST', '/contacts/people', personSchema, { body: input }),
    listUsers: () => http.list('/users', userSchema),
    listDealCategories: () => http.list('/deal_categories', dealCategorySchema),
    createDealCategory: (input) => http.request('POST', '/deal_categories', dealCategorySchema, { body: input }),
    findDeals: async (query = {}) => {
      const deals = await http.list('/deals', dealSchema, { term: query.term });
      const term = query.term?.trim().toLowerCase();
      return term === undefined || term === '' ? deals : deals.filter((d) => d.name.toLowerCase().includes(term));
    },
    createDeal: (input) => http.request('POST', '/deals', dealSchema, { body: input }),
    updateDeal: (dealId, change) => http.request('PUT', `/deals/${dealId}`, dealSchema, { body: change }),
    findOffers: async ({ dealId }) =>
      (await http.list('/offers', documentSchema, { deal_id: String(dealId) })).filter((o) => (o.deal?.id ?? dealId) === dealId),
    createOffer: (input) => http.request('POST', '/offers', documentSchema, { body: input }),
    findInvoices: async ({ companyId }) =>
      (await http.list('/invoices', documentSchema, { company_id: String(companyId) })).filter(
        (i) => (i.customer_id ?? i.company?.id ?? companyId) === companyId,
      ),
    createInvoice: (input) => http.request('POST', '/invoices', documentSchema, { body: input }),
  };
}
