import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_SECRETS, type TestApp } from '../support/app.ts';
import { signCalendly, signHubspotV3, signMoco, signStandard } from '../support/signers.ts';
import { report } from './support/report.ts';

const BASE = 'http://leadline.test';
const now = () => Math.floor(Date.now() / 1000);
let sequence = 0;

/**
 * What an attacker can forge: deliveries signed wrongly in every way the schemes allow, all
 * refused, and the one valid delivery accepted once. (Fuzzed bodies: fuzz.test.ts.)
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
});
