import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { SignatureScheme, SignedRequest } from '../../src/http/signatures.ts';
import { SIGNATURE_SCHEMES, verifySignature } from '../../src/http/signatures.ts';
import { signCalendly, signHubspotV3, signMoco, signStandard, signTypeform } from '../support/signers.ts';

const NOW = new Date('2026-11-20T09:15:00.000Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const URL_HOOK = 'https://leadline.example/webhooks/hubspot?portal=62515';
const BODY = JSON.stringify({ type: 'form.submitted', lead: { email: 'ada@genomics-lab.example' } });

function request(input: {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  url?: string;
  method?: string;
  urlToken?: string;
}): SignedRequest {
  const body = input.body ?? BODY;
  return {
    method: input.method ?? 'POST',
    url: input.url ?? URL_HOOK,
    headers: new Headers(input.headers ?? {}),
    rawBody: typeof body === 'string' ? new TextEncoder().encode(body) : body,
    urlToken: input.urlToken,
  };
}

const verify = (scheme: SignatureScheme, req: SignedRequest, secret: string, now = NOW) =>
  verifySignature(scheme, req, secret, now);
const without = (headers: Record<string, string>, name: string) =>
  Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
const tampered = BODY.replace('ada@', 'eve@');
const VERIFIED = { ok: true, deliveryId: null };
const MISSING = { ok: false, reason: 'signature_missing' };
const INVALID = { ok: false, reason: 'signature_invalid' };
const STALE = { ok: false, reason: 'signature_stale' };

describe('standard (Standard Webhooks / Svix)', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const signed = (timestamp = NOW_S, body: string = BODY, key = secret) =>
    signStandard({ secret: key, id: 'msg_2Kx9', timestamp, body });

  it('accepts the published test vector and returns webhook-id as the delivery id', () => {
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const req = request({ headers, body: '{"test": 2432232314}' });
    expect(verify('standard', req, secret, new Date(1614265330_000))).toEqual({
      ok: true,
      deliveryId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    });
  });

  it('accepts a valid delivery, with or without the whsec_ prefix on the secret', () => {
    expect(verify('standard', request({ headers: signed() }), secret)).toEqual({
      ok: true,
      deliveryId: 'msg_2Kx9',
    });
    expect(verify('standard', request({ headers: signed() }), secret.slice('whsec_'.length)).ok).toBe(true);
  });

  it('agrees with the standardwebhooks package on a fresh delivery', () => {
    const nowS = Math.floor(Date.now() / 1000);
    const headers = signed(nowS);
    expect(() => new Webhook(secret).verify(BODY, headers)).not.toThrow();
    expect(verify('standard', request({ headers }), secret, new Date(nowS * 1000)).ok).toBe(true);
  });

  it('accepts any matching v1 entry of a space-separated list and skips other versions', () => {
    const good = signed()['webhook-signature']!;
    const headers = { ...signed(), 'webhook-signature': `v2,${good.slice(3)} v1,AAAA ${good}` };
    expect(verify('standard', request({ headers }), secret).ok).toBe(true);
  });

  it('accepts Svix-branded header names', () => {
    const headers = Object.fromEntries(
      Object.entries(signed()).map(([k, v]) => [k.replace('webhook-', 'svix-'), v]),
    );
    expect(verify('standard', request({ headers }), secret)).toEqual({ ok: true, deliveryId: 'msg_2Kx9' });
  });

  it('refuses a tampered body, a wrong secret and a changed webhook-id', () => {
    expect(verify('standard', request({ headers: signed(), body: tampered }), secret)).toEqual(INVALID);
    const other = 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==';
    expect(verify('standard', request({ headers: signed(NOW_S, BODY, other) }), secret)).toEqual(INVALID);
    expect(
      verify('standard', request({ headers: { ...signed(), 'webhook-id': 'msg_other' } }), secret),
    ).toEqual(INVALID);
  });

  it('verifies the raw bytes, not their text decoding', () => {
    const bytes = Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]); // {"a":"<0xff>"}
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const mac = createHmac('sha256', key).update(`msg_raw.${NOW_S}.`).update(bytes).digest('base64');
    const headers = {
      'webhook-id': 'msg_raw',
      'webhook-timestamp': String(NOW_S),
      'webhook-signature': `v1,${mac}`,
    };
    expect(verify('standard', request({ headers, body: bytes }), secret).ok).toBe(true);
    // 0xfe decodes to the same U+FFFD as 0xff; a text-based check would wrongly accept it.
    const swapped = Uint8Array.from(bytes.map((b) => (b === 0xff ? 0xfe : b)));
    expect(verify('standard', request({ headers, body: swapped }), secret)).toEqual(INVALID);
  });

  it('refuses timestamps more than 5 minutes old or ahead, and accepts the edges', () => {
    expect(verify('standard', request({ headers: signed(NOW_S - 301) }), secret)).toEqual(STALE);
    expect(verify('standard', request({ headers: signed(NOW_S + 301) }), secret)).toEqual(STALE);
    expect(verify('standard', request({ headers: signed(NOW_S - 300) }), secret).ok).toBe(true);
    expect(verify('standard', request({ headers: signed(NOW_S + 300) }), secret).ok).toBe(true);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('reports a missing %s', (name) => {
    expect(verify('standard', request({ headers: without(signed(), name) }), secret)).toEqual(MISSING);
    expect(verify('standard', request({ headers: { ...signed(), [name]: '  ' } }), secret)).toEqual(MISSING);
  });

  it.each([
    ['webhook-timestamp', 'yesterday'],
    ['webhook-timestamp', '1.7e9'],
    ['webhook-signature', 'garbage'],
    ['webhook-signature', 'v1'],
    ['webhook-signature', 'v1,'],
  ])('refuses a malformed %s (%s)', (name, value) => {
    expect(verify('standard', request({ headers: { ...signed(), [name]: value } }), secret)).toEqual(INVALID);
  });

  it('refuses everything when the configured secret is not base64', () => {
    expect(verify('standard', request({ headers: signed() }), 'whsec_not base64!')).toEqual(INVALID);
  });
});

