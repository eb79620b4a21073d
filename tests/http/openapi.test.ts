import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/http/openapi.ts';
import { STANDARD_SIGNATURE_EXAMPLE, type WebhookExample } from '../../src/http/openapi-examples.ts';
import { verifySignature } from '../../src/http/signatures.ts';
import { createTestApp, TEST_SECRETS, testSources, type TestApp } from '../support/app.ts';
import { signCalendly, signHubspotV3, signMoco, signStandard, signTypeform } from '../support/signers.ts';

const BASE = 'http://leadline.test';
const IMPORT_TOKEN = 'test-import-token-0123456789';

interface Operation {
  requestBody: { content: Record<string, { examples: Record<string, WebhookExample> }> };
}
interface Doc {
  openapi: string;
  components: Record<string, unknown>;
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
}

const doc = openApiDocument() as unknown as Doc;
const examplesOf = (path: string, media = 'application/json') =>
  Object.entries(doc.paths[path]!['post']!.requestBody.content[media]!.examples);

/** The example as its source's sender would post it: signed for the source's scheme. */
function signedDelivery(key: string, example: WebhookExample): { path: string; body: string; headers: Record<string, string> } {
  const sourceName = example['x-leadline-source'];
  const source = testSources().get(sourceName);
  if (source === undefined) throw new Error(`example ${key} names unknown source ${sourceName}`);
  const extra = example['x-leadline-headers'] ?? {};
  const path = `/webhooks/${sourceName}`;
  const now = Date.now();
  if (source.scheme === 'lemlist') {
    // Lemlist "signs" by echoing the hook's secret in every activity: the example's placeholder.
    const withSecret = (activity: unknown) => ({ ...(activity as object), secret: TEST_SECRETS.lemlist });
    const value = Array.isArray(example.value) ? example.value.map(withSecret) : withSecret(example.value);
    return { path, body: JSON.stringify(value), headers: extra };
  }
  const body = JSON.stringify(example.value);
  switch (source.scheme) {
    case 'standard':
      return { path, body, headers: { ...extra, ...signStandard({ secret: TEST_SECRETS.website, id: `msg_${key}`, timestamp: Math.floor(now / 1000), body }) } };
    case 'hubspot-v3':
      return { path, body, headers: { ...extra, ...signHubspotV3({ secret: TEST_SECRETS.hubspot, url: `${BASE}${path}`, body, timestampMs: now }) } };
    case 'calendly':
      return { path, body, headers: { ...extra, ...signCalendly({ secret: TEST_SECRETS.calendly, body, t: Math.floor(now / 1000) }) } };
    case 'typeform':
      return { path, body, headers: { ...extra, ...signTypeform({ secret: TEST_SECRETS.typeform, body }) } };
    case 'moco':
      return { path, body, headers: { ...extra, ...signMoco({ secret: TEST_SECRETS.moco, body }) } };
    case 'url-token':
      return { path: `${path}/${TEST_SECRETS.rb2b}`, body, headers: extra };
  }
}

describe('OpenAPI document', () => {
  it('validates against the OpenAPI 3.1 schema', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(openApiDocument()));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents every route, a body per payload format and an example per scored event type', () => {
    expect(Object.keys(doc.paths).sort()).toEqual(['/healthz', '/imports', '/readyz', '/webhooks/{source}', '/webhooks/{source}/{token}']);
    const examples = examplesOf('/webhooks/{source}').map(([, example]) => example);
    const sources = new Set([...examples, ...examplesOf('/webhooks/{source}/{token}').map(([, e]) => e)].map((e) => e['x-leadline-source']));
    expect([...sources].sort()).toEqual(['calendly', 'hubspot', 'lemlist', 'moco', 'rb2b', 'typeform', 'website']);
    const nativeTypes = new Set(examples.map((e) => (e.value as { type?: string }).type).filter((type) => type !== undefined));
    for (const type of ['page.viewed', 'form.submitted', 'email.opened', 'email.clicked', 'email.replied', 'email.bounced', 'email.unsubscribed', 'linkedin.connected', 'linkedin.replied', 'lead.interested', 'lead.not_interested', 'webinar.registered', 'webinar.attended', 'content.downloaded', 'meeting.booked', 'meeting.canceled']) {
      expect(nativeTypes, type).toContain(type);
    }
  });

  it('every webhook example matches the documented body of its source\'s format', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: 'https://leadline.test/openapi.json', components: doc.components });
    const component = { native: 'NativeBody', hubspot: 'HubSpotBody', calendly: 'CalendlyBody', typeform: 'TypeformBody', lemlist: 'LemlistBody', moco: 'MocoBody' };
    const examples = [...examplesOf('/webhooks/{source}'), ...examplesOf('/webhooks/{source}/{token}')];
    for (const [key, example] of examples) {
      const format = testSources().get(example['x-leadline-source'])!.format;
      const validate = ajv.getSchema(`https://leadline.test/openapi.json#/components/schemas/${component[format]}`)!;
      expect(validate(example.value), `${key}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('its worked Standard Webhooks signature verifies with Leadline\'s own verifier', () => {
    const match = /webhook-signature: (v1,\S+)/.exec(doc.info.description);
    expect(match).not.toBeNull();
    const { secret, id, timestamp, body } = STANDARD_SIGNATURE_EXAMPLE;
    const headers = new Headers({ 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': match![1]! });
    const request = { method: 'POST', url: `${BASE}/webhooks/website`, headers, rawBody: new TextEncoder().encode(body) };
    expect(verifySignature('standard', request, secret, new Date(timestamp * 1000))).toEqual({ ok: true, deliveryId: id });
  });
});

describe('OpenAPI examples against the real endpoints', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.stop());

  const webhookExamples = [...examplesOf('/webhooks/{source}'), ...examplesOf('/webhooks/{source}/{token}')];

  it.each(webhookExamples)('example %s is accepted when signed', async (key, example) => {
    const delivery = signedDelivery(key, example);
    const res = await t.app.request(`${BASE}${delivery.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...delivery.headers },
      body: delivery.body,
    });
    const answer = (await res.json()) as { accepted: number; duplicates: number; ids: string[] };
    expect([200, 202], JSON.stringify(answer)).toContain(res.status);
    expect(res.headers.get('leadline-parked')).toBeNull();
    expect(answer.accepted + answer.duplicates).toBeGreaterThan(0);
  });

  it('the CSV import example is accepted', async () => {
    const [[, example]] = examplesOf('/imports', 'text/csv') as unknown as [[string, { value: string }]];
    const res = await t.app.request(`${BASE}/imports?source=fair-2026`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${IMPORT_TOKEN}` },
      body: example.value,
    });
    const summary = (await res.json()) as { accepted: number; rejected: number };
    expect(res.status).toBe(202);
    expect(summary).toMatchObject({ accepted: 2, rejected: 0 });
  });

  it('GET /openapi.json answers the document and GET /docs a reference page', async () => {
    const json = await t.app.request(`${BASE}/openapi.json`);
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    const page = await t.app.request(`${BASE}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('/openapi.json');
    expect(html).toContain('Leadline API reference');
  });
});
