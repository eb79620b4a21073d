import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { createTestDatabase, type TestDatabase, waitFor } from '../support/db.ts';
import { TEST_RULES_YAML, testRuleset } from '../support/engine-fixtures.ts';
import { signStandard } from '../support/signers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('Leadline end to end (HTTP server + workers on one database)', () => {
  let db: TestDatabase;
  let runtime: Runtime;

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = {
      ...loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1' }),
      dataDir: '/nonexistent',
    };
    runtime = await startRuntime({
      config,
      ruleset: testRuleset(),
      rulesetText: TEST_RULES_YAML,
      log: createLogger('silent'),
      schedules: false,
    });
  });
  afterAll(async () => {
    await runtime.stop();
    await db.drop();
  });

  it('answers health and readiness', async () => {
    expect((await fetch(`${runtime.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${runtime.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'ok', queue: 'ok' });
  });

  it('turns a signed webhook into a scored lead through the job queue', async () => {
    const body = JSON.stringify({
      events: [
        {
          id: 'e2e-1',
          type: 'form.submitted',
          lead: { email: 'e2e@lab.example', first_name: 'Eve' },
          metadata: { form_type: 'demo' },
        },
        {
          id: 'e2e-2',
          type: 'page.viewed',
          lead: { email: 'e2e@lab.example' },
          metadata: { url: '/pricing' },
        },
      ],
    });
    const headers = signStandard({
      secret: SECRET,
      id: 'msg-e2e',
      timestamp: Math.floor(Date.now() / 1000),
      body,
    });
    const res = await fetch(`${runtime.url}/webhooks/website`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
    expect(res.status).toBe(202);
    const lead = await waitFor(async () => {
      const { rows } = await db.pool.query(
        `SELECT score, grade, primary_intent, first_name FROM leads WHERE email = 'e2e@lab.example'`,
      );
      return rows[0]?.score === 40 ? rows[0] : undefined;
    });
    expect(lead).toEqual({ score: 40, grade: 'C', primary_intent: 'b2b', first_name: 'Eve' });
    // The demo request can alert on its own: it went down the urgent lane, the page view did not.
    const { rows: lanes } = await db.pool.query(
      `SELECT e.external_id, j.name FROM pgboss.job j JOIN intake_events e ON e.id::text = j.data->>'eventId'
       WHERE e.external_id LIKE 'e2e-%' ORDER BY e.external_id`,
    );
    expect(lanes).toEqual([
      { external_id: 'e2e-1', name: 'process-events-urgent' },
      { external_id: 'e2e-2', name: 'process-events' },
    ]);
  });

  it('counts webhooks and processed events on /metrics', async () => {
    const res = await fetch(`${runtime.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('leadline_webhooks_total{source="website",outcome="accepted"} 1');
    expect(text).toMatch(/leadline_events_processed_total \d+/);
  });

  it('records the ruleset text the process runs with', async () => {
    const { rows } = await db.pool.query('SELECT version, body FROM rulesets');
    expect(rows).toEqual([{ version: 'test-rules', body: TEST_RULES_YAML }]);
  });
});

describe('a worker process given LEADLINE_WORKER_PORT', () => {
  let db: TestDatabase;
  let runtime: Runtime;
  beforeAll(async () => {
    db = await createTestDatabase();
    const config = { ...loadConfig({ DATABASE_URL: db.url, LEADLINE_ROLE: 'worker', LEADLINE_WORKER_PORT: '0', HOST: '127.0.0.1' }), dataDir: '/nonexistent' };
    runtime = await startRuntime({ config, ruleset: testRuleset(), rulesetText: TEST_RULES_YAML, log: createLogger('silent'), schedules: false });
  });
  afterAll(async () => {
    await runtime.stop();
    await db.drop();
  });

  it('serves its health, readiness and its own metrics, queue gauges included', async () => {
    expect(runtime.url).not.toBeNull();
    expect((await fetch(`${runtime.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${runtime.url}/readyz`)).json()).toEqual({ status: 'ready', database: 'ok', queue: 'ok' });
    // A queue no worker takes, so the job is still waiting when the metrics are read.
    await runtime.boss.createQueue('metrics-probe');
    await runtime.boss.send('metrics-probe', {});
    const text = await (await fetch(`${runtime.url}/metrics`)).text();
    expect(text).toContain(`leadline_ruleset_info{version="${testRuleset().version}"} 1`);
    expect(text).toContain('leadline_queue_depth{queue="metrics-probe"} 1');
    expect(text).toMatch(/leadline_queue_oldest_job_seconds\{queue="metrics-probe"\} \d/);
    expect(text).toContain('leadline_process_cpu_user_seconds_total');
    // Not the web's routes: a worker takes no webhooks.
    expect((await fetch(`${runtime.url}/webhooks/website`, { method: 'POST', body: '{}' })).status).toBe(404);
  });
});
