import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listInvalidDeliveries, retryInvalidDeliveries } from '../../src/app/intake/invalid-deliveries.ts';
import { FloodLimit } from '../../src/http/flood-limit.ts';
import type { WebhookSource } from '../../src/http/sources.ts';
import { createTestApp, TEST_SECRETS, type TestApp, testSources } from '../support/app.ts';
import { signStandard } from '../support/signers.ts';

const BASE = 'http://leadline.test';

describe('a flood limit per source', () => {
  it('lets a burst through, then one delivery per token, and says when the next one is due', () => {
    let now = 0;
    const limit = new FloodLimit(() => now);
    const rate = { perSecond: 2, burst: 3 };
    expect([1, 2, 3].map(() => limit.take('lemlist', rate).ok)).toEqual([true, true, true]);
    expect(limit.take('lemlist', rate)).toEqual({ ok: false, retryAfterSeconds: 1 });
    now = 499;
    expect(limit.take('lemlist', rate).ok).toBe(false);
    now = 500;
    expect(limit.take('lemlist', rate).ok).toBe(true);
    expect(limit.take('website', rate).ok).toBe(true);
    now = 60_000;
    // A quiet minute refills to the burst, not beyond it.
    expect([1, 2, 3, 4].map(() => limit.take('lemlist', rate).ok)).toEqual([true, true, true, false]);
  });
});

describe('senders that punish errors and senders that flood', () => {
  let t: TestApp;
  let now = new Date('2026-12-03T10:00:00Z');
  let sequence = 0;
  beforeAll(async () => {
    const sources = testSources();
    const website = sources.get('website')!;
    const limited: WebhookSource = { ...website, name: 'campaigns', rateLimit: { perSecond: 1, burst: 2 } };
    sources.set('campaigns', limited);
    t = await createTestApp({ sources, now: () => now });
  });
  afterAll(() => t.stop());
  afterEach(async () => {
    await t.db.reset();
    now = new Date(now.getTime() + 3_600_000);
  });

  const signed = (source: string, body: string, secret: string = TEST_SECRETS.website) => {
    sequence += 1;
    const headers = signStandard({ secret, id: `msg_sender_${sequence}`, timestamp: Math.floor(now.getTime() / 1000), body });
    return t.app.request(`${BASE}/webhooks/${source}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  };
  const event = () => {
    sequence += 1;
    return JSON.stringify({ id: `evt_${sequence}`, type: 'page.viewed', lead: { email: `visitor${sequence}@lab.example` } });
  };
  const rb2b = (body: string) =>
    t.app.request(`${BASE}/webhooks/rb2b/${TEST_SECRETS.rb2b}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('answers 429 with Retry-After past the burst, for that source only; forgeries spend nothing', async () => {
    for (let i = 0; i < 5; i += 1) expect((await signed('campaigns', event(), 'whsec_' + 'A'.repeat(32))).status).toBe(401);
    expect((await signed('campaigns', event())).status).toBe(202);
    expect((await signed('campaigns', event())).status).toBe(202);
    const limited = await signed('campaigns', event());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toMatchObject({ error: 'rate_limited' });
    expect((await signed('website', event())).status).toBe(202);
    now = new Date(now.getTime() + 1_000);
    expect((await signed('campaigns', event())).status).toBe(202);
    expect(await t.intakeRows()).toBe(4);
    const metrics = await (await t.app.request(`${BASE}/metrics`)).text();
    expect(metrics).toContain('leadline_webhook_refusals_total{source="campaigns",reason="signature_invalid"} 5');
    expect(metrics).toContain('leadline_webhook_refusals_total{source="campaigns",reason="rate_limited"} 1');
    expect(metrics).toContain('leadline_webhooks_total{source="campaigns",outcome="rate_limited"} 1');
  });

  it('parks what an on_invalid: park source sends and cannot be read, answering 202, once per delivery', async () => {
    const bodies = ['{"type": "page.visited", "lead": {"email": "not-an-email"}}', 'not json at all', '{"lead": {"email": "a@b.example", "note": "\\u0000"}}'];
    for (const body of bodies) {
      const res = await rb2b(body);
      expect(res.status).toBe(202);
      expect(res.headers.get('leadline-parked')).toMatch(/^invalid_(payload|json)$/);
      expect(await res.json()).toMatchObject({ accepted: 0, parked: expect.any(String) });
    }
    expect(await (await t.app.request(`${BASE}/metrics`)).text()).toContain('leadline_webhooks_total{source="rb2b",outcome="parked"} 3');
    expect((await rb2b(bodies[0]!)).status).toBe(202);
    const parked = await listInvalidDeliveries(t.db.pool);
    expect(parked.map((p) => [p.reason, p.attempts, p.body.toString('utf8')])).toEqual([
      ['invalid_payload', 2, bodies[0]],
      ['invalid_json', 1, bodies[1]],
      ['invalid_payload', 1, bodies[2]],
    ]);
    expect(parked[0]!.detail).toContain('lead.email');
    expect(await t.intakeRows()).toBe(0);
    // A source that refuses still refuses, and a wrong token is still a 401 with nothing kept.
    expect((await signed('website', 'not json at all')).status).toBe(400);
    expect((await t.app.request(`${BASE}/webhooks/rb2b/wrong-token`, { method: 'POST', body: 'x' })).status).toBe(401);
    expect(await listInvalidDeliveries(t.db.pool)).toHaveLength(3);
  });

  it('stores a parked delivery after the fix that makes it readable, exactly once', async () => {
    const body = JSON.stringify({ type: 'page.visited', lead: { email: 'ada@lab.example' }, occurred_at: 'yesterday' });
    expect((await rb2b(body)).status).toBe(202);
    const [row] = await listInvalidDeliveries(t.db.pool);
    const jobsBefore = await t.queuedJobs();
    const strict = { name: 'rb2b', scheme: 'url-token', format: 'native' as const };
    const ctx = { pool: t.db.pool, intake: t.intake, now: () => now };
    // Still unreadable with the same mapping: it stays, with the reason of this try.
    expect(await retryInvalidDeliveries({ ...ctx, sources: new Map([['rb2b', strict]]) }, null)).toMatchObject({ stored: [], stillInvalid: [{ id: row!.id }] });
    // The operator's fix here: the body edited in place, as after correcting a sender's template.
    await t.db.pool.query(`UPDATE invalid_deliveries SET body = convert_to($1, 'UTF8')`, [JSON.stringify({ type: 'page.visited', lead: { email: 'ada@lab.example' } })]);
    expect(await retryInvalidDeliveries({ ...ctx, sources: new Map([['rb2b', strict]]) }, [row!.id])).toMatchObject({ stored: [row!.id], stillInvalid: [] });
    expect(await retryInvalidDeliveries({ ...ctx, sources: new Map([['rb2b', strict]]) }, null)).toEqual({ stored: [], stillInvalid: [] });
    expect(await t.intakeRows()).toBe(1);
    expect((await t.queuedJobs()) - jobsBefore).toBe(1);
  });
});
