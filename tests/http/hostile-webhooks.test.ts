import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/app/intake/read-delivery.ts';
import { resolveSources } from '../../src/http/sources.ts';
import { createTestApp, TEST_SECRETS, type TestApp } from '../support/app.ts';
import { testRuleset } from '../support/engine-fixtures.ts';
import { signHubspotV3, signMoco, signStandard } from '../support/signers.ts';

const BASE = 'http://leadline.test';
let sequence = 0;

/**
 * Correctly signed deliveries with values no sender should send: each is answered 2xx or 4xx, and
 * a hostile one never fails the innocent deliveries that share its group commit.
 */
describe('hostile but signed webhook bodies', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Commits wait for company, so concurrent deliveries share them as they would under load.
    t = await createTestApp({ intake: { minRowsForParallel: 1_000 } });
  });
  afterAll(() => t.stop());
  afterEach(async () => {
    await t.db.reset();
  });

  const website = (body: string) => {
    sequence += 1;
    const headers = signStandard({ secret: TEST_SECRETS.website, id: `msg_hostile_${sequence}`, timestamp: Math.floor(Date.now() / 1000), body });
    return t.app.request(`${BASE}/webhooks/website`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  };
  const event = (overrides: Record<string, unknown> = {}) => {
    sequence += 1;
    return { id: `evt_${sequence}`, type: 'page.viewed', lead: { email: `visitor${sequence}@lab.example` }, ...overrides };
  };
  const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('refuses JSON nested deeper than any sender nests it, counting no brackets inside strings', async () => {
    const res = await website(JSON.stringify(event({ metadata: { note: 'x' } })).replace('"x"', deep(20_000)));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_payload', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted` });
    expect(nestsDeeperThan(new TextEncoder().encode(JSON.stringify({ a: deep(200) })), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(new TextEncoder().encode(`{"a":"\\"${deep(100)}"}`), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(new TextEncoder().encode(deep(MAX_JSON_DEPTH)), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(new TextEncoder().encode(deep(MAX_JSON_DEPTH + 1)), MAX_JSON_DEPTH)).toBe(true);
  });

  it('refuses native times PostgreSQL cannot store with the field path, HubSpot’s too', async () => {
    for (const occurredAt of ['0000-01-01T00:00:00Z', '+010000-01-01T00:00:00Z', '9999-12-31T23:00:00-05:00']) {
      const res = await website(JSON.stringify(event({ occurred_at: occurredAt })));
      expect(res.status, occurredAt).toBe(400);
      const answer = (await res.json()) as { issues: { path: string }[] };
      expect([...new Set(answer.issues.map((i) => i.path))]).toEqual(['occurred_at']);
    }
    // HubSpot's occurredAt is its required epoch-ms field: past year 9999 it is refused by path.
    const body = JSON.stringify([{ eventId: 9, subscriptionId: 1, portalId: 42, occurredAt: 8.64e15, subscriptionType: 'contact.creation', objectId: 9 }]);
    const headers = signHubspotV3({ secret: TEST_SECRETS.hubspot, method: 'POST', url: `${BASE}/webhooks/hubspot`, body, timestampMs: Date.now() });
    const res = await t.app.request(`${BASE}/webhooks/hubspot`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ issues: [{ path: '0.occurredAt' }] });
    expect((await t.db.pool.query('SELECT 1 FROM intake_events')).rowCount).toBe(0);
  });

  it('lets no hostile delivery fail the innocent ones sharing its commit', async () => {
    const hostile = [
      JSON.stringify(event({ occurred_at: '0000-01-01T00:00:00Z' })),
      JSON.stringify(event({ metadata: { note: 'x' } })).replace('"x"', deep(5_000)),
      JSON.stringify(event({ metadata: { note: 'a\u0000b' } })),
      JSON.stringify({ ...event(), ['__proto__']: { polluted: true } }),
    ];
    const innocent = Array.from({ length: 40 }, () => JSON.stringify(event()));
    const all = [...hostile, ...innocent, ...hostile].map((body) => website(body));
    const statuses = (await Promise.all(all)).map((res) => res.status);
    expect(statuses.every((status) => status < 500)).toBe(true);
    expect(statuses.filter((status) => status === 202).length).toBeGreaterThanOrEqual(40);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM intake_events WHERE payload->'lead'->>'email' LIKE 'visitor%'`);
    expect(rows[0].n).toBeGreaterThanOrEqual(40);
  });

  it('counts a secret of only spaces as unset, and a ruleset refuses one', async () => {
    const ruleset = testRuleset(`version: blank\nsources:\n  - { name: site, scheme: standard, secret_env: SITE_SECRET }\n`);
    expect(resolveSources(ruleset, { SITE_SECRET: '   \t ' }).get('site')?.secret).toBeNull();
    expect(resolveSources(ruleset, { SITE_SECRET: 'whsec_real' }).get('site')?.secret).toBe('whsec_real');
    expect(() => testRuleset(`version: blank\nsources:\n  - { name: site, scheme: standard, secret: "${' '.repeat(20)}" }\n`)).toThrow(/only spaces/);
  });

  it('answers every fuzzed signed body with a 2xx or 4xx', async () => {
    const anyJson = fc.jsonValue({ maxDepth: 5 });
    const nativeish = fc.record(
      {
        id: fc.oneof(fc.string(), fc.jsonValue()),
        type: fc.oneof(fc.constantFrom('form.submitted', 'page.viewed', 'deal.won'), fc.jsonValue()),
        occurred_at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.jsonValue()),
        lead: fc.oneof(fc.record({ email: fc.oneof(fc.emailAddress(), fc.jsonValue()), ids: fc.jsonValue() }, { requiredKeys: [] }), fc.jsonValue()),
        metadata: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.double(), fc.jsonValue())), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    const moco = fc.record({ target: fc.constantFrom('Deal', 'Offer', 'Contact', 'Invoice::Payment', 'Company'), event: fc.constantFrom('create', 'update', 'delete'), body: fc.oneof(anyJson, fc.record({ id: fc.jsonValue(), paid_total: fc.jsonValue(), invoice: fc.jsonValue(), person: fc.jsonValue(), status: fc.jsonValue() }, { requiredKeys: [] })) });
    await fc.assert(
      fc.asyncProperty(fc.oneof(nativeish, anyJson, fc.array(nativeish, { maxLength: 5 }).map((events) => ({ events }))), moco, async (native, delivery) => {
        const first = await website(JSON.stringify(native) ?? 'null');
        const body = JSON.stringify(delivery.body) ?? 'null';
        const headers = { 'x-moco-target': delivery.target, 'x-moco-event': delivery.event, ...signMoco({ secret: TEST_SECRETS.moco, body }) };
        const second = await t.app.request(`${BASE}/webhooks/moco`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
        expect(first.status, JSON.stringify(native)).toBeLessThan(500);
        expect(second.status, body).toBeLessThan(500);
      }),
      { seed: 20261203, numRuns: 200 },
    );
  });
});
