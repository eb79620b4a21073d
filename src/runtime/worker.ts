import { DECAY_QUEUE, DIGEST_QUEUE, PROCESS_EVENTS_QUEUE, SLA_QUEUE, UPKEEP_QUEUE } from '../app/queues.ts';
import { createIntentClassifier } from '../clients/openai-intent.ts';
import { createSlackApi } from '../clients/slack-api.ts';
import { leadlineJobs, startWorkers } from '../jobs/registry.ts';
import { startSchedules } from '../jobs/schedule.ts';
import { kickSlackDelivery, listenForSlackKicks, SLACK_DELIVERY_QUEUE } from '../slack/outbox/kick.ts';
import type { Started } from './roles.ts';
import { createMocoLimiter } from '../app/moco/rate-limit.ts';
import type { MocoConnection } from '../app/moco/sync.ts';
import { createMocoClient } from '../clients/moco.ts';
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { probeQueueDb } from '../db/job-queue.ts';
import { createProbeApp } from '../http/health.ts';
import { closeServer, listenOn } from './server.ts';

/**
 * The worker role: a worker per queue, the Slack wake-up listener when this process delivers to
 * Slack, and the cron schedules (unless `schedules` is false: tests enqueue scheduled jobs by hand).
 */
export async function startWorkerRole(started: Started, schedules: boolean): Promise<void> {
  const { config, ctx, boss, cleanups, log } = started;
  const slackApi =
    config.slack === undefined
      ? null
      : createSlackApi({ baseUrl: config.slack.apiUrl, token: config.slack.botToken, timeoutMs: config.slack.timeoutMs });
  const classifier = config.openai === undefined ? null : createIntentClassifier(config.openai);
  // Ends waits that would otherwise hold a stopping worker (a delivery run lingering for kicks).
  const stopping = new AbortController();
  cleanups.unshift(async () => stopping.abort());
  const moco = mocoConnection(started, (outcome) => ctx.metrics.mocoCalls.inc({ outcome }));
  await startWorkers(boss, ctx, leadlineJobs(slackApi, classifier, stopping.signal, moco, { auditDays: config.auditDays }), {
    [PROCESS_EVENTS_QUEUE]: { batchSize: config.workerBatch, localConcurrency: config.workerConcurrency },
  });
  // A process that died between committing an outcome and waking the delivery job leaves
  // messages due in the outbox; one wake-up at start delivers them.
  if (slackApi !== null) {
    const kicks = await listenForSlackKicks(started.url, boss, log);
    cleanups.unshift(() => kicks.stop());
    await kickSlackDelivery(boss);
  }
  if (!schedules) return;
  let running = startLeadlineSchedules(started, slackApi !== null);
  cleanups.unshift(() => running.stop());
  // The digest's cron and the time zone come from the ruleset: a reload starts them afresh.
  started.onRulesetChange.push(async () => {
    await running.stop();
    running = startLeadlineSchedules(started, slackApi !== null);
  });
}

function startLeadlineSchedules(started: Started, deliversToSlack: boolean): { stop(): Promise<void> } {
  const { config, ctx, boss, log } = started;
  const timezone = ctx.ruleset.timezone;
  return startSchedules(
    [
      { queue: DECAY_QUEUE, cron: config.decayCron, timezone },
      // Hourly: upkeep thresholds are hours and days, and findings are reported once.
      { queue: UPKEEP_QUEUE, cron: '7 * * * *', timezone },
      // Every minute: the shortest claim window (CRITICAL) is minutes long.
      { queue: SLA_QUEUE, cron: '* * * * *', timezone },
      { queue: DIGEST_QUEUE, cron: ctx.ruleset.slack.digest_cron, timezone },
      // A backstop for the wake-ups: should a NOTIFY be lost (a listener between reconnects, a
      // pooler that drops LISTEN), nothing due waits in the outbox longer than a minute.
      ...(deliversToSlack ? [{ queue: SLACK_DELIVERY_QUEUE, cron: '* * * * *', timezone }] : []),
    ],
    { pool: started.pool, queue: boss, log },
  );
}

/**
 * A worker's probes and metrics on `LEADLINE_WORKER_PORT`, when set; returns its URL. Readiness
 * turns 503 once shutdown begins, like the web role's.
 */
export async function startWorkerProbes(started: Started): Promise<string | null> {
  const { config, pool, boss, ctx, cleanups } = started;
  if (config.workerPort === null) return null;
  let shuttingDown = false;
  const app = createProbeApp({ pool, probeQueue: () => probeQueueDb(boss), isShuttingDown: () => shuttingDown, metrics: ctx.metrics });
  const server = createServer(getRequestListener(app.fetch));
  await listenOn(server, config.workerPort, config.host);
  cleanups.unshift(async () => {
    shuttingDown = true;
    await closeServer(server);
  });
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : config.workerPort}`;
}

/** The MOCO client over the account's shared rate budget, when MOCO is configured. */
function mocoConnection(started: Started, onAttempt: (outcome: string) => void): MocoConnection | null {
  const config = started.config.moco;
  if (config === undefined) return null;
  const base = new URL(config.baseUrl);
  const limiter = createMocoLimiter({ pool: started.pool, limit: config.rateLimit, account: base.host });
  return {
    client: createMocoClient({ baseUrl: config.baseUrl, apiKey: config.apiKey, limiter, timeoutMs: config.timeoutMs, onAttempt }),
    webUrl: `${base.protocol}//${base.host}`,
  };
}
