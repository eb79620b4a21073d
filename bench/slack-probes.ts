/**
 * What the Slack side of the benchmark does, inside its child process (slack-child.ts): it hosts
 * the fake Slack Web API Leadline posts to and sends the requests whose outcome shows up there, so
 * "sent" and "Slack received" are read from one clock (`performance.now()` of this process).
 */
import http from 'node:http';
import type { FakeCall, FakeSlack } from '../tests/support/fake-slack.ts';
import {
  blockActionsBody,
  FORM,
  signSlackRequest,
  slashCommandBody,
} from '../tests/support/slack-signer.ts';
import { hotLeadEvent, hotLeadIndex, signStandardHeaders } from './dataset.ts';
import { post } from './load.ts';
import { type LatencySummary, summarize } from './stats.ts';

export interface HotLeadSpec {
  leadlineUrl: string;
  secret: string;
  /** Alphanumeric; names this run's hot leads (see hotLeadName). */
  tag: string;
  count: number;
  /** Gap between two hot leads (sent one at a time, on a fixed schedule). */
  spacingMs: number;
  /** How long to wait for the last alerts after the last lead was accepted. */
  waitMs: number;
  /** The channel alerts go to (`slack.hot_leads_channel`). */
  channel: string;
}

export interface HotLeadResult {
  sent: number;
  accepted: number;
  failures: number;
  firstFailure: string | null;
  /** 202 received → chat.postMessage received, per lead (NaN: no alert seen in time). */
  latencyMs: number[];
  /** Wall-clock (epoch ms, sub-ms) of each 202 and each alert, to line up with database timestamps. */
  acceptedAt: number[];
  alertedAt: number[];
  summary: LatencySummary;
  missing: number;
  /** Alerts in the channel that named no hot lead of this run (ordinary traffic turning hot). */
  strayAlerts: number;
}

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function messageText(call: FakeCall): string {
  const text = typeof call.body['text'] === 'string' ? call.body['text'] : '';
  return text === '' ? JSON.stringify(call.body['blocks'] ?? '') : text;
}

/** Watches the fake for calls; `onCall` has one slot, so every probe installs and removes its own. */
function watch(slack: FakeSlack, handler: (call: FakeCall, at: number) => void): () => void {
  slack.onCall((call) => handler(call, performance.now()));
  return () => slack.onCall(null);
}

/**
 * Sends `count` demo requests from new leads, one every `spacingMs`, and times each from its 202 to
 * the alert's `chat.postMessage` arriving here.
 */
