import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_SECRETS, type TestApp } from '../support/app.ts';
import { signCalendly, signHubspotV3, signMoco, signStandard } from '../support/signers.ts';
import { report } from './support/report.ts';

const BASE = 'http://leadline.test';
const now = () => Math.floor(Date.now() / 1000);
let sequence = 0;
const RUNS = 100_000;

/**
 * What an attacker or a broken sender can send, in bulk: forged deliveries (all refused, the one
 * valid accepted) and tens of thousands of fuzzed bodies, signed and not (only 2xx/4xx, nothing
 * half-stored).
 */
describe('hostile input at the webhook edge', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.stop());

  const send = async (path: string, body: string, headers: Record<string, string>): Promise<Response> =>
    t.app.request(`${BASE}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const event = () => {
    sequence += 1;
    return JSON.stringify({ id: `forgery-${sequence}`, type: 'page.viewed', lead: { email: `f${sequence}@lab.example` } });
  };
  const flip = (text: string, at: number) => text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 1) + text.slice(at + 1);

  it('refuses every forgery in the matrix and accepts the valid delivery once', async () => {
    const forgeries: { name: string; path: string; body: string; headers: Record<string, string> }[] = [];
    const add = (name: string, path: string, body: string, headers: Record<string, string>) => forgeries.push({ name, path, body, headers });
    for (let i = 0; i < 40; i += 1) {
      const body = event();
      const valid = signStandard({ secret: TEST_SECRETS.website, id: `msg-${sequence}`, timestamp: now(), body });
      const signature = valid['webhook-signature']!;
      add('body bit flip', '/webhooks/website', flip(body, i % body.length), valid);
      add('signature bit flip', '/webhooks/website', body, { ...valid, 'webhook-signature': flip(signature, 3 + (i % (signature.length - 3))) });
      add('another source’s secret', '/webhooks/website', body, signStandard({ secret: 'whsec_' + Buffer.from(TEST_SECRETS.hubspot).toString('base64'), id: `msg-${sequence}`, timestamp: now(), body }));
      add('replayed, 10 min old', '/webhooks/website', body, signStandard({ secret: TEST_SECRETS.website, id: `old-${sequence}`, timestamp: now() - 600, body }));
      add('from the future, +10 min', '/webhooks/website', body, signStandard({ secret: TEST_SECRETS.website, id: `new-${sequence}`, timestamp: now() + 600, body }));
      add('other id than signed', '/webhooks/website', body, { ...valid, 'webhook-id': `other-${sequence}` });
      add('several v1 signatures, none valid', '/webhooks/website', body, { ...valid, 'webhook-signature': `v1,${flip(signature.slice(3), 1)} v1,AAAA v2,${signature.slice(3)}` });
      add('signature padded with whitespace inside', '/webhooks/website', body, { ...valid, 'webhook-signature': signature.replace(',', ', ') + 'x' });
      add('missing timestamp', '/webhooks/website', body, { 'webhook-id': valid['webhook-id']!, 'webhook-signature': signature });
      const hub = signHubspotV3({ secret: TEST_SECRETS.hubspot, url: `${BASE}/webhooks/hubspot`, body, timestampMs: Date.now() });
      add('hubspot: other url signed', '/webhooks/hubspot', body, signHubspotV3({ secret: TEST_SECRETS.hubspot, url: `${BASE}/webhooks/website`, body, timestampMs: Date.now() }));
      add('hubspot: body bit flip', '/webhooks/hubspot', flip(body, 5), hub);
      add('hubspot: stale', '/webhooks/hubspot', body, signHubspotV3({ secret: TEST_SECRETS.hubspot, url: `${BASE}/webhooks/hubspot`, body, timestampMs: Date.now() - 600_000 }));
      add('calendly: wrong key', '/webhooks/calendly', body, signCalendly({ secret: TEST_SECRETS.typeform, body, t: now() }));
      add('calendly: stale', '/webhooks/calendly', body, signCalendly({ secret: TEST_SECRETS.calendly, body, t: now() - 600 }));
      add('moco: uppercase hex of a flipped body', '/webhooks/moco', body, { ...signMoco({ secret: TEST_SECRETS.moco, body: flip(body, 7) }), 'x-moco-target': 'Contact', 'x-moco-event': 'create' });
    }
    const answers = await Promise.all(forgeries.map((f) => send(f.path, f.body, f.headers).then((res) => ({ ...f, status: res.status }))));
    const accepted = answers.filter((a) => a.status < 400 || a.status >= 500);
    const body = event();
    const valid = signStandard({ secret: TEST_SECRETS.website, id: `msg-valid-${sequence}`, timestamp: now(), body });
    // Header names in another case and a duplicated, equal header are the same request.
    const upper = Object.fromEntries(Object.entries(valid).map(([k, v]) => [k.toUpperCase(), v]));
    const first = await send('/webhooks/website', body, upper);
    const again = await send('/webhooks/website', body, valid);
    report('forgery matrix', {
      'forgeries sent': forgeries.length,
      kinds: new Set(forgeries.map((f) => f.name)).size,
      'forgeries accepted': accepted.length,
      'valid delivery (first / repeated)': `${first.status} / ${again.status}`,
    });
    expect(accepted.map((a) => `${a.name}: ${a.status}`)).toEqual([]);
    expect([first.status, again.status]).toEqual([202, 200]);
  });

  it('answers 100,000 fuzzed bodies with a 2xx or 4xx and stores nothing half', async () => {
    const started = performance.now();
    let signed = 0;
    let server = 0;
    const statuses = new Map<number, number>();
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const hostileString = fc.oneof(fc.string({ maxLength: 50 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('\u0000', '\ud800', '__proto__', 'x'.repeat(5_000)));
    const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 6 }), fc.constant({ __proto__: { polluted: 1 } }), hostileString);
    const body = fc.oneof(
      anyJson.map((v) => JSON.stringify(v) ?? 'null'),
      fc.record({ type: fc.constantFrom('form.submitted', 'page.viewed'), lead: fc.oneof(fc.record({ email: fc.oneof(fc.emailAddress(), hostileString) }), anyJson), occurred_at: fc.oneof(fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())), hostileString), metadata: anyJson }, { requiredKeys: ['type'] }).map((v) => JSON.stringify(v)),
      fc.nat({ max: 60_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
      fc.string({ maxLength: 200 }).map((s) => `{"events":[${s}`),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), fc.constantFrom('website', 'moco', 'hubspot'), async (text, sign, source) => {
        let headers: Record<string, string> = {};
        if (sign) {
          signed += 1;
          sequence += 1;
          if (source === 'website') headers = signStandard({ secret: TEST_SECRETS.website, id: `fuzz-${sequence}`, timestamp: now(), body: text });
          else if (source === 'moco') headers = { ...signMoco({ secret: TEST_SECRETS.moco, body: text }), 'x-moco-target': 'Deal', 'x-moco-event': 'update' };
          else headers = signHubspotV3({ secret: TEST_SECRETS.hubspot, url: `${BASE}/webhooks/hubspot`, body: text, timestampMs: Date.now() });
        }
        const res = await send(`/webhooks/${source}`, text, headers);
        await res.arrayBuffer();
        count(res.status);
        if (res.status >= 500) server += 1;
        expect(res.status, text.slice(0, 200)).toBeLessThan(500);
      }),
      { seed: 20261203, numRuns: RUNS },
    );
    // Nothing stored without its processing job, nothing the engine cannot read.
    const { rows } = await t.db.pool.query(
      `SELECT count(*)::int AS rows, count(*) FILTER (WHERE j.id IS NULL)::int AS without_job
       FROM intake_events e LEFT JOIN pgboss.job j ON j.id = e.id`,
    );
    report('fuzzed webhook bodies', {
      bodies: RUNS,
      'correctly signed': signed,
      'answers by status': JSON.stringify(Object.fromEntries(statuses)),
      '5xx answers': server,
      'rows stored / without their job': `${rows[0].rows} / ${rows[0].without_job}`,
      seconds: ((performance.now() - started) / 1_000).toFixed(1),
    });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(rows[0].without_job).toBe(0);
  });
});