describe('hubspot-v3', () => {
  const secret = 'hubspot-client-secret-7f3a';
  const signed = (input: { timestampMs?: number; url?: string; method?: string; key?: string } = {}) =>
    signHubspotV3({
      secret: input.key ?? secret,
      method: input.method ?? 'POST',
      url: input.url ?? URL_HOOK,
      body: BODY,
      timestampMs: input.timestampMs ?? NOW.getTime(),
    });

  it('accepts a valid delivery over method + full URL (with query) + body + timestamp', () => {
    expect(verify('hubspot-v3', request({ headers: signed() }), secret)).toEqual(VERIFIED);
  });

  it('accepts the URI with the escapes HubSpot decodes before signing', () => {
    const received = 'https://leadline.example/webhooks/hubspot?from=a%40b.example&at=09%3A15';
    const headers = signed({ url: 'https://leadline.example/webhooks/hubspot?from=a@b.example&at=09:15' });
    expect(verify('hubspot-v3', request({ headers, url: received }), secret)).toEqual(VERIFIED);
  });

  it('refuses a tampered body, wrong secret, other URL and other method', () => {
    expect(verify('hubspot-v3', request({ headers: signed(), body: tampered }), secret)).toEqual(INVALID);
    expect(verify('hubspot-v3', request({ headers: signed({ key: 'other' }) }), secret)).toEqual(INVALID);
    expect(verify('hubspot-v3', request({ headers: signed({ url: `${URL_HOOK}&x=1` }) }), secret)).toEqual(
      INVALID,
    );
    expect(verify('hubspot-v3', request({ headers: signed({ method: 'PUT' }) }), secret)).toEqual(INVALID);
  });

  it('refuses timestamps (ms) more than 5 minutes old or ahead', () => {
    const at = (offsetMs: number) => request({ headers: signed({ timestampMs: NOW.getTime() + offsetMs }) });
    expect(verify('hubspot-v3', at(-300_001), secret)).toEqual(STALE);
    expect(verify('hubspot-v3', at(300_001), secret)).toEqual(STALE);
    expect(verify('hubspot-v3', at(-300_000), secret)).toEqual(VERIFIED);
  });

  it.each(['x-hubspot-signature-v3', 'x-hubspot-request-timestamp'])('reports a missing %s', (name) => {
    expect(verify('hubspot-v3', request({ headers: without(signed(), name) }), secret)).toEqual(MISSING);
  });

  it.each([
    ['x-hubspot-request-timestamp', 'now'],
    ['x-hubspot-request-timestamp', '-5'],
    ['x-hubspot-signature-v3', 'not-base64-at-all'],
  ])('refuses a malformed %s (%s)', (name, value) => {
    expect(verify('hubspot-v3', request({ headers: { ...signed(), [name]: value } }), secret)).toEqual(
      INVALID,
    );
  });
});

