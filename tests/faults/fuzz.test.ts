import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.ts';
import { signCalendly, signHubspotV3, signMoco, signStandard, signTypeform } from '../support/signers.ts';
import { FORM, signSlackRequest } from '../support/slack-signer.ts';
import { type LeadlineProcess, startProcess, WEBSITE_SECRET } from './support/cluster.ts';
import { report } from './support/report.ts';

const RUNS = Number(process.env['FAULTS_FUZZ_RUNS'] ?? 100_000);
const CHUNK = 1_000;
const CONCURRENCY = 16;
const SECRETS = {
  hubspot: 'hubspot-client-secret-fuzz-7f3a',
  calendly: 'calendly-signing-key-fuzz-91b2',
  typeform: 'typeform-secret-fuzz-55c1',
  lemlist: 'lemlist-shared-secret-fuzz-0d9e',
  moco: '0123456789abcdef0123456789abcdef',
  rb2b: 'rb2b-url-token-fuzz-3e7f9a1c',
  slack: 'leadline-fuzz-signing-secret-0001',
  imports: 'leadline-fuzz-import-token-0001',
};

interface Fuzzed {
  edge: 'webhooks' | 'imports' | 'slack';
  path: string;
  body: string;
  headers: Record<string, string>;
  /** A 1,000-event batch with one bad item: must be refused whole. */
  poisonedBatch?: string;
}

/**
 * 100,000 seeded bodies against a real `web` process started like `npm start`, across every edge a
 * sender reaches: /webhooks/* (all seven sources), /imports and /slack/events, correctly signed and
 * not. Only 2xx/4xx answers, the process never exits, nothing is stored half.
 */
