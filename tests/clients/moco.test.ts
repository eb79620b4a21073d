import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMocoClient, type MocoClientOptions, type NewMocoPerson } from '../../src/clients/moco.ts';
import { isLeadlineError, type LeadlineError } from '../../src/errors.ts';
import { type FakeMoco, startFakeMoco } from '../support/fake-moco.ts';

const ITEM = { type: 'item', title: 'Sequencing run', quantity: 2, unit: 'run', unit_price: 1500 } as const;

describe('MOCO client', () => {
  let moco: FakeMoco;
  let takes: number;
  let sleeps: number[];
  let now: number;

  beforeAll(async () => {
    moco = await startFakeMoco({ rateLimit: null });
  });
  afterAll(() => moco.close());
  beforeEach(() => {
    moco.reset();
    moco.setRateLimit(null);
    moco.setPagination({ pageSize: 100, link: true });
    takes = 0;
    sleeps = [];
    now = Date.parse('2025-11-20T09:00:00Z');
    moco.setClock(() => new Date(now));
  });

  // Sleeping moves the fake's clock instead of waiting, so Retry-After is honoured in no wall time.
  const client = (overrides: Partial<MocoClientOptions> = {}) =>
    createMocoClient({
      baseUrl: moco.baseUrl,
      apiKey: moco.apiKey,
      timeoutMs: 2_000,
      limiter: {
        take: () => {
          takes += 1;
          return Promise.resolve();
        },
      },
      sleep: (ms) => {
        sleeps.push(ms);
        now += ms;
        return Promise.resolve();
      },
      random: () => 0.5,
      ...overrides,
    });

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (err: unknown) => err as LeadlineError,
    );

  it('sends the key as MOCO wants it, as JSON, and takes a slot before the request', async () => {
    const user = moco.seed('users', { firstname: 'Nicola', lastname: 'Piccinini' });
    await expect(client().session()).resolves.toMatchObject({ id: user['id'] });
    const [request] = moco.requests({ path: '/session' });
    expect(request).toMatchObject({
      method: 'GET',
      authorization: `Token token=${moco.apiKey}`,
      contentType: 'application/json',
      accept: 'application/json',
    });
    expect(takes).toBe(1);
  });

  it('keeps fields MOCO does not document', async () => {
    const company = await client().createCompany({ name: 'Beispiel AG', type: 'customer', currency: 'EUR' });
    expect(company).toMatchObject({ name: 'Beispiel AG', identifier: 'K-1' });
    expect(company['undocumented_meta']).toEqual({ origin: 'fake-moco', version: 3 });
    const person = await client().createPerson({ lastname: 'Muster', gender: 'U', company_id: company.id });
    expect(person.company?.['undocumented_flag']).toBe(true);
  });

  it('reports a wrong key as moco_unauthorized without retrying', async () => {
    const err = await failure(client({ apiKey: 'not-the-key-0000000000' }).listUsers());
    expect(isLeadlineError(err, 'moco_unauthorized')).toBe(true);
    expect(moco.requests()).toHaveLength(1);
    expect(sleeps).toEqual([]);

    moco.failNext(1, { status: 403 });
    expect((await failure(client().session())).code).toBe('moco_unauthorized');
  });

  it('reports a missing record as not_found', async () => {
    const err = await failure(client().updateDeal(424_242, { status: 'won' }));
    expect(isLeadlineError(err, 'not_found')).toBe(true);
    expect(moco.requests()).toHaveLength(1);
  });

  it("surfaces MOCO's 422 message as moco_rejected, never retried", async () => {
    const err = await failure(client().createPerson({ lastname: '', gender: 'U' }));
    expect(isLeadlineError(err, 'moco_rejected')).toBe(true);
    expect(err.message).toBe('lastname is missing');
    expect(err.issues).toEqual([{ path: '(root)', message: 'lastname is missing' }]);
    expect(moco.requests()).toHaveLength(1);

    moco.failNext(1, { status: 422, body: { errors: { lastname: ["can't be blank"], gender: ['is invalid'] } } });
    const fields = await failure(client().createPerson({ lastname: 'Muster', gender: 'X' } as unknown as NewMocoPerson));
    expect(fields.message).toBe("lastname can't be blank, gender is invalid");
    expect(fields.issues.map((i) => i.path)).toEqual(['lastname', 'gender']);
    expect(sleeps).toEqual([]);
  });

  it('waits Retry-After seconds through the injected sleep, then succeeds', async () => {
    moco.failNext(1, { status: 429, retryAfter: 7 });
    await expect(client().listUsers()).resolves.toEqual([]);
    expect(sleeps).toEqual([7_000]);
    expect(moco.requests().map((r) => r.status)).toEqual([429, 200]);
    expect(takes).toBe(2);
  });

  it("honours the fake's own rate window on the injected clock", async () => {
    moco.setRateLimit(3, 120_000);
    const api = client();
    for (let i = 0; i < 4; i += 1) await api.listDealCategories();
    expect(moco.requests().map((r) => r.status)).toEqual([200, 200, 200, 429, 200]);
    expect(sleeps).toEqual([120_000]);
  });

  it('backs off exponentially with jitter from the injected random source', async () => {
    moco.failNext(3, { status: 429 });
    moco.failNext(1, { status: 502 });
    await client({ random: () => 0 }).listUsers();
    // 1 s, 2 s, 4 s, 8 s ceilings, each at the low end of the 50–100 % jitter.
    expect(sleeps).toEqual([500, 1_000, 2_000, 4_000]);
  });

  it('retries 5xx and timeouts of reads, up to maxAttempts', async () => {
    moco.failNext(1, { status: 500 });
    moco.failNext(1, { hang: true });
    await expect(client({ timeoutMs: 150 }).findCompanies({})).resolves.toEqual([]);
    expect(sleeps).toEqual([750, 1_500]);

    sleeps = [];
    moco.failNext(10, { status: 503 });
    const err = await failure(client({ maxAttempts: 3 }).listUsers());
    expect(isLeadlineError(err, 'upstream_failed')).toBe(true);
    expect(err.message).toContain('after 3 attempts');
    expect(sleeps).toHaveLength(2);
  });

  it('gives up on a rate limit that lasts as upstream_rate_limited', async () => {
    moco.failNext(5, { status: 429, retryAfter: 3 });
    const err = await failure(client({ maxAttempts: 5 }).listUsers());
    expect(isLeadlineError(err, 'upstream_rate_limited')).toBe(true);
    expect(sleeps).toEqual([3_000, 3_000, 3_000, 3_000]);
    expect(moco.requests()).toHaveLength(5);

    sleeps = [];
    moco.failNext(1, { status: 429, retryAfter: 600 });
    expect((await failure(client().listUsers())).code).toBe('upstream_rate_limited');
    expect(sleeps).toEqual([]);
  });

  it('sends a create again only when MOCO cannot have acted on it', async () => {
    const api = client({ timeoutMs: 150 });
    moco.failNext(1, { status: 503 }, { method: 'POST' });
    await api.createDealCategory({ name: 'Contact', probability: 10 });
    expect(moco.records('deal_categories')).toHaveLength(1);

    moco.failNext(1, { status: 500 }, { method: 'POST' });
    const err = await failure(api.createDealCategory({ name: 'Offer', probability: 50 }));
    expect(isLeadlineError(err, 'upstream_failed')).toBe(true);
    expect(err.message).toContain('outcome unknown');

    moco.failNext(1, { hang: true }, { method: 'POST' });
    expect((await failure(api.createDealCategory({ name: 'Offer', probability: 50 }))).message).toContain('timeout');
    expect(moco.requests({ method: 'POST' })).toHaveLength(4);
  });

  it('retries a refused connection and says so when it stays refused', async () => {
    const port = await closedPort();
    const api = client({ baseUrl: `http://127.0.0.1:${port}/api/v1`, maxAttempts: 3 });
    const err = await failure(api.createDealCategory({ name: 'Contact', probability: 10 }));
    expect(isLeadlineError(err, 'upstream_failed')).toBe(true);
    expect(err.message).toContain('ECONNREFUSED');
    expect(takes).toBe(3);
  });

  it('refuses answers of the wrong shape or not JSON', async () => {
    moco.failNext(1, { rawBody: '{"id":"abc"}' });
    const shape = await failure(client().session());
    expect(isLeadlineError(shape, 'upstream_failed')).toBe(true);
    expect(shape.message).toContain('id, uuid');
    moco.failNext(1, { rawBody: '<html>maintenance</html>' });
    expect((await failure(client().session())).message).toContain('not JSON');
  });

  it('follows Link rel=next, or X-Page and X-Total without it, and bounds the pages', async () => {
    for (let i = 1; i <= 250; i += 1) moco.seed('companies', { name: `Lab ${i}`, type: 'customer', currency: 'EUR' });
    const all = await client().findCompanies({});
    expect(all.map((c) => c.name)).toEqual(Array.from({ length: 250 }, (_, i) => `Lab ${i + 1}`));
    expect(moco.requests().map((r) => r.query['page'] ?? '1')).toEqual(['1', '2', '3']);
    expect(moco.requests().every((r) => r.query['type'] === 'customer')).toBe(true);

    moco.setPagination({ pageSize: 100, link: false });
    expect(await client().findCompanies({})).toHaveLength(250);
    moco.setPagination({ pageSize: 10 });
    const err = await failure(client({ maxPages: 5 }).findCompanies({}));
    expect(err.message).toContain('more than 5 pages');
  });

  it('searches by term, case-insensitively, on names and emails', async () => {
    const api = client();
    const lab = await api.createCompany({
      name: 'Helix Labs',
      type: 'customer',
      currency: 'EUR',
      email: 'hi@helix.example',
    });
    await api.createCompany({ name: 'Other GmbH', type: 'customer', currency: 'EUR' });
    expect((await api.findCompanies({ term: 'HELIX' })).map((c) => c.id)).toEqual([lab.id]);
    expect((await api.findCompanies({ term: 'hi@helix' })).map((c) => c.id)).toEqual([lab.id]);
    expect(await api.findCompanies({ identifier: lab.identifier ?? '' })).toHaveLength(1);
    await api.createPerson({ lastname: 'Muster', firstname: 'Max', gender: 'M', work_email: 'max@helix.example' });
    expect(await api.findPeople({ term: 'MAX@HELIX' })).toHaveLength(1);
    expect(await api.findPeople({ term: 'nobody' })).toEqual([]);
  });

  it('creates the whole chain the sync writes: company, person, deal, won, offer, invoice', async () => {
    const api = client();
    const owner = moco.seed('users', { firstname: 'Nicola', lastname: 'Piccinini' });
    const [user] = await api.listUsers();
    expect(user?.id).toBe(owner['id']);
    const company = await api.createCompany({ name: 'Beispiel AG', type: 'customer', currency: 'EUR' });
    const person = await api.createPerson({ lastname: 'Muster', firstname: 'Max', gender: 'M', company_id: company.id });
    const stage = await api.createDealCategory({ name: 'Offer', probability: 50 });
    expect(await api.listDealCategories()).toEqual([expect.objectContaining({ id: stage.id })]);
    const deal = await api.createDeal({
      name: 'Beispiel AG: sequencing',
      currency: 'EUR',
      money: 25_000,
      reminder_date: '2025-12-01',
      user_id: user!.id,
      deal_category_id: stage.id,
      company_id: company.id,
      person_id: person.id,
    });
    expect(deal).toMatchObject({
      status: 'pending',
      person: { id: person.id, name: 'Max Muster' },
      category: { id: stage.id },
    });
    expect((await api.findDeals({ term: 'SEQUENCING' })).map((d) => d.id)).toEqual([deal.id]);
    expect(await api.updateDeal(deal.id, { status: 'won', closed_on: '2025-12-12' })).toMatchObject({ status: 'won' });
    const common = { recipient_address: 'Beispiel AG\nBerlin', date: '2025-12-12', due_date: '2026-01-11', tax: 19 };
    const offer = await api.createOffer({ deal_id: deal.id, title: 'Offer', items: [ITEM], ...common });
    expect(offer).toMatchObject({ net_total: 3_000, currency: 'EUR', status: 'created' });
    const invoice = await api.createInvoice({
      ...common,
      customer_id: company.id,
      title: 'Invoice',
      currency: 'EUR',
      items: [ITEM],
      deal_id: deal.id,
      offer_id: offer.id,
    });
    expect(invoice).toMatchObject({ gross_total: 3_570, title: 'Invoice' });
    expect(moco.records('invoices')).toHaveLength(1);
    expect(takes).toBe(moco.requests().length);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
