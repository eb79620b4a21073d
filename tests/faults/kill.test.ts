import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, waitFor } from '../support/db.ts';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.ts';
import { type LeadlineProcess, sendLoad, startProcess, WEBSITE_SECRET } from './support/cluster.ts';
import { compareWithCleanRun } from './support/clean-run.ts';
import { report } from './support/report.ts';

const LEADS = 400;

/**
 * Processes killed under load, as a crash or an OOM kill would: separate `web` and `worker`
 * processes started like `npm start`, one database, a fake Slack counting every post.
 */
describe('Leadline processes killed under load', () => {
  let db: TestDatabase;
  let slack: FakeSlack;
  let dir: string;
  let env: Record<string, string>;
  const running = new Set<LeadlineProcess>();

  beforeAll(async () => {
    db = await createTestDatabase();
    slack = await startFakeSlack();
    dir = await mkdtemp(path.join(tmpdir(), 'leadline-faults-'));
    env = {
      DATABASE_URL: db.url,
      LEADLINE_DATA_DIR: dir,
      LEADLINE_SECRET_WEBSITE: WEBSITE_SECRET,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: 'leadline-faults-signing-secret-01',
      SLACK_API_URL: slack.baseUrl,
      SLACK_BOT_USER_ID: 'U0LEADBOT',
    };
  });
  afterAll(async () => {
    await Promise.all([...running].map((p) => p.kill('SIGKILL')));
    await slack.close();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (role: 'web' | 'worker') => {
    const started = await startProcess(role, env);
    running.add(started);
    void started.exited.then(() => running.delete(started));
    return started;
  };
  const count = async (sql: string, values: unknown[] = []) => (await db.pool.query<{ n: number }>(sql, values)).rows[0]!.n;
  let lastProgress = 0;
  const drained = (ids: Set<string>) =>
    waitFor(
      async () => {
        if (process.env['FAULTS_DEBUG'] !== undefined && Date.now() - lastProgress > 5_000) {
          lastProgress = Date.now();
          const jobs = await db.pool.query(`SELECT name, state, count(*)::int AS n, round(extract(epoch FROM min(start_after - now())))::int AS soonest, round(extract(epoch FROM max(start_after - now())))::int AS latest FROM pgboss.job GROUP BY 1, 2 ORDER BY 1, 2`);
          const open = await count(`SELECT count(*)::int AS n FROM intake_events WHERE processed_at IS NULL`);
          const parked = await count(`SELECT count(*)::int AS n FROM parked_events`);
          console.log(JSON.stringify({ open, parked, jobs: jobs.rows.filter((j) => j.state !== 'completed') }));
        }
        return (await count(`SELECT count(*)::int AS n FROM intake_events WHERE processed_at IS NULL`)) === 0 &&
        (await count(`SELECT count(*)::int AS n FROM intake_events WHERE external_id = ANY($1)`, [[...ids]])) === ids.size
          ? true
          : undefined;
      },
      250,
    );

  it('SIGKILL of a worker mid-batch, ten times: every acknowledged event processed exactly once, soon', async () => {
    const web = await start('web');
    const workers = [await start('worker'), await start('worker')];
    let kills = 0;
    // When each kill happened, and which event batches were active just before it.
    const killedAt: Date[] = [];
    const activeAtKill = new Map<string, Date>();
    // Every second one worker dies (alternating) and a fresh one takes its place, ten times.
    const killer = (async () => {
      while (kills < Number(process.env['FAULTS_KILLS'] ?? 10)) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const i = kills % 2;
        const active = await db.pool.query<{ id: string; now: Date }>(`SELECT id::text, now() FROM pgboss.job WHERE name LIKE 'process-events%' AND state = 'active'`);
        const at = new Date();
        for (const job of active.rows) if (!activeAtKill.has(job.id)) activeAtKill.set(job.id, at);
        killedAt.push(at);
        await workers[i]!.kill('SIGKILL');
        kills += 1;
        workers[i] = await start('worker');
      }
    })();
    const load = await sendLoad({ urls: () => [web.url!], from: 0, count: Number(process.env['FAULTS_EVENTS'] ?? 15_000), leads: LEADS, eventsPerSecond: 1_000, perRequest: 10 });
    await killer;
    await drained(load.acknowledged);

    const waits = await db.pool.query<{ longest: number; p99: number }>(
      `SELECT max(extract(epoch FROM processed_at - received_at))::float8 AS longest,
        percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at))::float8 AS p99
       FROM intake_events`,
    );
    // The events a killed worker held: their job lost its worker and was retried. Each one's wait
    // runs from the first kill while its batch was active (or, for a batch claimed in the instant
    // between that look and the kill, the first kill after it was queued) to its processing, so
    // the figure can only overstate the recovery, never hide time spent queued after the kill.
    const retried = await db.pool.query<{ id: string; created: Date; processed: Date }>(
      `SELECT j.id::text, j.created_on AS created, max(e.processed_at) AS processed
       FROM pgboss.job j JOIN intake_events e ON e.id::text = j.data->>'eventId'
       WHERE j.name LIKE 'process-events%' AND j.retry_count > 0 GROUP BY j.id, j.created_on`,
    );
    const recoveryWaits = retried.rows.map((job) => {
      const kill = activeAtKill.get(job.id) ?? killedAt.find((at) => at >= job.created) ?? job.created;
      return (job.processed.getTime() - kill.getTime()) / 1_000;
    });
    const recovered = await count(
      `SELECT count(*)::int AS n FROM pgboss.job j JOIN intake_events e ON e.id::text = j.data->>'eventId'
       WHERE j.name LIKE 'process-events%' AND j.retry_count > 0`,
    );
    const longestRecovery = Math.max(0, ...recoveryWaits);
    const twice = await count(`SELECT count(*)::int AS n FROM (SELECT email FROM leads GROUP BY email HAVING count(*) > 1) d`);
    const slackPosts = slack.succeeded('chat.postMessage').length;
    const outboxPosts = await count(`SELECT count(*)::int AS n FROM slack_outbox WHERE ts IS NOT NULL AND method IN ('chat.postMessage', 'chat.update')`);
    const scoresDiffer = await compareWithCleanRun(db);
    report('worker SIGKILL ×10 under load', {
      'events sent / acknowledged': `${load.sent} / ${load.acknowledged.size}`,
      'offered rate (events/s)': Math.round(load.sent / load.seconds),
      kills,
      'longest wait, received → processed, backlog included (s)': waits.rows[0]!.longest.toFixed(1),
      'p99 wait (s)': waits.rows[0]!.p99.toFixed(2),
      'events whose batch a kill interrupted': recovered,
      'longest wait of those, kill → processed by another worker (s)': longestRecovery.toFixed(1),
      'leads created twice': twice,
      'Slack posts / outbox messages posted': `${slackPosts} / ${outboxPosts}`,
      'leads whose score differs from a clean run': scoresDiffer,
    });
    expect(kills).toBe(10);
    expect(load.acknowledged.size).toBeGreaterThan(0);
    expect(twice).toBe(0);
    expect(scoresDiffer).toBe(0);
    expect(slackPosts).toBe(outboxPosts);
    expect(recovered).toBeGreaterThan(0);
    expect(longestRecovery).toBeLessThan(30);
  });

  it('SIGKILL of the web process mid-load: every event it answered 202 is stored', async () => {
    let web = await start('web');
    let stop = false;
    const killer = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      if (stop) return;
      await web.kill('SIGKILL');
      web = await start('web');
    })();
    const load = await sendLoad({ urls: () => [web.url!], from: 100_000, count: 5_000, leads: LEADS, eventsPerSecond: 1_000, perRequest: 10 });
    stop = true;
    await killer;
    const stored = await count(`SELECT count(*)::int AS n FROM intake_events WHERE external_id = ANY($1)`, [[...load.acknowledged]]);
    report('web SIGKILL mid-load', {
      'events sent / acknowledged / stored': `${load.sent} / ${load.acknowledged.size} / ${stored}`,
      'requests that failed (killed mid-way)': load.failed,
    });
    expect(stored).toBe(load.acknowledged.size);
    expect(load.failed + load.acknowledged.size / 10).toBeGreaterThan(0);
  });
});