export async function runHotLeads(slack: FakeSlack, spec: HotLeadSpec): Promise<HotLeadResult> {
  const url = new URL(spec.leadlineUrl);
  if (url.hostname !== '127.0.0.1') throw new Error('benchmark load goes to 127.0.0.1 only');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const acceptedPerf = new Float64Array(spec.count).fill(Number.NaN);
  const alertedPerf = new Float64Array(spec.count).fill(Number.NaN);
  const acceptedAt = new Array<number>(spec.count).fill(Number.NaN);
  const alertedAt = new Array<number>(spec.count).fill(Number.NaN);
  let strayAlerts = 0;
  let seen = 0;
  const unwatch = watch(slack, (call, at) => {
    if (call.method !== 'chat.postMessage' || call.body['channel'] !== spec.channel) return;
    const index = hotLeadIndex(spec.tag, messageText(call));
    if (index === null || index >= spec.count) {
      strayAlerts += 1;
      return;
    }
    if (!Number.isNaN(alertedPerf[index] ?? Number.NaN)) return;
    alertedPerf[index] = at;
    alertedAt[index] = performance.timeOrigin + at;
    seen += 1;
  });
  let sent = 0;
  let accepted = 0;
  let failures = 0;
  let firstFailure: string | null = null;
  try {
    const started = performance.now();
    for (let i = 0; i < spec.count; i++) {
      await sleep(started + i * spec.spacingMs - performance.now());
      const now = new Date();
      const event = hotLeadEvent(spec.tag, i, now);
      const body = JSON.stringify(event);
      sent += 1;
      try {
        const answer = await post(
          agent,
          url,
          {
            path: '/webhooks/website',
            headers: signStandardHeaders(spec.secret, event.id, Math.floor(now.getTime() / 1000), body),
            body,
          },
          30_000,
        );
        if (answer.status !== 202) {
          failures += 1;
          firstFailure ??= `${answer.status} ${answer.body.slice(0, 200)}`;
          continue;
        }
        acceptedPerf[i] = performance.now();
        acceptedAt[i] = wallNow();
        accepted += 1;
      } catch (err) {
        failures += 1;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
    }
    const deadline = performance.now() + spec.waitMs;
    while (seen < accepted && performance.now() < deadline) await sleep(50);
  } finally {
    unwatch();
    agent.destroy();
  }
  const latencyMs = Array.from(acceptedPerf, (t, i) => (alertedPerf[i] ?? Number.NaN) - t);
  const measured = latencyMs.filter((ms) => !Number.isNaN(ms));
  return {
    sent,
    accepted,
    failures,
    firstFailure,
    latencyMs,
    acceptedAt,
    alertedAt,
    summary: summarize(measured),
    missing: accepted - measured.length,
    strayAlerts,
  };
}

export interface AckSpec {
  leadlineUrl: string;
  signingSecret: string;
  kind: 'command' | 'claim';
  /** Command texts (`/lead <text>`) or lead ids to claim, one request each. */
  items: string[];
  /** The Slack user who types or clicks. */
  userId: string;
  concurrency: number;
  /** When set: one request every `spacingMs` (one sender, open loop), a person's pace rather than a burst. */
  spacingMs?: number;
  /** Command answers arrive on the response_url: wait this long for the last of them (0: none expected). */
  answerWaitMs: number;
  tag: string;
}

export interface AckResult {
  sent: number;
  ok: number;
  failures: number;
  firstFailure: string | null;
  statusCounts: Record<string, number>;
  durationMs: number;
  /** HTTP 200 received by the sender (Bolt's ack). */
  ack: LatencySummary;
  /** Request sent → its response_url post received (commands answered through the outbox). */
  answer: LatencySummary | null;
  answered: number;
  /** An example ack body, to show what the user saw at once. */
  sampleAck: string;
}

// What Slack shows when Leadline answered for a listener that never acked (slack-app.ts).
const UNACKED = /could not handle that command/;

/** Sends Slack-signed slash commands or `lead.claim` clicks, `concurrency` at a time (closed loop). */
export async function runAcks(slack: FakeSlack, spec: AckSpec): Promise<AckResult> {
  const url = new URL(spec.leadlineUrl);
  if (url.hostname !== '127.0.0.1') throw new Error('benchmark load goes to 127.0.0.1 only');
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const total = spec.items.length;
  const sentAt = new Float64Array(total).fill(Number.NaN);
  const ackMs = new Float64Array(total).fill(Number.NaN);
  const answerMs = new Float64Array(total).fill(Number.NaN);
  const prefix = `${spec.tag}-`;
  let answered = 0;
  const unwatch = watch(slack, (call, at) => {
    if (call.method !== 'response_url' || !call.responseId?.startsWith(prefix)) return;
    const index = Number(call.responseId.slice(prefix.length));
    if (!Number.isInteger(index) || index >= total || !Number.isNaN(answerMs[index] ?? 0)) return;
    answerMs[index] = at - (sentAt[index] ?? at);
    answered += 1;
  });
  const statusCounts: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  let failures = 0;
  let firstFailure: string | null = null;
  let sampleAck = '';
  const started = performance.now();
  const fail = (why: string) => {
    failures += 1;
    firstFailure ??= why;
  };
  const worker = async () => {
    for (let index = next++; index < total; index = next++) {
      if (spec.spacingMs !== undefined) await sleep(started + index * spec.spacingMs - performance.now());
      const item = spec.items[index] ?? '';
      const responseUrl = slack.responseUrl(`${prefix}${index}`);
      const body =
        spec.kind === 'command'
          ? slashCommandBody({ command: '/lead', text: item, userId: spec.userId, responseUrl })
          : blockActionsBody({
              actionId: 'lead.claim',
              value: item,
              userId: spec.userId,
              messageTs: `1763640000.${String(index).padStart(6, '0')}`,
              channelId: 'C0HOTLEADS',
              responseUrl,
              triggerId: `1337.${index}.bench`,
            });
      const headers = signSlackRequest({
        signingSecret: spec.signingSecret,
        body,
        timestamp: Math.floor(Date.now() / 1000),
      });
      const t0 = performance.now();
      sentAt[index] = t0;
      try {
        const answer = await post(
          agent,
          url,
          { path: '/slack/events', headers, body, contentType: FORM },
          10_000,
        );
        ackMs[index] = performance.now() - t0;
        statusCounts[answer.status] = (statusCounts[answer.status] ?? 0) + 1;
        if (answer.status !== 200) fail(`${answer.status} ${answer.body.slice(0, 200)}`);
        else if (UNACKED.test(answer.body)) fail(`not acknowledged by a listener: ${answer.body.slice(0, 200)}`);
        else {
          ok += 1;
          if (sampleAck === '') sampleAck = answer.body.slice(0, 200);
        }
      } catch (err) {
        statusCounts['error'] = (statusCounts['error'] ?? 0) + 1;
        fail(err instanceof Error ? err.message : String(err));
      }
    }
  };
  try {
    const workers = spec.spacingMs === undefined ? spec.concurrency : 1;
    await Promise.all(Array.from({ length: workers }, () => worker()));
    const durationMs = performance.now() - started;
    const deadline = performance.now() + spec.answerWaitMs;
    while (spec.answerWaitMs > 0 && answered < ok && performance.now() < deadline) await sleep(50);
    const answers = Array.from(answerMs).filter((ms) => !Number.isNaN(ms));
    return {
      sent: total,
      ok,
      failures,
      firstFailure,
      statusCounts,
      durationMs,
      ack: summarize(Array.from(ackMs).filter((ms) => !Number.isNaN(ms))),
      answer: spec.answerWaitMs > 0 ? summarize(answers) : null,
      answered,
      sampleAck,
    };
  } finally {
    unwatch();
    agent.destroy();
  }
}

export interface SlackStats {
  calls: Record<string, number>;
  failedCalls: number;
  blockKitViolations: number;
  firstViolation: string | null;
}

/** What the fake Slack saw so far: calls per method, refused calls and Block Kit violations. */
export function slackStats(slack: FakeSlack): SlackStats {
  const calls: Record<string, number> = {};
  let failedCalls = 0;
  for (const call of slack.calls()) {
    calls[call.method] = (calls[call.method] ?? 0) + 1;
    if (call.response?.['ok'] !== true) failedCalls += 1;
  }
  const violations = slack.violations();
  const first = violations[0];
  return {
    calls,
    failedCalls,
    blockKitViolations: violations.length,
    firstViolation: first === undefined ? null : `${first.method}: ${first.message}`.slice(0, 200),
  };
}
