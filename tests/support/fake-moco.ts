import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

/** What the fake stores, by MOCO resource. Ids increase across all kinds, so ids of two kinds never collide. */
export type FakeMocoKind = 'companies' | 'people' | 'users' | 'deal_categories' | 'deals' | 'offers' | 'invoices';

/**
 * A scripted answer for the next requests. `hang` never answers (the client times out); `body`
 * replaces a 422's MOCO message; `rawBody` answers 200 with that text.
 */
export type FakeMocoFailure =
  | { status: 500 | 502 | 503 | 504 }
  | { status: 429; retryAfter?: number }
  | { status: 401 | 403 | 404 }
  | { status: 422; body?: Json }
  | { hang: true }
  | { rawBody: string };

export interface FakeMocoRequest {
  method: string;
  /** Below the API base: `/companies`, `/deals/42`. */
  path: string;
  query: Record<string, string>;
  body: Json | null;
  authorization: string | undefined;
  contentType: string | undefined;
  accept: string | undefined;
  /** From the injectable clock. */
  receivedAt: Date;
  /** The HTTP status answered, null for a hung request. */
  status: number | null;
}

export interface FakeMoco {
  /** Point the client here: `http://127.0.0.1:<port>/api/v1`. */
  baseUrl: string;
  apiKey: string;
  /** The next `n` requests (matching `match`, when given) answer this way, in the order scripted. */
  failNext(n: number, failure: FakeMocoFailure, match?: { method?: string; path?: string }): void;
  /** Every request answers this way until `until` on the fake's clock (after the scripted ones). */
  failUntil(until: Date, failure: FakeMocoFailure): void;
  /** Stores a record as if created in MOCO's UI; answers it with its id and MOCO's extra fields. */
  seed(kind: FakeMocoKind, fields: Json): Json;
  /** The records of a kind as the API answers them, in creation order. */
  records(kind: FakeMocoKind): Json[];
  requests(match?: { method?: string; path?: string }): FakeMocoRequest[];
  /** More than `limit` requests in `windowMs` answer 429 with Retry-After; null turns the limit off. */
  setRateLimit(limit: number | null, windowMs?: number): void;
  /** Records per page (default 100); `link: false` leaves out the `Link` header, as some proxies do. */
  setPagination(pagination: { pageSize?: number; link?: boolean }): void;
  setClock(clock: () => Date): void;
  /** Forgets requests, scripted failures, records and the rate window; ids keep counting. */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeMocoOptions {
  apiKey?: string;
  /** MOCO's own 120 per two minutes unless set; null for none. */
  rateLimit?: { limit: number; windowMs: number } | null;
  pageSize?: number;
  clock?: () => Date;
}

// Fields MOCO answers with that the documentation does not list: the client must keep working.
const UNDOCUMENTED = { undocumented_flag: true, undocumented_meta: { origin: 'fake-moco', version: 3 } };

const REQUIRED: Record<string, readonly string[]> = {
  '/companies': ['name', 'type'],
  '/contacts/people': ['lastname', 'gender'],
  '/deal_categories': ['name', 'probability'],
  '/deals': ['name', 'currency', 'money', 'reminder_date', 'user_id', 'deal_category_id'],
  '/offers': ['recipient_address', 'date', 'due_date', 'title', 'tax', 'items'],
  '/invoices': ['customer_id', 'recipient_address', 'date', 'due_date', 'title', 'tax', 'currency', 'items'],
};

const KIND_OF_PATH: Record<string, FakeMocoKind> = {
  '/companies': 'companies',
  '/contacts/people': 'people',
  '/users': 'users',
  '/deal_categories': 'deal_categories',
  '/deals': 'deals',
  '/offers': 'offers',
  '/invoices': 'invoices',
};

const DEAL_STATUSES = ['potential', 'pending', 'won', 'lost', 'dropped'];

/**
 * Starts a real HTTP server on 127.0.0.1 that answers like MOCO's API for the endpoints Leadline's
 * client uses: it stores what is created, searches by `term`, paginates, checks the key and the
 * mandatory fields (422 `{"message": "lastname is missing"}`), rate-limits, records every request
 * and fails on demand.
 *
 * @example
 * const moco = await startFakeMoco({ rateLimit: { limit: 5, windowMs: 120_000 } });
 * const user = moco.seed('users', { firstname: 'Nicola', lastname: 'Piccinini', email: 'nicola@leadline.example' });
 * moco.failNext(1, { status: 429, retryAfter: 7 });
 * afterAll(() => moco.close());
 */
export async function startFakeMoco(options: FakeMocoOptions = {}): Promise<FakeMoco> {
  const state: State = {
    apiKey: options.apiKey ?? 'moco-leadline-test-0123456789abcdef',
    clock: options.clock ?? (() => new Date()),
    rate: options.rateLimit === undefined ? { limit: 120, windowMs: 120_000 } : options.rateLimit,
    pagination: { pageSize: options.pageSize ?? 100, link: true },
    nextId: 1000,
    requests: [],
    script: [],
    outages: [],
    counted: [],
    store: emptyStore(),
  };
  const server = createServer((req, res) => void answer(state, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    apiKey: state.apiKey,
    failNext: (n, failure, match = {}) => {
      for (let i = 0; i < n; i += 1) state.script.push({ failure, match });
    },
    failUntil: (until, failure) => {
      state.outages.push({ until, failure });
    },
    seed: (kind, fields) => save(state, kind, kind === 'users' ? { active: true, ...fields } : fields),
    records: (kind) => structuredClone(state.store[kind]),
    requests: (match = {}) => state.requests.filter((r) => matches(r, match)),
    setRateLimit: (limit, windowMs = 120_000) => {
      state.rate = limit === null ? null : { limit, windowMs };
      state.counted = [];
    },
    setPagination: (next) => {
      state.pagination = { ...state.pagination, ...next };
    },
    setClock: (next) => {
      state.clock = next;
    },
    reset: () => {
      Object.assign(state, { requests: [], script: [], outages: [], counted: [], store: emptyStore() });
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface State {
  apiKey: string;
  clock: () => Date;
  rate: { limit: number; windowMs: number } | null;
  pagination: { pageSize: number; link: boolean };
  nextId: number;
  requests: FakeMocoRequest[];
  script: { failure: FakeMocoFailure; match: { method?: string; path?: string } }[];
  /** Time-boxed failures, the earliest-ending first that is still running wins. */
  outages: { until: Date; failure: FakeMocoFailure }[];
  /** When the requests in the rate window were answered. */
  counted: number[];
  store: Store;
}

async function answer(state: State, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  const raw = await readBody(req);
  const parsed = raw === '' ? null : parseJson(raw);
  const request: FakeMocoRequest = {
    method: req.method ?? 'GET',
    path: url.pathname.replace(/^\/api\/v1/, ''),
    query: Object.fromEntries(url.searchParams),
    body: parsed ?? null,
    authorization: req.headers.authorization,
    contentType: req.headers['content-type'],
    accept: req.headers.accept,
    receivedAt: state.clock(),
    status: null,
  };
  state.requests.push(request);
  const send: Send = (status, body, headers = {}) => {
    request.status = status;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const failure = takeFailure(state, request);
  if (failure !== undefined) return answerFailure(failure, send);
  if (!url.pathname.startsWith('/api/v1/')) return send(404, { message: 'Not found' });
  const { apiKey } = state;
  if (request.authorization !== `Token token=${apiKey}` && request.authorization !== `Bearer ${apiKey}`) {
    return send(401, { message: 'Unauthorized' });
  }
  const retryAfter = rateLimited(state, request.receivedAt.getTime());
  if (retryAfter !== null) return send(429, { message: 'Too Many Requests' }, { 'retry-after': String(retryAfter) });
  if (parsed === undefined) return send(400, { message: 'invalid JSON' });
  const [status, body] = route(request, state.store, (kind, record) => save(state, kind, record));
  if (status !== 200 || !Array.isArray(body)) return send(status, body);
  return sendPage(url, body, state.pagination, send);
}

function save(state: State, kind: FakeMocoKind, record: Json): Json {
  state.nextId += 1;
  const now = state.clock().toISOString();
  const stored = { id: state.nextId, ...record, created_at: now, updated_at: now, ...UNDOCUMENTED };
  state.store[kind].push(stored);
  return stored;
}

function takeFailure(state: State, request: FakeMocoRequest): FakeMocoFailure | undefined {
  const index = state.script.findIndex(({ match }) => matches(request, match));
  if (index !== -1) return state.script.splice(index, 1)[0]?.failure;
  return state.outages.filter((o) => o.until > request.receivedAt).sort((a, b) => a.until.getTime() - b.until.getTime())[0]?.failure;
}

// A sliding window over answered requests (429s do not count); answers Retry-After seconds when full.
function rateLimited(state: State, at: number): number | null {
  if (state.rate === null) return null;
  const { limit, windowMs } = state.rate;
  state.counted = state.counted.filter((t) => t > at - windowMs);
  const oldest = state.counted[0];
  if (state.counted.length < limit || oldest === undefined) {
    state.counted.push(at);
    return null;
  }
  return Math.max(1, Math.ceil((oldest + windowMs - at) / 1000));
}

type Store = Record<FakeMocoKind, Json[]>;
type Save = (kind: FakeMocoKind, record: Json) => Json;
type Send = (status: number, body: unknown, headers?: Record<string, string>) => void;

function route(request: FakeMocoRequest, store: Store, save: Save): [number, unknown] {
  const { method, path, query, body } = request;
  if (method === 'GET' && path === '/session') {
    return [200, { id: store.users[0]?.['id'] ?? 1, uuid: 'aec324a2-4832-11eb-b378-0242ac130002', ...UNDOCUMENTED }];
  }
  const deal = /^\/deals\/(\d+)$/.exec(path);
  if (deal !== null && (method === 'GET' || method === 'PUT')) {
    const found = store.deals.find((d) => d['id'] === Number(deal[1]));
    if (found === undefined) return [404, { message: 'Not found' }];
    if (method === 'GET') return [200, found];
    const status = body?.['status'];
    if (status !== undefined && !DEAL_STATUSES.includes(String(status))) return [422, { message: 'status is invalid' }];
    Object.assign(found, pick(body ?? {}, ['status', 'closed_on', 'name', 'money', 'info']));
    return [200, found];
  }
  const kind = KIND_OF_PATH[path];
  if (kind === undefined) return [404, { message: 'Not found' }];
  if (method === 'GET') return [200, search(kind, store[kind], query)];
  if (method !== 'POST' || kind === 'users') return [405, { message: 'Method not allowed' }];
  const fields = body ?? {};
  const missing = (REQUIRED[path] ?? []).filter((field) => blank(fields[field]));
  if (kind === 'companies' && fields['type'] === 'customer' && blank(fields['currency'])) missing.push('currency');
  if (missing.length > 0) return [422, { message: missing.map((field) => `${field} is missing`).join(', ') }];
  const built = build(kind, fields, store);
  return typeof built === 'string' ? [422, { message: built }] : [200, save(kind, built)];
}

// What MOCO answers for a new record, or the message of its 422.
function build(kind: FakeMocoKind, fields: Json, store: Store): Json | string {
  const ref = (of: FakeMocoKind, id: unknown, keys: string[]) => {
    const found = store[of].find((r) => r['id'] === id);
    return found === undefined ? undefined : { ...pick(found, ['id', ...keys]), ...UNDOCUMENTED };
  };
  const company = fields['company_id'] === undefined ? null : ref('companies', fields['company_id'], ['name', 'type']);
  if (company === undefined) return 'company_id is invalid';
  switch (kind) {
    case 'companies':
      if (!['customer', 'supplier', 'organization'].includes(String(fields['type']))) return 'type is invalid';
      return { identifier: `K-${store.companies.length + 1}`, tags: [], custom_properties: {}, ...fields };
    case 'people':
      if (!['F', 'M', 'U'].includes(String(fields['gender']))) return 'gender is invalid';
      return { firstname: null, work_email: null, job_position: null, tags: [], ...omit(fields, 'company_id'), company };
    case 'deal_categories':
      return fields;
    case 'deals': {
      const user = ref('users', fields['user_id'], ['firstname', 'lastname']);
      const category = ref('deal_categories', fields['deal_category_id'], ['name', 'probability']);
      const found = store.people.find((p) => p['id'] === fields['person_id']);
      const name = `${String(found?.['firstname'] ?? '')} ${String(found?.['lastname'])}`.trim();
      const person = fields['person_id'] === undefined ? null : found && { id: found['id'], name, ...UNDOCUMENTED };
      if (user === undefined) return 'user_id is invalid';
      if (category === undefined) return 'deal_category_id is invalid';
      if (person === undefined) return 'person_id is invalid';
      const status = fields['status'] ?? 'pending';
      if (!DEAL_STATUSES.includes(String(status))) return 'status is invalid';
      const rest = omit(fields, 'user_id', 'deal_category_id', 'company_id', 'person_id');
      return { closed_on: null, info: null, ...rest, status, user, company, person, category };
    }
    case 'offers':
    case 'invoices':
      return document(kind, fields, store, company);
    case 'users':
      return fields;
  }
}

function document(kind: 'offers' | 'invoices', fields: Json, store: Store, company: Json | null): Json | string {
  const items = fields['items'];
  if (!Array.isArray(items) || items.length === 0) return 'items is missing';
  const netTotal = items.reduce<number>(
    (sum, item: Json) => sum + Number(item['quantity'] ?? 0) * Number(item['unit_price'] ?? 0),
    0,
  );
  const tax = Number(fields['tax']);
  const totals = { net_total: netTotal, gross_total: Math.round(netTotal * (100 + tax)) / 100, status: 'created' };
  const numbered = (prefix: string) => `${prefix}${String(store[kind].length + 1).padStart(4, '0')}`;
  const withIds = items.map((item: Json, index) => ({ id: index + 1, ...item }));
  if (kind === 'invoices') {
    if (!store.companies.some((c) => c['id'] === fields['customer_id'])) return 'customer_id is invalid';
    return { identifier: numbered('R'), ...fields, ...totals, items: withIds };
  }
  const deal = store.deals.find((d) => d['id'] === fields['deal_id']);
  if (fields['deal_id'] !== undefined && deal === undefined) return 'deal_id is invalid';
  if (deal === undefined && company === null) return 'either company_id, deal_id or project_id must be provided';
  const currency = fields['currency'] ?? deal?.['currency'] ?? 'EUR';
  const dealRef = deal === undefined ? null : pick(deal, ['id', 'name']);
  const rest = omit(fields, 'deal_id', 'company_id');
  const customer = company ?? deal?.['company'] ?? null;
  return { identifier: numbered('A'), ...rest, currency, ...totals, items: withIds, deal: dealRef, company: customer };
}

// `term` matches names and emails case-insensitively, as MOCO's full-text search does for these fields.
function search(kind: FakeMocoKind, rows: Json[], query: Record<string, string>): Json[] {
  const term = query['term']?.trim().toLowerCase();
  const haystack = (row: Json): unknown[] => {
    if (kind === 'people') {
      const company = row['company'] as Json | null;
      const fullName = `${String(row['firstname'])} ${String(row['lastname'])}`;
      return [row['firstname'], row['lastname'], fullName, row['work_email'], company?.['name']];
    }
    return [row['name'], row['email']];
  };
  const found = (row: Json) => haystack(row).some((v) => typeof v === 'string' && v.toLowerCase().includes(term ?? ''));
  return rows.filter(
    (row) =>
      (query['type'] === undefined || row['type'] === query['type']) &&
      (query['identifier'] === undefined || row['identifier'] === query['identifier']) &&
      (query['status'] === undefined || row['status'] === query['status']) &&
      (query['deal_id'] === undefined || refId(row, 'deal') === Number(query['deal_id'])) &&
      (query['company_id'] === undefined || refId(row, 'company') === Number(query['company_id'])) &&
      (term === undefined || term === '' || found(row)),
  );
}

// Offers link their deal and company as `{ id, name }`; invoices name the customer by `customer_id`.
function refId(row: Json, field: 'deal' | 'company'): unknown {
  const linked = row[field] as Json | null | undefined;
  if (linked !== null && linked !== undefined) return linked['id'];
  return field === 'company' ? row['customer_id'] : row['deal_id'];
}

function sendPage(url: URL, rows: unknown[], pagination: { pageSize: number; link: boolean }, send: Send): void {
  const { pageSize } = pagination;
  const page = Math.max(1, Number.parseInt(url.searchParams.get('page') ?? '1', 10) || 1);
  const headers: Record<string, string> = {
    'x-page': String(page),
    'x-per-page': String(pageSize),
    'x-total': String(rows.length),
  };
  if (pagination.link && page * pageSize < rows.length) {
    const next = new URL(url);
    next.searchParams.set('page', String(page + 1));
    headers['link'] = `<${next.href}>; rel="next"`;
  }
  send(200, rows.slice((page - 1) * pageSize, page * pageSize), headers);
}

function answerFailure(failure: FakeMocoFailure, send: Send): void {
  if ('hang' in failure) return; // never answered; close() destroys the socket
  if ('rawBody' in failure) return send(200, failure.rawBody);
  if (failure.status === 429) {
    const retryAfter = failure.retryAfter === undefined ? undefined : String(failure.retryAfter);
    return send(429, { message: 'Too Many Requests' }, retryAfter === undefined ? {} : { 'retry-after': retryAfter });
  }
  if (failure.status === 422) return send(422, failure.body ?? { message: 'scripted validation failure' });
  const messages: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found' };
  return send(failure.status, { message: messages[failure.status] ?? `Scripted ${failure.status}` });
}

function matches(request: FakeMocoRequest, match: { method?: string; path?: string }): boolean {
  const { method, path } = match;
  return (method === undefined || method === request.method) && (path === undefined || path === request.path);
}

function emptyStore(): Store {
  return { companies: [], people: [], users: [], deal_categories: [], deals: [], offers: [], invoices: [] };
}

function blank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function pick(record: Json, keys: readonly string[]): Json {
  return Object.fromEntries(keys.filter((key) => key in record).map((key) => [key, record[key]]));
}

function omit(record: Json, ...keys: string[]): Json {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// undefined for a body that is not a JSON object, which the fake answers with 400.
function parseJson(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}