describe('calendly', () => {
  const secret = 'calendly-signing-key-91b2';
  const signed = (t = NOW_S, key = secret) => signCalendly({ secret: key, body: BODY, t });
  const header = 'calendly-webhook-signature';

  it('accepts a valid delivery, in either hex case', () => {
    expect(verify('calendly', request({ headers: signed() }), secret)).toEqual(VERIFIED);
    const upper = {
      [header]: signed()[header]!.replace(/v1=(\w+)/, (_, hex: string) => `v1=${hex.toUpperCase()}`),
    };
    expect(verify('calendly', request({ headers: upper }), secret)).toEqual(VERIFIED);
  });

  it('refuses a tampered body, a wrong secret and a changed t', () => {
    expect(verify('calendly', request({ headers: signed(), body: tampered }), secret)).toEqual(INVALID);
    expect(verify('calendly', request({ headers: signed(NOW_S, 'other') }), secret)).toEqual(INVALID);
    const moved = { [header]: signed()[header]!.replace(`t=${NOW_S}`, `t=${NOW_S - 1}`) };
    expect(verify('calendly', request({ headers: moved }), secret)).toEqual(INVALID);
  });

  it('refuses t more than 5 minutes old or ahead', () => {
    expect(verify('calendly', request({ headers: signed(NOW_S - 301) }), secret)).toEqual(STALE);
    expect(verify('calendly', request({ headers: signed(NOW_S + 301) }), secret)).toEqual(STALE);
  });

  it('reports a missing header', () => {
    expect(verify('calendly', request({ headers: {} }), secret)).toEqual(MISSING);
  });

  it.each(['garbage', `t=${NOW_S}`, 'v1=abcdef', `t=soon,v1=${'a'.repeat(64)}`])(
    'refuses a malformed header (%s)',
    (value) => {
      expect(verify('calendly', request({ headers: { [header]: value } }), secret)).toEqual(INVALID);
    },
  );
});

describe('typeform', () => {
  const secret = 'typeform-secret-55c1';
  const signed = (key = secret) => signTypeform({ secret: key, body: BODY });

  it('accepts a valid delivery', () => {
    expect(verify('typeform', request({ headers: signed() }), secret)).toEqual(VERIFIED);
  });

  it('refuses a tampered body and a wrong secret', () => {
    expect(verify('typeform', request({ headers: signed(), body: tampered }), secret)).toEqual(INVALID);
    expect(verify('typeform', request({ headers: signed('other') }), secret)).toEqual(INVALID);
  });

  it('reports a missing header', () => {
    expect(verify('typeform', request({ headers: {} }), secret)).toEqual(MISSING);
  });

  it.each(['garbage', 'sha1=abc', 'sha256', 'sha256='])('refuses a malformed header (%s)', (value) => {
    expect(verify('typeform', request({ headers: { 'typeform-signature': value } }), secret)).toEqual(
      INVALID,
    );
  });
});

describe('moco', () => {
  const secret = '1d608b9d72219b90ff2393a1d3ee0ac0';

  it("accepts MOCO's documented example", () => {
    const headers = {
      'x-moco-signature': 'bf027a86207ef1ca1cb76f5a536b41a14287ab1a0fd5b33bfe86924bc2f48fd1',
    };
    const req = request({ headers, body: '{"id":111,"description":"a description"}' });
    expect(verify('moco', req, secret)).toEqual(VERIFIED);
    expect(signMoco({ secret, body: '{"id":111,"description":"a description"}' })).toEqual(headers);
  });

  it('accepts a valid delivery, in either hex case', () => {
    const headers = signMoco({ secret, body: BODY });
    expect(verify('moco', request({ headers }), secret)).toEqual(VERIFIED);
    const upper = { 'x-moco-signature': headers['x-moco-signature']!.toUpperCase() };
    expect(verify('moco', request({ headers: upper }), secret)).toEqual(VERIFIED);
  });

  it('refuses a tampered body and a wrong secret', () => {
    expect(
      verify('moco', request({ headers: signMoco({ secret, body: BODY }), body: tampered }), secret),
    ).toEqual(INVALID);
    expect(
      verify('moco', request({ headers: signMoco({ secret: 'f'.repeat(32), body: BODY }) }), secret),
    ).toEqual(INVALID);
  });

  it('reports a missing header and refuses a malformed one', () => {
    expect(verify('moco', request({ headers: {} }), secret)).toEqual(MISSING);
    for (const value of ['zz'.repeat(32), 'abc', `sha256=${'a'.repeat(64)}`]) {
      expect(verify('moco', request({ headers: { 'x-moco-signature': value } }), secret)).toEqual(INVALID);
    }
  });
});