describe('fuzzing a running web process', () => {
  let db: TestDatabase;
  let slack: FakeSlack;
  let dir: string;
  let web: LeadlineProcess;
  beforeAll(async () => {
    db = await createTestDatabase();
    slack = await startFakeSlack();
    dir = await mkdtemp(path.join(tmpdir(), 'leadline-fuzz-'));
    web = await startProcess('web', {
      DATABASE_URL: db.url,
      LEADLINE_DATA_DIR: dir,
      LEADLINE_SECRET_WEBSITE: WEBSITE_SECRET,
      HUBSPOT_CLIENT_SECRET: SECRETS.hubspot,
      CALENDLY_SIGNING_KEY: SECRETS.calendly,
      TYPEFORM_SECRET: SECRETS.typeform,
      LEMLIST_SECRET: SECRETS.lemlist,
      MOCO_WEBHOOK_SECRET: SECRETS.moco,
      RB2B_URL_TOKEN: SECRETS.rb2b,
      LEADLINE_IMPORT_TOKEN: SECRETS.imports,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRETS.slack,
      SLACK_API_URL: slack.baseUrl,
      SLACK_BOT_USER_ID: 'U0LEADBOT',
    });
  }, 120_000);
  afterAll(async () => {
    await web?.kill('SIGKILL');
    await slack.close();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it(`answers ${RUNS.toLocaleString('en')} fuzzed requests with 2xx/4xx and keeps serving`, async () => {
    const started = performance.now();
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const statuses = new Map<string, number>();
    const serverErrors: string[] = [];
    const poisoned: { id: string; status: number }[] = [];
    let signed = 0;
    const arbitrary = fuzzedRequest(web.url!);
    for (let chunk = 0; chunk * CHUNK < RUNS; chunk += 1) {
      const requests = fc.sample(arbitrary, { seed: 20261203 + chunk, numRuns: Math.min(CHUNK, RUNS - chunk * CHUNK) });
      let next = 0;
      const lane = async () => {
        while (next < requests.length) {
          const fuzzed = requests[next++]!;
          if (fuzzed.headers['x-fuzz-signed'] === '1') signed += 1;
          const status = await send(web.url!, fuzzed, agent);
          const key = `${fuzzed.edge} ${status}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          if (status >= 500 || status === 0) serverErrors.push(`${fuzzed.path.slice(0, 100)} ${status}: ${fuzzed.body.slice(0, 160)}`);
          if (fuzzed.poisonedBatch !== undefined) poisoned.push({ id: fuzzed.poisonedBatch, status });
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
      expect(web.child.exitCode, 'the web process exited').toBeNull();
    }
    agent.destroy();
    const stored = await db.pool.query<{ rows: number; without_job: number; poisoned: number }>(
      `SELECT count(*)::int AS rows, count(*) FILTER (WHERE j.id IS NULL)::int AS without_job,
         count(*) FILTER (WHERE e.external_id LIKE 'poisoned-%')::int AS poisoned
       FROM intake_events e LEFT JOIN pgboss.job j ON j.id = e.id`,
    );
    const parked = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM invalid_deliveries`);
    const ready = await fetch(`${web.url}/readyz`);
    report('fuzzed requests to a running web process', {
      requests: RUNS,
      'correctly signed or authorised': signed,
      'answers by edge and status': [...statuses].sort().map(([k, n]) => `${k}: ${n}`).join(', '),
      '5xx or dropped answers': serverErrors.length,
      '1,000-event batches with one bad item / refused whole': `${poisoned.length} / ${poisoned.filter((p) => p.status === 400).length}`,
      'rows stored / without their job / from poisoned batches': `${stored.rows[0]!.rows} / ${stored.rows[0]!.without_job} / ${stored.rows[0]!.poisoned}`,
      'deliveries parked (rb2b, on_invalid: park)': parked.rows[0]!.n,
      'process exits': web.child.exitCode === null ? 0 : 1,
      seconds: ((performance.now() - started) / 1_000).toFixed(1),
    });
    expect(serverErrors.slice(0, 5)).toEqual([]);
    expect(poisoned.length).toBeGreaterThan(0);
    expect(poisoned.filter((p) => p.status !== 400)).toEqual([]);
    expect(stored.rows[0]!.without_job).toBe(0);
    expect(stored.rows[0]!.poisoned).toBe(0);
    expect(stored.rows[0]!.rows).toBeGreaterThan(0);
    expect(ready.status).toBe(200);
  }, 300_000);
});

function send(baseUrl: string, fuzzed: Fuzzed, agent: Agent): Promise<number> {
  const { 'x-fuzz-signed': _signed, ...headers } = fuzzed.headers;
  return new Promise((resolve) => {
    const req = request(`${baseUrl}${fuzzed.path}`, { method: 'POST', agent, headers, timeout: 15_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(fuzzed.body);
  });
}

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('\u0000', '\ud800', '\udfff', '%ED%A0%80', '%ZZ', '__proto__', 'constructor', '<script>', 'x'.repeat(20_000), '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z'),
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 5 }), fc.constant({ ['__proto__']: { polluted: 1 } }), hostileString);
const goodEvent = (n: number) => ({ id: `e-${n}`, type: 'page.viewed', lead: { email: `v${n}@lab.example` } });

const jsonBody = fc.oneof(
  { weight: 3, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? 'null') },
  {
    weight: 3,
    arbitrary: fc
      .record(
        { type: fc.constantFrom('form.submitted', 'page.viewed', 'meeting.booked'), lead: fc.oneof(fc.record({ email: fc.oneof(fc.emailAddress(), hostileString) }), anyJson), occurred_at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), hostileString), metadata: anyJson },
        { requiredKeys: ['type'] },
      )
      .map((v) => JSON.stringify(v)),
  },
  // Readable events carrying hostile values where senders put free text.
  {
    weight: 3,
    arbitrary: fc
      .record({ id: fc.uuid(), type: fc.constantFrom('page.viewed', 'form.submitted'), lead: fc.record({ email: fc.emailAddress(), first_name: hostileString, company: hostileString }), metadata: fc.dictionary(fc.string({ maxLength: 10 }), hostileString, { maxKeys: 4 }) })
      .map((v) => JSON.stringify(v)),
  },
  { weight: 1, arbitrary: fc.nat({ max: 60_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)) },
  // A real body cut short anywhere.
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat({ max: 1_000 })).map(([n, cut]) => JSON.stringify({ events: [goodEvent(n), goodEvent(n + 1)] }).slice(0, cut % 90)) },
);

// A 1,000-event batch, every event valid but one.
const poisonedBatch = fc.tuple(fc.nat({ max: 999 }), anyJson, fc.nat()).map(([at, bad, n]) => {
  const events: unknown[] = Array.from({ length: 1_000 }, (_, i) => ({ ...goodEvent(i), id: `poisoned-${n}-${i}` }));
  events[at] = { id: `poisoned-${n}-${at}`, type: 'page.viewed', lead: typeof bad === 'object' && bad !== null ? bad : { email: bad } };
  return { body: JSON.stringify({ events }), id: `poisoned-${n}` };
});

