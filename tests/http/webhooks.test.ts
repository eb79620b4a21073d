import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_SECRETS, type TestApp } from '../support/app.ts';
import { signCalendly, signHubspotV3, signMoco, signStandard, signTypeform } from '../support/signers.ts';

const BASE = 'http://leadline.test';

function nativeEvent(overrides: Record<string, unknown> = {}) {
  return {
    id: `evt_${Math.random().toString(36).slice(2)}`,
    type: 'form.submitted',
    occurred_at: '2026-11-20T09:15:00Z',
    lead: { email: 'ada.lovelace@genomics-lab.example', first_name: 'Ada', company: 'Genomics Lab' },
    metadata: { form_type: 'demo' },
    utm: { source: 'google', campaign: 'sequencing-q4' },
    ...overrides,
  };
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

interface Answer {
  accepted: number;
  duplicates: number;
  ids: string[];
  error?: string;
  issues?: { path: string; message: string }[];
}

const answerOf = (res: Response) => res.json() as Promise<Answer>;

interface Delivery {
  path: string;
  body: string;
  headers: Record<string, string>;
}

/** A valid, signed delivery per scheme, plus how to break it. */
const schemes: Record<string, { valid: () => Delivery; stale?: () => Delivery; missingHeader: string }> = {
  standard: {
    valid: () => {
      const body = JSON.stringify(nativeEvent());
      const id = `msg_${Math.random().toString(36).slice(2)}`;
      return {
        path: '/webhooks/website',
        body,
        headers: signStandard({ secret: TEST_SECRETS.website, id, timestamp: nowSeconds(), body }),
      };
    },
    stale: () => {
      const body = JSON.stringify(nativeEvent());
      return {
        path: '/webhooks/website',
        body,
        headers: signStandard({
          secret: TEST_SECRETS.website,
          id: 'msg_stale',
          timestamp: nowSeconds() - 600,
          body,
        }),
      };
    },
    missingHeader: 'webhook-signature',
  },
  'hubspot-v3': {
    valid: () => {
      const body = JSON.stringify([
        {
          eventId: Math.floor(Math.random() * 1e9),
          subscriptionId: 1,
          portalId: 42,
          occurredAt: Date.now(),
          subscriptionType: 'contact.creation',
          objectId: 1001,
        },
      ]);
      return {
        path: '/webhooks/hubspot',
        body,
        headers: signHubspotV3({
          secret: TEST_SECRETS.hubspot,
          method: 'POST',
          url: `${BASE}/webhooks/hubspot`,
          body,
          timestampMs: Date.now(),
        }),
      };
    },
    stale: () => {
      const body = JSON.stringify([
        {
          eventId: 5,
          subscriptionId: 1,
          portalId: 42,
          occurredAt: Date.now(),
          subscriptionType: 'contact.creation',
          objectId: 1001,
        },
      ]);
      return {
        path: '/webhooks/hubspot',
        body,
        headers: signHubspotV3({
          secret: TEST_SECRETS.hubspot,
          method: 'POST',
          url: `${BASE}/webhooks/hubspot`,
          body,
          timestampMs: Date.now() - 10 * 60_000,
        }),
      };
    },
    missingHeader: 'x-hubspot-signature-v3',
  },
  calendly: {
    valid: () => {
      const body = JSON.stringify({
        event: 'invitee.created',
        created_at: '2026-11-20T10:00:00.000000Z',
        payload: {
          email: `grace.${Math.random().toString(36).slice(2)}@biotech.example`,
          name: 'Grace Hopper',
          uri: `https://api.calendly.com/scheduled_events/E1/invitees/${Math.random().toString(36).slice(2)}`,
          status: 'active',
          scheduled_event: { name: 'Sequencing consultation', start_time: '2026-11-25T14:00:00Z' },
          questions_and_answers: [],
          tracking: { utm_source: 'newsletter' },
        },
      });
      return {
        path: '/webhooks/calendly',
        body,
        headers: signCalendly({ secret: TEST_SECRETS.calendly, body, t: nowSeconds() }),
      };
    },
    stale: () => {
      const body = JSON.stringify({ event: 'invitee.created', payload: { email: 'a@b.example', name: 'A' } });
      return {
        path: '/webhooks/calendly',
        body,
        headers: signCalendly({ secret: TEST_SECRETS.calendly, body, t: nowSeconds() - 900 }),
      };
    },
    missingHeader: 'calendly-webhook-signature',
  },
  typeform: {
    valid: () => {
      const body = JSON.stringify({
        event_id: `01H${Math.random().toString(36).slice(2)}`,
        event_type: 'form_response',
        form_response: {
          form_id: 'sample-request',
          token: Math.random().toString(36).slice(2),
          submitted_at: '2026-11-20T11:00:00Z',
          hidden: { form_type: 'sample_request' },
          answers: [
            {
              type: 'email',
              email: 'pi@university.example',
              field: { id: 'f1', ref: 'email', type: 'email' },
            },
          ],
        },
      });
      return {
        path: '/webhooks/typeform',
        body,
        headers: signTypeform({ secret: TEST_SECRETS.typeform, body }),
      };
    },
    missingHeader: 'typeform-signature',
  },
  moco: {
    valid: () => {
      const body = JSON.stringify({
        id: Math.floor(Math.random() * 1e6),
        firstname: 'Rosalind',
        lastname: 'Franklin',
        work_email: 'rosalind@structures.example',
      });
      return {
        path: '/webhooks/moco',
        body,
        headers: {
          ...signMoco({ secret: TEST_SECRETS.moco, body }),
          'x-moco-target': 'Contact',
          'x-moco-event': 'create',
        },
      };
    },
    missingHeader: 'x-moco-signature',
  },
};

describe('signed webhook intake', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.stop());
  afterEach(async () => {
    await t.db.reset();
    await t.db.pool.query(`DELETE FROM pgboss.job WHERE name = 'process-events'`);
  });

  const post = (delivery: Delivery) =>
    t.app.request(`${BASE}${delivery.path}`, {
      method: 'POST',
      body: delivery.body,
      headers: { 'content-type': 'application/json', ...delivery.headers },
    });

  for (const [scheme, make] of Object.entries(schemes)) {
    describe(scheme, () => {
      it('accepts a valid delivery with 202 after storing it and its job', async () => {
        const res = await post(make.valid());
        expect(res.status).toBe(202);
        const body = await answerOf(res);
        expect(body).toMatchObject({ accepted: 1, duplicates: 0 });
        expect(body.ids).toHaveLength(1);
        expect(await t.intakeRows()).toBe(1);
        expect(await t.queuedJobs()).toBe(1);
      });

      it('answers a repeated delivery 200 with the original id and stores nothing new', async () => {
        const delivery = make.valid();
        const first = await answerOf(await post(delivery));
        const again = await post(delivery);
        expect(again.status).toBe(200);
        expect(await answerOf(again)).toMatchObject({ accepted: 0, duplicates: 1, ids: first.ids });
        expect(await t.intakeRows()).toBe(1);
        expect(await t.queuedJobs()).toBe(1);
      });

      it('refuses a tampered body with 401 and stores nothing', async () => {
        const delivery = make.valid();
        const res = await post({ ...delivery, body: delivery.body.replace(/"[a-z]/, '"X') });
        expect(res.status).toBe(401);
        expect((await answerOf(res)).error).toBe('signature_invalid');
        expect(await t.intakeRows()).toBe(0);
      });

      it('refuses a missing signature header with 401', async () => {
        const delivery = make.valid();
        const headers = Object.fromEntries(
          Object.entries(delivery.headers).filter(([name]) => name.toLowerCase() !== make.missingHeader),
        );
        const res = await post({ ...delivery, headers });
        expect(res.status).toBe(401);
        expect((await answerOf(res)).error).toBe('signature_missing');
        expect(await t.intakeRows()).toBe(0);
      });

      if (make.stale !== undefined) {
        const stale = make.stale;
        it('refuses a timestamp outside the 5 minute window with 401', async () => {
          const res = await post(stale());
          expect(res.status).toBe(401);
          expect((await answerOf(res)).error).toBe('signature_stale');
          expect(await t.intakeRows()).toBe(0);
        });
      }
    });
  }

  it('refuses a delivery signed with another secret', async () => {
    const body = JSON.stringify(nativeEvent());
    const headers = signStandard({
      secret: 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==',
      id: 'msg_x',
      timestamp: nowSeconds(),
      body,
    });
    const res = await post({ path: '/webhooks/website', body, headers });
    expect(res.status).toBe(401);
    expect(await t.intakeRows()).toBe(0);
  });

  it('lemlist: accepts the echoed secret, refuses a wrong one, never stores the secret', async () => {
    const activity = {
      _id: 'act_1',
      type: 'emailsOpened',
      leadEmail: 'marie@curie-lab.example',
      secret: TEST_SECRETS.lemlist,
    };
    const ok = await post({ path: '/webhooks/lemlist', body: JSON.stringify(activity), headers: {} });
    expect(ok.status).toBe(202);
    const wrong = await post({
      path: '/webhooks/lemlist',
      body: JSON.stringify({ ...activity, _id: 'act_2', secret: 'guess' }),
      headers: {},
    });
    expect(wrong.status).toBe(401);
    const missing = await post({
      path: '/webhooks/lemlist',
      body: JSON.stringify({ ...activity, _id: 'act_3', secret: undefined }),
      headers: {},
    });
    expect(missing.status).toBe(401);
    const { rows } = await t.db.pool.query('SELECT payload::text AS p, event::text AS e FROM intake_events');
    expect(rows).toHaveLength(1);
    expect(rows[0].p + rows[0].e).not.toContain(TEST_SECRETS.lemlist);
  });

  it('url-token: accepts the secret in the path or query, refuses a wrong one', async () => {
    const body = JSON.stringify(nativeEvent({ type: 'page.visited', metadata: { url: '/pricing' } }));
    expect((await post({ path: `/webhooks/rb2b/${TEST_SECRETS.rb2b}`, body, headers: {} })).status).toBe(202);
    const other = JSON.stringify(nativeEvent({ type: 'page.visited' }));
    expect(
      (await post({ path: `/webhooks/rb2b?token=${TEST_SECRETS.rb2b}`, body: other, headers: {} })).status,
    ).toBe(202);
    expect(
      (await post({ path: '/webhooks/rb2b/not-the-token', body: JSON.stringify(nativeEvent()), headers: {} }))
        .status,
    ).toBe(401);
    expect(
      (await post({ path: '/webhooks/rb2b', body: JSON.stringify(nativeEvent()), headers: {} })).status,
    ).toBe(401);
    expect(await t.intakeRows()).toBe(2);
  });

  it('answers 404 for an unknown source and 503 for a source without a secret', async () => {
    const res = await post({ path: '/webhooks/nope', body: '{}', headers: {} });
    expect(res.status).toBe(404);
    expect((await answerOf(res)).error).toBe('unknown_source');
    const unconfigured = await post({ path: '/webhooks/unconfigured', body: '{}', headers: {} });
    expect(unconfigured.status).toBe(503);
    expect(unconfigured.headers.get('retry-after')).not.toBeNull();
  });

  it('answers 400 for half a surrogate pair, in a value or an id, and accepts whole pairs', async () => {
    const sign = (body: string, id: string) =>
      signStandard({ secret: TEST_SECRETS.website, id, timestamp: nowSeconds(), body });
    for (const [n, body] of [
      ['1', JSON.stringify(nativeEvent({ metadata: { note: 'x' } })).replace('"x"', '"\\ud800"')],
      ['2', JSON.stringify(nativeEvent({ id: 'evt_x' })).replace('evt_x', 'evt_\\udc00')],
    ] as const) {
      const res = await post({ path: '/webhooks/website', body, headers: sign(body, `msg_half_${n}`) });
      expect(res.status).toBe(400);
      expect((await answerOf(res)).error).toBe('invalid_payload');
    }
    const whole = JSON.stringify(nativeEvent({ metadata: { note: 'x' } })).replace('"x"', '"\\ud83e\\uddec \\\\ud800"');
    const res = await post({ path: '/webhooks/website', body: whole, headers: sign(whole, 'msg_whole') });
    expect(res.status).toBe(202);
    expect(await t.intakeRows()).toBe(1);
  });

  it('answers 413 for a body over 1 MiB and stores nothing', async () => {
    const body = JSON.stringify(nativeEvent({ metadata: { note: 'x'.repeat(1024 * 1024) } }));
    const headers = signStandard({
      secret: TEST_SECRETS.website,
      id: 'msg_big',
      timestamp: nowSeconds(),
      body,
    });
    const res = await post({ path: '/webhooks/website', body, headers });
    expect(res.status).toBe(413);
    expect(await t.intakeRows()).toBe(0);
  });

  it('answers 400 naming the field path of a schema violation', async () => {
    const body = JSON.stringify({
      events: [nativeEvent(), nativeEvent({ lead: { email: 'not-an-email' } })],
    });
    const headers = signStandard({
      secret: TEST_SECRETS.website,
      id: 'msg_bad',
      timestamp: nowSeconds(),
      body,
    });
    const res = await post({ path: '/webhooks/website', body, headers });
    expect(res.status).toBe(400);
    const answer = await answerOf(res);
    expect(answer.error).toBe('invalid_payload');
    expect((answer.issues ?? []).map((i: { path: string }) => i.path)).toContain('events.1.lead.email');
    expect(await t.intakeRows()).toBe(0);
  });

  it('answers 400 for NUL characters, which PostgreSQL cannot store, and stores nothing', async () => {
    const body = JSON.stringify(nativeEvent({ metadata: { note: 'a\u0000b' } }));
    const headers = signStandard({ secret: TEST_SECRETS.website, id: 'msg_nul', timestamp: nowSeconds(), body });
    const res = await post({ path: '/webhooks/website', body, headers });
    expect(res.status).toBe(400);
    expect((await answerOf(res)).error).toBe('invalid_payload');
    expect(await t.intakeRows()).toBe(0);
  });

  it('hubspot-v3: accepts a signature over the public https URL when Leadline sees http behind a proxy', async () => {
    const body = JSON.stringify([
      { eventId: 777, subscriptionId: 1, portalId: 42, occurredAt: Date.now(), subscriptionType: 'contact.creation', objectId: 9 },
    ]);
    const headers = signHubspotV3({
      secret: TEST_SECRETS.hubspot,
      method: 'POST',
      url: 'https://leadline.test/webhooks/hubspot',
      body,
      timestampMs: Date.now(),
    });
    expect((await post({ path: '/webhooks/hubspot', body, headers })).status).toBe(202);
  });

  it('answers 400 for malformed JSON', async () => {
    const body = '{"type": "form.submitted",';
    const headers = signStandard({
      secret: TEST_SECRETS.website,
      id: 'msg_json',
      timestamp: nowSeconds(),
      body,
    });
    const res = await post({ path: '/webhooks/website', body, headers });
    expect(res.status).toBe(400);
    expect((await answerOf(res)).error).toBe('invalid_json');
  });

  it('stores a batch of 1,000 events with one row and one job each', async () => {
    const events = Array.from({ length: 1000 }, (_, i) => nativeEvent({ id: `batch_${i}` }));
    const body = JSON.stringify({ events });
    const headers = signStandard({
      secret: TEST_SECRETS.website,
      id: 'msg_batch',
      timestamp: nowSeconds(),
      body,
    });
    const res = await post({ path: '/webhooks/website', body, headers });
    expect(res.status).toBe(202);
    expect((await answerOf(res)).accepted).toBe(1000);
    expect(await t.intakeRows()).toBe(1000);
    expect(await t.queuedJobs()).toBe(1000);
  });

  it('keeps one row and one job for 200 concurrent deliveries of one event id', async () => {
    const body = JSON.stringify(nativeEvent({ id: 'evt_storm' }));
    const headers = signStandard({
      secret: TEST_SECRETS.website,
      id: 'msg_storm',
      timestamp: nowSeconds(),
      body,
    });
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => post({ path: '/webhooks/website', body, headers })),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(199);
    const ids = new Set(await Promise.all(answers.map(async (r) => (await answerOf(r)).ids[0])));
    expect(ids.size).toBe(1);
    expect(await t.intakeRows()).toBe(1);
    expect(await t.queuedJobs()).toBe(1);
  });
});
