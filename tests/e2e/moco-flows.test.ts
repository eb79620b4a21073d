import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { createTestDatabase, type TestDatabase, waitFor } from '../support/db.ts';
import { testRuleset } from '../support/engine-fixtures.ts';
import { type FakeMoco, startFakeMoco } from '../support/fake-moco.ts';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.ts';
import { LEAD_DESK_YAML, USERS } from '../support/lead-desk.ts';
import { SIGNING_SECRET } from '../support/slack-harness.ts';
import { blockActionsBody, signSlackRequest } from '../support/slack-signer.ts';
import { signMoco, signStandard } from '../support/signers.ts';

const WEBSITE_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MOCO_SECRET = '0123456789abcdef0123456789abcdef';
const RULES = `${LEAD_DESK_YAML.replace(
  '  - { name: website, scheme: standard, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }',
  `  - { name: website, scheme: standard, secret: ${WEBSITE_SECRET} }\n  - { name: moco, scheme: moco, secret: ${MOCO_SECRET} }`,
)
  .replace('  hot_threshold: hot', '  hot_threshold: hot\n  deals_channel: C0DEALS001')
  .replace(`name: Anna, role: rep }`, `name: Anna, role: rep, email: anna@leadline.example }`)}
moco: { on_won: offer, tax: 19, due_days: 30 }
`;
const ADA = 'ada@genomics-lab.example';

/**
 * The MOCO loop as a workspace lives it, through the running product: signed webhooks in, the job
 * queue, the sync against a fake MOCO, Slack's side on a fake Slack. Every outcome lands in the
 * hot lead's alert thread, and MOCO's repeated and reordered webhooks post nothing twice.
 */
