import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, waitFor } from '../support/db.ts';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.ts';
import { compareWithCleanRun } from './support/clean-run.ts';
import { type LeadlineProcess, sendLoad, startProcess, WEBSITE_SECRET } from './support/cluster.ts';
import { report } from './support/report.ts';

const EVENTS = Number(process.env['FAULTS_SCALE_EVENTS'] ?? 8_000);
const LEADS = 400;

interface Deployment {
  db: TestDatabase;
  slack: FakeSlack;
  dir: string;
  processes: LeadlineProcess[];
}

/**
 * Several `web` and `worker` processes on one PostgreSQL, as a deployment scales out: the same
 * stream is processed exactly once and each alert is posted once, whichever process takes what.
 * On this 2-core machine every process shares the same two cores with PostgreSQL, so the 1-vs-2
 * worker figure shows correctness under contention more than speed.
 */
describe('Leadline scaled out to several processes', () => {
  const deployments: Deployment[] = [];
  afterAll(async () => {
    for (const d of deployments) {
      await Promise.all(d.processes.map((p) => p.kill('SIGKILL')));
      await d.slack.close();
      await d.db.drop();
      await rm(d.dir, { recursive: true, force: true });
    }
  });

  async function deploy(webs: number, workers: number): Promise<Deployment> {
    const db = await createTestDatabase();
    const slack = await startFakeSlack();
    const dir = await mkdtemp(path.join(tmpdir(), 'leadline-scale-'));
    const deployment: Deployment = { db, slack, dir, processes: [] };
    deployments.push(deployment);
    const env = {
      DATABASE_URL: db.url,
      LEADLINE_DATA_DIR: dir,
      LEADLINE_SECRET_WEBSITE: WEBSITE_SECRET,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: 'leadline-scale-signing-secret-001',
      SLACK_API_URL: slack.baseUrl,
      SLACK_BOT_USER_ID: 'U0LEADBOT',
    };
    for (let i = 0; i < webs; i += 1) deployment.processes.push(await startProcess('web', env));
    for (let i = 0; i < workers; i += 1) deployment.processes.push(await startProcess('worker', env));
    return deployment;
  }

  async function runStream(d: Deployment) {
    const urls = d.processes.filter((p) => p.role === 'web').map((p) => p.url!);
    const load = await sendLoad({ urls: () => urls, from: 0, count: EVENTS, leads: LEADS, demoLeads: 15, eventsPerSecond: 4_000, perRequest: 10 });
    const count = async (sql: string) => (await d.db.pool.query<{ n: number }>(sql)).rows[0]!.n;
    await waitFor(async () => {
      const open = await count(`SELECT count(*)::int AS n FROM intake_events WHERE processed_at IS NULL`);
      if (process.env['FAULTS_DEBUG'] !== undefined) console.log('open events', open, 'pending posts', await count(`SELECT count(*)::int AS n FROM slack_outbox WHERE state = 'pending'`));
      return open === 0 ? true : undefined;
    }, 1_000);
    // Every alert the engine decided is posted before the figures are read.
    await waitFor(async () => ((await count(`SELECT count(*)::int AS n FROM slack_outbox WHERE state = 'pending'`)) === 0 ? true : undefined), 250);
    // The steady middle of the run: the events processed between the 10th and 90th percentile of
    // processing times (start-up and the last stragglers left out).
    const span = await d.db.pool.query<{ seconds: number }>(
      `SELECT extract(epoch FROM percentile_cont(0.9) WITHIN GROUP (ORDER BY processed_at - $1::timestamptz)
         - percentile_cont(0.1) WITHIN GROUP (ORDER BY processed_at - $1::timestamptz))::float8 AS seconds
       FROM intake_events`,
      [new Date(0)],
    );
    return {
      acknowledged: load.acknowledged.size,
      sent: load.sent,
      eventsPerSecond: (0.8 * EVENTS) / span.rows[0]!.seconds,
      leadsTwice: await count(`SELECT count(*)::int AS n FROM (SELECT email FROM leads GROUP BY email HAVING count(*) > 1) d`),
      slackPosts: d.slack.succeeded('chat.postMessage').length,
      outboxPosts: await count(`SELECT count(*)::int AS n FROM slack_outbox WHERE ts IS NOT NULL AND method = 'chat.postMessage'`),
      postsPerMessage: duplicatePosts(d.slack),
      scoresDiffer: await compareWithCleanRun(d.db),
    };
  }

  it('2 web + 2 worker processes: exactly once, one Slack post per alert; 1 worker vs 2 reported', async () => {
    const single = await runStream(await deploy(1, 1));
    const scaled = await runStream(await deploy(2, 2));
    report('scale-out: 1 web + 1 worker vs 2 web + 2 worker', {
      'events sent / acknowledged (1+1 | 2+2)': `${single.sent} / ${single.acknowledged} | ${scaled.sent} / ${scaled.acknowledged}`,
      'events processed per second (1 worker | 2 workers)': `${Math.round(single.eventsPerSecond)} | ${Math.round(scaled.eventsPerSecond)}`,
      'ratio 2 workers / 1 worker': (scaled.eventsPerSecond / single.eventsPerSecond).toFixed(2),
      'leads created twice': `${single.leadsTwice} | ${scaled.leadsTwice}`,
      'Slack posts / outbox messages posted': `${single.slackPosts} / ${single.outboxPosts} | ${scaled.slackPosts} / ${scaled.outboxPosts}`,
      'messages Slack received more than once': `${single.postsPerMessage} | ${scaled.postsPerMessage}`,
      'leads whose score differs from a clean run': `${single.scoresDiffer} | ${scaled.scoresDiffer}`,
      note: 'one 2-core machine for every process and PostgreSQL: correctness more than speed',
    });
    for (const run of [single, scaled]) {
      expect(run.acknowledged).toBe(EVENTS);
      expect(run.leadsTwice).toBe(0);
      expect(run.scoresDiffer).toBe(0);
      expect(run.slackPosts).toBe(run.outboxPosts);
      expect(run.postsPerMessage).toBe(0);
      expect(run.slackPosts).toBeGreaterThan(0);
    }
  });
});

// Messages Slack received more than once: each post carries Leadline's delivery key in its metadata.
function duplicatePosts(slack: FakeSlack): number {
  const seen = new Map<string, number>();
  for (const call of slack.succeeded('chat.postMessage')) {
    const metadata = call.body['metadata'] as { event_payload?: { key?: unknown } } | undefined;
    const key = String(metadata?.event_payload?.key ?? JSON.stringify(call.body));
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen.values()].filter((n) => n > 1).length;
}
