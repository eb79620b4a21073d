import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { waitFor } from '../support/db.ts';
import { type LeadlineProcess, sendLoad, startProcess, WEBSITE_SECRET } from './support/cluster.ts';
import { report } from './support/report.ts';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.ts';

/**
 * PostgreSQL stopped for 10 s while webhooks arrive, with a `web` and a `worker` process running
 * as `npm start` would: meanwhile 503 with Retry-After, no request hangs, every 202 is stored, and
 * both processes carry on once the database is back, without a restart.
 */
describe('PostgreSQL outage during ingest', () => {
  let dir: string;
  let server: EmbeddedPostgresHandle;
  let url: string;
  let slack: FakeSlack;
  const running: LeadlineProcess[] = [];

  beforeAll(async () => {
    slack = await startFakeSlack();
    dir = await mkdtemp(path.join(tmpdir(), 'leadline-pg-outage-'));
    await chmod(dir, 0o711);
    server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), ephemeral: true });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE leadline');
    await admin.end();
    url = databaseUrl(server.url, 'leadline');
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await server.stop().catch(() => {});
    await slack.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After while it is down, stores every 202, and recovers by itself', async () => {
    const env = {
      DATABASE_URL: url,
      LEADLINE_SECRET_WEBSITE: WEBSITE_SECRET,
      LEADLINE_DATA_DIR: dir,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: 'leadline-outage-signing-secret-01',
      SLACK_API_URL: slack.baseUrl,
      SLACK_BOT_USER_ID: 'U0LEADBOT',
    };
    const web = await startProcess('web', env);
    running.push(web, await startProcess('worker', env));
    let downFor = 0;
    const outage = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const stopped = performance.now();
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: server.port, ephemeral: true });
      downFor = (performance.now() - stopped) / 1_000;
    })();
    const load = await sendLoad({ urls: () => [web.url!], from: 0, count: 6_000, leads: 300, demoLeads: 6, eventsPerSecond: 250, perRequest: 5 });
    await outage;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const count = async (sql: string, values: unknown[] = []) => (await client.query<{ n: number }>(sql, values)).rows[0]!.n;
      const stored = await count(`SELECT count(*)::int AS n FROM intake_events WHERE external_id = ANY($1)`, [[...load.acknowledged]]);
      // After the outage, new deliveries are taken again and everything stored gets processed.
      const after = await sendLoad({ urls: () => [web.url!], from: 50_000, count: 200, leads: 300, demoLeads: 6, eventsPerSecond: 200, perRequest: 5 });
      await waitFor(async () => ((await count(`SELECT count(*)::int AS n FROM intake_events WHERE processed_at IS NULL`)) === 0 ? true : undefined), 250);
      // Alerts decided before, during and after the outage all reach Slack, once.
      await waitFor(async () => ((await count(`SELECT count(*)::int AS n FROM slack_outbox WHERE state = 'pending'`)) === 0 ? true : undefined), 250);
      const outboxPosts = await count(`SELECT count(*)::int AS n FROM slack_outbox WHERE ts IS NOT NULL AND method = 'chat.postMessage'`);
      const dead = await count(`SELECT count(*)::int AS n FROM slack_outbox WHERE state = 'dead'`);
      const statuses = Object.fromEntries([...load.statuses].map(([status, n]) => [status, n]));
      report('PostgreSQL stopped for 10 s during ingest', {
        'database down (s)': downFor.toFixed(1),
        'answers by status': JSON.stringify(statuses),
        '503s with Retry-After': load.retryAfter,
        'slowest answer (ms)': Math.round(load.slowestMs),
        'acknowledged / stored': `${load.acknowledged.size} / ${stored}`,
        'accepted after recovery': after.acknowledged.size,
        'processes still running': running.filter((p) => p.child.exitCode === null).length,
        'Slack posts / outbox messages posted / dead': `${slack.succeeded('chat.postMessage').length} / ${outboxPosts} / ${dead}`,
      });
      expect(load.statuses.get(503) ?? 0).toBeGreaterThan(0);
      expect(load.retryAfter).toBe(load.statuses.get(503));
      expect([...load.statuses.keys()].every((status) => status === 202 || status === 200 || status === 503)).toBe(true);
      expect(load.failed).toBe(0);
      expect(stored).toBe(load.acknowledged.size);
      expect(after.acknowledged.size).toBe(200);
      expect(running.every((p) => p.child.exitCode === null)).toBe(true);
      expect(outboxPosts).toBeGreaterThan(0);
      expect(slack.succeeded('chat.postMessage').length).toBe(outboxPosts);
      expect(dead).toBe(0);
    } finally {
      await client.end();
    }
  });
});