describe('MOCO flows end to end', () => {
  let db: TestDatabase;
  let runtime: Runtime;
  let slack: FakeSlack;
  let moco: FakeMoco;

  beforeAll(async () => {
    db = await createTestDatabase();
    slack = await startFakeSlack();
    moco = await startFakeMoco({ rateLimit: null });
    moco.seed('users', { firstname: 'Anna', lastname: 'Becker', email: 'anna@leadline.example' });
    const env = {
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.baseUrl,
      SLACK_BOT_USER_ID: 'U0LEADBOT',
      MOCO_API_KEY: moco.apiKey,
      MOCO_API_URL: moco.baseUrl,
    };
    runtime = await startRuntime({
      config: { ...loadConfig(env), dataDir: '/nonexistent' },
      ruleset: testRuleset(RULES),
      rulesetText: RULES,
      log: createLogger('silent'),
      env,
      schedules: false,
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await moco?.close();
    await slack?.close();
    await db?.drop();
  });

  const website = async (id: string, events: unknown[]) => {
    const body = JSON.stringify({ events });
    const headers = signStandard({ secret: WEBSITE_SECRET, id, timestamp: Math.floor(Date.now() / 1000), body });
    const res = await fetch(`${runtime.url}/webhooks/website`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    expect(res.status).toBe(202);
  };
  const mocoHook = async (target: string, event: string, entity: object, at: number) => {
    const body = JSON.stringify(entity);
    const headers = { 'x-moco-target': target, 'x-moco-event': event, 'x-moco-timestamp': String(at), ...signMoco({ secret: MOCO_SECRET, body }) };
    const res = await fetch(`${runtime.url}/webhooks/moco`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    // A repeated delivery is answered 200 (already stored), a new one 202.
    expect([200, 202]).toContain(res.status);
  };
  const threadTexts = (ts: string) =>
    slack
      .succeeded('chat.postMessage')
      .filter((call) => call.body['thread_ts'] === ts)
      .map((call) => String(call.body['text']));
  const waitForThread = (ts: string, count: number) =>
    waitFor(async () => {
      const texts = threadTexts(ts);
      return texts.length >= count ? texts : undefined;
    });

  it('posts won, synced, accepted, invoiced and paid in the alert’s thread, once each', async () => {
    const demo = { type: 'form.submitted', lead: { email: ADA, first_name: 'Ada', last_name: 'Lovelace', company: 'Genomics Lab' }, metadata: { form_type: 'demo' } };
    await website('msg-1', [{ id: 'w-1', ...demo }, { id: 'w-2', type: 'page.viewed', lead: { email: ADA }, metadata: { url: '/pricing' } }]);
    const alert = await waitFor(async () => slack.messages('C0HOTLEAD1')[0]);
    await waitFor(async () => ((await db.pool.query(`SELECT 1 FROM deals WHERE owner_member_id = 'anna'`)).rowCount === 1 ? true : undefined));

    // Won on the website's side: the deal closes, MOCO gets customer, contact, deal and offer.
    await website('msg-2', [{ id: 'w-3', type: 'deal.won', lead: { email: ADA }, metadata: { amount: 12000, currency: 'EUR' } }]);
    expect(await waitForThread(alert.ts, 2)).toEqual([
      expect.stringContaining('Won: Ada Lovelace'),
      'Won — customer, contact, deal and offer created in MOCO: Ada Lovelace',
    ]);
    const [mocoDeal] = moco.records('deals');
    const [offer] = moco.records('offers');
    const person = moco.records('people')[0]!;

    // MOCO: the offer accepted (twice, as MOCO retries), a repeat of the deal's own "won".
    const contact = { id: person['id'], firstname: 'Ada', lastname: 'Lovelace' };
    const accepted = { id: offer!['id'], title: offer!['title'], status: 'accepted', contact, deal: { id: mocoDeal!['id'] } };
    await mocoHook('Offer', 'update', accepted, Date.now());
    await mocoHook('Offer', 'update', accepted, Date.now());
    await mocoHook('Deal', 'update', { id: mocoDeal!['id'], name: mocoDeal!['name'], status: 'won', money: 12000, person: contact }, Date.now());
    expect((await waitForThread(alert.ts, 3))[2]).toBe('🤝 Ada Lovelace accepted the offer in MOCO (12,000 EUR).');

    // A manager turns the offer into an invoice from Slack.
    const [dealRow] = (await db.pool.query<{ id: number }>('SELECT id FROM deals')).rows;
    const click = blockActionsBody({ userId: USERS.lena, actionId: 'moco.invoice', value: String(dealRow!.id), messageTs: alert.ts, channelId: alert.channel });
    const clicked = await fetch(`${runtime.url}/slack/events`, {
      method: 'POST',
      body: click,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...signSlackRequest({ signingSecret: SIGNING_SECRET, body: click, timestamp: Math.floor(Date.now() / 1000) }) },
    });
    expect(clicked.status).toBe(200);
    const invoice = await waitFor(async () => moco.records('invoices')[0]);

    // Payments: one repeated, one reported after an older report of itself, one for an invoice
    // Leadline does not hold (a hand-made invoice in MOCO) — none of them fails or posts twice.
    const payment = (id: number, total: number) => ({ id, date: '2026-12-01', paid_total: total, currency: 'EUR', invoice: { id: invoice['id'], identifier: invoice['identifier'], title: invoice['title'] } });
    const t = Date.now();
    await mocoHook('Invoice::Payment', 'create', payment(501, 5000), t);
    await waitFor(async () => (threadTexts(alert.ts).some((text) => text.includes('5,000 EUR paid')) ? true : undefined));
    await mocoHook('Invoice::Payment', 'create', payment(501, 5000), t);
    await mocoHook('Invoice::Payment', 'update', payment(502, 9280), t + 2);
    await mocoHook('Invoice::Payment', 'create', payment(502, 9000), t + 1);
    await mocoHook('Invoice::Payment', 'create', { ...payment(503, 100), invoice: { id: 999_999 } }, t);
    const texts = await waitFor(async () => {
      const all = threadTexts(alert.ts);
      return all.some((text) => text.includes('14,280 EUR paid')) ? all : undefined;
    });
    // The two reports of payment 502 are separate deliveries, processed by separate jobs in either
    // order: when the older one (9,000) happens to go first it is the newest Leadline knows and is
    // posted; once the newer one is in, the older changes nothing. Never the older one last.
    const posted = texts.filter((text) => text.startsWith('💶'));
    const paid = (total: string) => `💶 Payment recorded in MOCO for Ada Lovelace: ${total} EUR paid of 12,000 EUR (2026-12-01).`;
    expect([
      [paid('5,000'), paid('14,280')],
      [paid('5,000'), paid('14,000'), paid('14,280')],
    ]).toContainEqual(posted);
    expect(texts.filter((text) => text.startsWith('🤝'))).toHaveLength(1);
    const { rows } = await db.pool.query('SELECT paid_amount::float8 AS paid, paid_at IS NOT NULL AS paid_at FROM deals');
    expect(rows).toEqual([{ paid: 14280, paid_at: true }]);
    // Nothing went to the deals channel: the thread is where this deal lives.
    expect(slack.messages('C0DEALS001')).toEqual([]);
    expect(slack.violations()).toEqual([]);

    // Every metric family the flow touched has moved in this process's registry.
    const metrics = await (await fetch(`${runtime.url}/metrics`)).text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0);
    expect(value('leadline_webhooks_total{source="website",outcome="accepted"}')).toBe(2);
    expect(value('leadline_webhooks_total{source="moco",outcome="accepted"}')).toBeGreaterThanOrEqual(5);
    expect(value('leadline_intake_seconds_count{source="website"}')).toBe(2);
    expect(value('leadline_events_processed_total')).toBeGreaterThanOrEqual(3);
    expect(value('leadline_event_processed_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(value('leadline_leads_created_total')).toBe(1);
    expect(value('leadline_engine_decisions_total{kind="routed"}')).toBe(1);
    expect(value('leadline_engine_decisions_total{kind="lead_changed"}')).toBeGreaterThan(0);
    expect(value('leadline_job_seconds_count{job="process-events-urgent"}') + value('leadline_job_seconds_count{job="process-events"}')).toBeGreaterThan(0);
    expect(value('leadline_slack_deliveries_total{outcome="sent"}')).toBeGreaterThanOrEqual(6);
    expect(value('leadline_moco_calls_total{outcome="ok"}')).toBeGreaterThanOrEqual(5);
    expect(value('leadline_slack_outbox_messages{state="dead"}')).toBe(0);
  });
});