// Percent-encodes the UTF-8 bytes (encodeURIComponent throws on a lone surrogate); a few raw
// sequences no encoder writes, such as an encoded surrogate, are in the strings already.
const pct = (text: string) => [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

let sequence = 0;
function webhookHeaders(source: string, body: string, baseUrl: string): Record<string, string> {
  sequence += 1;
  const now = Math.floor(Date.now() / 1000);
  switch (source) {
    case 'website': return signStandard({ secret: WEBSITE_SECRET, id: `fuzz-${sequence}`, timestamp: now, body });
    case 'hubspot': return signHubspotV3({ secret: SECRETS.hubspot, url: `${baseUrl}/webhooks/hubspot`, body, timestampMs: Date.now() });
    case 'calendly': return signCalendly({ secret: SECRETS.calendly, body, t: now });
    case 'typeform': return signTypeform({ secret: SECRETS.typeform, body });
    case 'moco': return { ...signMoco({ secret: SECRETS.moco, body }), 'x-moco-target': 'Deal', 'x-moco-event': 'update' };
    default: return {};
  }
}

function fuzzedRequest(baseUrl: string): fc.Arbitrary<Fuzzed> {
  const source = fc.constantFrom('website', 'hubspot', 'calendly', 'typeform', 'lemlist', 'moco', 'rb2b');
  const webhook = fc.tuple(source, fc.oneof({ weight: 20, arbitrary: jsonBody.map((body) => ({ body, id: undefined })) }, { weight: 1, arbitrary: poisonedBatch }), fc.boolean()).map(([name, { body, id }, sign]): Fuzzed => {
    const signedHeaders = sign ? webhookHeaders(name, body, baseUrl) : {};
    const target = name === 'rb2b' && sign ? `/webhooks/rb2b/${SECRETS.rb2b}` : `/webhooks/${name}`;
    const lemlistBody = name === 'lemlist' && sign ? body.replace(/^\{/, `{"secret":${JSON.stringify(SECRETS.lemlist)},`) : body;
    // Only a website batch is both signed and readable, so only it shows the all-or-nothing rule.
    const poisoned = id !== undefined && sign && name === 'website' ? id : undefined;
    return { edge: 'webhooks', path: target, body: lemlistBody, headers: { 'content-type': 'application/json', ...signedHeaders, 'x-fuzz-signed': sign ? '1' : '0' }, ...(poisoned === undefined ? {} : { poisonedBatch: poisoned }) };
  });
  const column = fc.oneof(fc.constantFrom('email', 'first_name', 'company', 'occurred_at', '__proto__', 'constructor', 'hasOwnProperty', ''), hostileString);
  const cell = fc.oneof(fc.emailAddress(), hostileString, fc.constantFrom('"', '""', '"unterminated', '2026-12-03', '99999-01-01'));
  const csv = fc.tuple(fc.array(column, { minLength: 1, maxLength: 6 }), fc.array(fc.array(cell, { maxLength: 7 }), { maxLength: 30 }), fc.boolean(), fc.constantFrom('text/csv', 'application/json', 'text/plain', 'multipart/form-data'), fc.oneof(fc.constant('csv'), hostileString)).map(([header, rows, authorised, type, src]): Fuzzed => ({
    edge: 'imports',
    // Kept under Node's 16 KiB header limit: a longer URL is answered 431 by Node before Leadline.
    path: `/imports?source=${pct(src.slice(0, 1_000))}`,
    body: [header.join(','), ...rows.map((r) => r.join(','))].join('\n'),
    headers: { 'content-type': type, ...(authorised ? { authorization: `Bearer ${SECRETS.imports}` } : {}), 'x-fuzz-signed': authorised ? '1' : '0' },
  }));
  const slackPayload = fc.oneof(
    anyJson.map((v) => JSON.stringify(v) ?? 'null'),
    fc.record({ type: fc.constantFrom('block_actions', 'view_submission', 'event_callback', 'shortcut', 'url_verification', 'view_closed'), user: anyJson, actions: anyJson, view: anyJson, event: anyJson, challenge: anyJson, channel: anyJson }, { requiredKeys: ['type'] }).map((v) => JSON.stringify(v)),
  );
  const slack = fc.tuple(slackPayload, fc.constantFrom('json', 'payload', 'command', 'raw'), fc.boolean(), fc.string({ maxLength: 60 })).map(([payload, shape, sign, text]): Fuzzed => {
    const body = shape === 'json' ? payload : shape === 'payload' ? `payload=${pct(payload)}` : shape === 'command' ? `command=${pct('/lead')}&text=${pct(text)}&user_id=U0FUZZ&team_id=T0FUZZ&response_url=${pct('http://127.0.0.1:9/hook')}` : text;
    const headers = sign ? signSlackRequest({ signingSecret: SECRETS.slack, body, timestamp: Math.floor(Date.now() / 1000) }) : {};
    return { edge: 'slack', path: '/slack/events', body, headers: { 'content-type': shape === 'json' ? 'application/json' : FORM, ...headers, 'x-fuzz-signed': sign ? '1' : '0' } };
  });
  return fc.oneof({ weight: 14, arbitrary: webhook }, { weight: 3, arbitrary: csv }, { weight: 3, arbitrary: slack });
}