describe('lemlist (secret echoed in the body)', () => {
  const secret = 'lemlist-shared-secret-0d9e';
  const activity = { _id: 'act_1', type: 'emailsOpened', leadEmail: 'marie@curie-lab.example' };
  const lemlist = (body: unknown) => verify('lemlist', request({ body: JSON.stringify(body) }), secret);

  it('accepts an activity, or a batch, carrying the configured secret', () => {
    expect(lemlist({ ...activity, secret })).toEqual(VERIFIED);
    expect(
      lemlist([
        { ...activity, secret },
        { ...activity, _id: 'act_2', secret },
      ]),
    ).toEqual(VERIFIED);
  });

  it('refuses a wrong or non-string secret', () => {
    expect(lemlist({ ...activity, secret: 'guess' })).toEqual(INVALID);
    expect(lemlist({ ...activity, secret: `${secret} ` })).toEqual(INVALID);
    expect(lemlist({ ...activity, secret: 42 })).toEqual(INVALID);
    expect(
      lemlist([
        { ...activity, secret },
        { ...activity, secret: 'guess' },
      ]),
    ).toEqual(INVALID);
  });

  it('reports a missing secret field, also on one activity of a batch', () => {
    expect(lemlist(activity)).toEqual(MISSING);
    expect(lemlist([{ ...activity, secret }, activity])).toEqual(MISSING);
    expect(lemlist([])).toEqual(MISSING);
  });

  it('refuses bodies that are not JSON objects', () => {
    expect(verify('lemlist', request({ body: '{"secret":' }), secret)).toEqual(INVALID);
    expect(verify('lemlist', request({ body: Uint8Array.from([0xff, 0xfe]) }), secret)).toEqual(INVALID);
    expect(lemlist('secret')).toEqual(INVALID);
    expect(lemlist(null)).toEqual(INVALID);
    expect(lemlist([secret])).toEqual(INVALID);
  });
});

describe('url-token', () => {
  const secret = 'rb2b-url-token-3e7f9a1c';

  it('accepts the configured token and refuses any other', () => {
    expect(verify('url-token', request({ urlToken: secret }), secret)).toEqual(VERIFIED);
    expect(verify('url-token', request({ urlToken: 'rb2b-url-token-3e7f9a1d' }), secret)).toEqual(INVALID);
    expect(verify('url-token', request({ urlToken: secret.slice(0, -1) }), secret)).toEqual(INVALID);
  });

  it('reports a missing token', () => {
    expect(verify('url-token', request({}), secret)).toEqual(MISSING);
    expect(verify('url-token', request({ urlToken: '' }), secret)).toEqual(MISSING);
  });
});

describe('verifySignature in general', () => {
  it('lists every scheme', () => {
    expect([...SIGNATURE_SCHEMES].sort()).toEqual(
      ['calendly', 'hubspot-v3', 'lemlist', 'moco', 'standard', 'typeform', 'url-token'].sort(),
    );
  });

  it('verifies nothing with an empty secret, even a delivery signed with one', () => {
    const headers = { ...signTypeform({ secret: '', body: BODY }), ...signMoco({ secret: '', body: BODY }) };
    for (const scheme of SIGNATURE_SCHEMES) {
      expect(verify(scheme, request({ headers, urlToken: '' }), '')).toEqual(INVALID);
    }
  });

  it('refuses unknown schemes, including inherited property names', () => {
    for (const scheme of ['nope', 'constructor', '__proto__']) {
      expect(verify(scheme as SignatureScheme, request({}), 'secret')).toEqual(INVALID);
    }
  });

  it('treats an invalid clock as stale rather than fresh', () => {
    const headers = signCalendly({ secret: 's', body: BODY, t: NOW_S });
    expect(verify('calendly', request({ headers }), 's', new Date(Number.NaN))).toEqual(STALE);
  });

  it('never throws, whatever the headers, body and secret', () => {
    const names = fc.constantFrom(
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
      'x-hubspot-signature-v3',
      'x-hubspot-request-timestamp',
      'calendly-webhook-signature',
      'typeform-signature',
      'x-moco-signature',
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...SIGNATURE_SCHEMES),
        fc.dictionary(names, fc.string()),
        fc.oneof(fc.string(), fc.json()),
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        (scheme, headers, body, secret, urlToken) => {
          const safeHeaders = Object.fromEntries(
            Object.entries(headers).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v)),
          );
          const result = verify(scheme, request({ headers: safeHeaders, body, urlToken }), secret);
          expect(typeof result.ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a broken request object instead of throwing', () => {
    const broken = {
      method: 'POST',
      url: URL_HOOK,
      headers: null,
      rawBody: null,
    } as unknown as SignedRequest;
    for (const scheme of SIGNATURE_SCHEMES) expect(verify(scheme, broken, 'secret').ok).toBe(false);
    expect(verify('typeform', broken, 'secret')).toEqual(INVALID);
  });
});
