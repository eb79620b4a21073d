import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { IntakeWriter } from '../app/intake/intake-writer.ts';
import { registerAlertActions } from '../bot/alert-actions.ts';
import { registerConflictActions } from '../bot/conflict-actions.ts';
import { registerMocoActions } from '../bot/moco-actions.ts';
import { registerDeadLetterActions } from '../bot/dead-letter-actions.ts';
import { registerHome } from '../bot/home.ts';
import { registerLeadCommand } from '../bot/lead-command.ts';
import { registerPing } from '../bot/ping.ts';
import type { SlackApp } from '../bot/slack-app.ts';
import type { LeadlineEvent } from '../engine/event.ts';
import { isUrgentEvent } from '../engine/urgency.ts';
import { createApp } from '../http/app.ts';
import { resolveSources } from '../http/sources.ts';
import type { Metrics } from '../metrics.ts';
import type { Started } from './roles.ts';
import { closeServer, listenOn } from './server.ts';
import { probeQueueDb } from '../db/job-queue.ts';

// Bolt, with the Web API client, OAuth, Socket Mode and express it brings, is ~15 MB resident: only a
// process that serves Slack requests loads it, so workers and installs without Slack do not.
export const loadSlackApp = () => import('../bot/slack-app.ts');

/**
 * The web role: webhooks, imports, health and metrics on Hono, and Slack's requests on Bolt, on one
 * port. Answers the server's base URL; shutdown stops accepting, drains requests, then the intake.
 */
export async function startWebRole(started: Started, metrics: Metrics, env: NodeJS.ProcessEnv): Promise<string> {
  const { config, ctx, log, boss } = started;
  const { now } = ctx;
  let shuttingDown = false;
  // CSV rows are history being loaded, never a reason to jump the queue.
  const intake = new IntakeWriter(started.pool, boss, {
    urgent: (item) => item.scheme !== 'csv' && isUrgentEvent(item.event as LeadlineEvent, ctx.ruleset, now()),
  });
  const sources = resolveSources(ctx.ruleset, env);
  // A reloaded ruleset brings its sources (secrets, flood limits, on_invalid) into the same map.
  started.onRulesetChange.push((next) => {
    const fresh = resolveSources(next, env);
    sources.clear();
    for (const [name, source] of fresh) sources.set(name, source);
  });
  const missing = [...sources.values()].filter((s) => s.secret === null).map((s) => `${s.name} (${s.secretEnv})`);
  if (missing.length > 0) log.warn({ sources: missing }, 'webhook sources without a secret refuse deliveries');
  const app = createApp({
    pool: started.pool,
    probeQueue: () => probeQueueDb(boss),
    intake,
    sources,
    log,
    metrics,
    importToken: config.importToken,
    now,
    isShuttingDown: () => shuttingDown,
  });
  let slack: SlackApp | null = null;
  if (config.slack !== undefined) {
    const { createSlackApp } = await loadSlackApp();
    slack = createSlackApp({ ...config.slack, log });
    registerPing(slack.app);
    registerConflictActions(slack.app, ctx);
    registerAlertActions(slack.app, ctx);
    registerLeadCommand(slack.app, ctx, { intake });
    registerHome(slack.app, ctx);
    registerMocoActions(slack.app, ctx);
    registerDeadLetterActions(slack.app, ctx, { intake });
  }
  const hono = getRequestListener(app.fetch);
  const slackApp = slack;
  // One port: Bolt owns /slack/events and hands every other request, body unread, to Hono.
  const server = createServer(
    slackApp === null ? hono : (req, res) => slackApp.requestListener(req, res, () => void hono(req, res)),
  );
  await listenOn(server, config.port, config.host);
  await slack?.start();
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const serverUrl = `http://127.0.0.1:${port}`;
  started.cleanups.unshift(async () => {
    shuttingDown = true;
    // No new requests first; then the work Slack requests started after their ack, and the
    // intake's last commits, finish before the pool closes.
    await closeServer(server);
    await slackApp?.stop();
    await intake.drain();
  });
  log.info({ url: serverUrl, role: config.role, ruleset: ctx.ruleset.version }, 'Leadline is listening');
  return serverUrl;
}
