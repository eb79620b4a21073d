/**
 * Diagnostic (not part of `npm run bench`): where a hot lead's time goes between its webhook's 202
 * and Slack receiving the alert. Runs the speed-to-lead setup (role `all`, Slack on, ordinary
 * background load) with a fake Slack in this process and every pg query timed, then prints per
 * stage: 202 → processing transaction starts (worker wake-up) → its COMMIT done → the delivery
 * dispatcher's claim returns the alert row → Slack receives the post.
 *
 *   node --experimental-strip-types bench/tools/alert-stages.ts [hotLeads=30] [spacingMs=1200] [rate=200] [capsleep]
 *
 * With `capsleep`, bare timers/promises sleeps longer than 100 ms are cut to 100 ms: a delivery job
 * that waits out a channel's pacing gap with `sleep(waitMs)` then re-checks the outbox at least
 * every 100 ms (compares that change without editing src; src since f6cea0b wakes the waiting run
 * on a kick instead, and no longer sleeps through timers/promises, so there it changes nothing).
 */
import http from 'node:http';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type * as TimersPromises from 'node:timers/promises';
import pg from 'pg';
import { startFakeSlack } from '../../tests/support/fake-slack.ts';
import { hotLeadEvent, hotLeadIndex, signStandardHeaders } from '../dataset.ts';
import { post, startLoad } from '../load.ts';
import { SLACK_BOT_TOKEN } from '../slack-side.ts';
import { round, summarize } from '../stats.ts';
import { openWorkbench } from './workbench.ts';

const hotLeads = Number(process.argv[2] ?? 30);
const spacingMs = Number(process.argv[3] ?? 1200);
const rate = Number(process.argv[4] ?? 200);
const TAG = 'diag';
if (process.argv[5] === 'capsleep') {
  const timers = createRequire(import.meta.url)('node:timers/promises') as typeof TimersPromises;
  const sleep = timers.setTimeout;
  Object.assign(timers, {
    setTimeout: (ms?: number, value?: unknown, options?: object) =>
      // Only the delivery job's bare `sleep(waitMs)`; pg-boss passes a value and a signal.
      value === undefined && options === undefined && ms !== undefined && ms > 100
        ? sleep(100)
        : sleep(ms, value, options),
  });
  syncBuiltinESMExports();
}

// ── Every pg statement, timed by kind (pg-boss and Leadline both use pg.Client) ──
interface Tx {
  ids: string[];
  start: number;
  commitStart?: number;
  commitEnd?: number;
  statements: number;
  kinds: Map<string, number[]>;
}
const txs: Tx[] = [];
const claims: { at: number; texts: string[] }[] = [];
const open = new WeakMap<object, Tx>();
type Callback = (err: Error | null, result: { rows: Record<string, unknown>[] }) => void;
const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
Object.assign(pg.Client.prototype, {
  query(this: object, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
    const values = (Array.isArray(args[1]) ? args[1] : (first as { values?: unknown[] } | null)?.values) ?? [];
    const t0 = performance.now();
    let onDone: ((rows: Record<string, unknown>[]) => void) | null = null;
    const tx = open.get(this);
    if (tx !== undefined) tx.statements += 1;
    if (text.includes('FROM intake_events') && text.includes('FOR UPDATE') && !text.includes('SKIP')) {
      open.set(this, { ids: (values[0] as string[]) ?? [], start: t0, statements: 1, kinds: new Map() });
    } else if (tx !== undefined && /^(COMMIT|ROLLBACK)/.test(text)) {
      tx.commitStart = t0;
      onDone = () => {
        tx.commitEnd = performance.now();
        txs.push(tx);
        open.delete(this);
      };
    } else if (text.includes('FROM slack_outbox') && text.includes('SKIP LOCKED')) {
      onDone = (rows) =>
        claims.push({
          at: performance.now(),
          texts: rows.map((r) => String((r['payload'] as { text?: unknown } | null)?.text ?? '')),
        });
    }
    if (onDone === null && tx !== undefined) {
      const kind = kindOf(text);
      onDone = () => {
        const list = tx.kinds.get(kind) ?? [];
        list.push(performance.now() - t0);
        tx.kinds.set(kind, list);
      };
    }
    if (onDone === null) return original.apply(this, args);
    const done = onDone;
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      const wrapped: Callback = (err, result) => {
        if (err === null) done(result.rows);
        (callback as Callback)(err, result);
      };
      return original.apply(this, [...args.slice(0, -1), wrapped]);
    }
    const result = original.apply(this, args) as Promise<{ rows: Record<string, unknown>[] }>;
    return result.then((r) => {
      done(r.rows);
      return r;
    });
  },
});

/** Names a statement by its first words and target table, e.g. "INSERT score_rows". */
function kindOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const verb = (flat.match(/^(WITH|SELECT|INSERT|UPDATE|DELETE)/i)?.[1] ?? flat.slice(0, 12)).toUpperCase();
  const table = flat.match(/(?:INTO|UPDATE|FROM)\s+([a-z_.]+)/i)?.[1] ?? '?';
  return `${verb} ${table}`;
}

const bench = await openWorkbench('alert-stages');
const { ctx } = bench;
const slack = await startFakeSlack({ token: SLACK_BOT_TOKEN });
try {
  const url = await ctx.createDatabase('alert_stages');
  const runtime = await ctx.startLeadline({ databaseUrl: url, role: 'all', slackApiUrl: slack.baseUrl });
  const baseUrl = runtime.url ?? '';
  const alerted = new Float64Array(hotLeads).fill(Number.NaN);
  slack.onCall((call) => {
    if (call.method !== 'chat.postMessage') return;
    const index = hotLeadIndex(TAG, String(call.body['text'] ?? ''));
    if (index !== null && index < hotLeads && Number.isNaN(alerted[index] ?? 0)) alerted[index] = performance.now();
  });
  const seconds = (hotLeads * spacingMs) / 1000 + 10;
  const load = startLoad({
    baseUrl,
    plan: {
      kind: 'webhook',
      path: '/webhooks/website',
      seed: 1,
      secret: ctx.secret,
      tag: 'bg',
      leadRange: 20_000,
      newLeadShare: 0.1,
      mix: 'ordinary',
    },
    concurrency: 20,
    perWorker: Math.ceil((rate * seconds) / 20) + 1,
    maxSeconds: seconds,
    ratePerSecond: rate,
    expectStatus: [202],
  });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const accepted = new Float64Array(hotLeads).fill(Number.NaN);
  const started = performance.now();
  for (let i = 0; i < hotLeads; i++) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + i * spacingMs - performance.now())));
    const now = new Date();
    const event = hotLeadEvent(TAG, i, now);
    const body = JSON.stringify(event);
    const headers = signStandardHeaders(ctx.secret, event.id, Math.floor(now.getTime() / 1000), body);
    const answer = await post(agent, new URL(baseUrl), { path: '/webhooks/website', headers, body }, 30_000);
    if (answer.status === 202) accepted[i] = performance.now();
  }
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  load.stop();
  await load.done;
  agent.destroy();
  // intake uuid → hot lead index
  const { rows } = await runtime.pool.query<{ id: string; external_id: string }>(
    'SELECT id, external_id FROM intake_events WHERE external_id LIKE $1',
    [`hot-${TAG}-%`],
  );
  const indexOf = new Map(rows.map((r) => [r.id, Number(r.external_id.slice(`hot-${TAG}-`.length))]));
  const hotKinds = new Map<string, number[]>();
  const channels = new Map<string, number>();
  for (const call of slack.calls('chat.postMessage')) {
    const channel = String(call.body['channel']);
    channels.set(channel, (channels.get(channel) ?? 0) + 1);
  }
  const stages = { wake: [] as number[], tx: [] as number[], commit: [] as number[], toClaim: [] as number[], send: [] as number[], total: [] as number[], statements: [] as number[], batch: [] as number[], claims: [] as number[] };
  for (let i = 0; i < hotLeads; i++) {
    const tx = txs.find((t) => t.ids.some((id) => indexOf.get(id) === i));
    const mine = claims.filter((c) => c.texts.some((t) => hotLeadIndex(TAG, t) === i));
    const claim = mine[0];
    stages.claims.push(mine.length);
    for (const [kind, list] of tx?.kinds ?? []) hotKinds.set(kind, [...(hotKinds.get(kind) ?? []), ...list]);
    const a = accepted[i] ?? Number.NaN;
    const s = alerted[i] ?? Number.NaN;
    if (tx === undefined || claim === undefined || Number.isNaN(a) || Number.isNaN(s)) continue;
    stages.wake.push(tx.start - a);
    stages.tx.push((tx.commitStart ?? Number.NaN) - tx.start);
    stages.commit.push((tx.commitEnd ?? Number.NaN) - (tx.commitStart ?? Number.NaN));
    stages.toClaim.push(claim.at - (tx.commitEnd ?? Number.NaN));
    stages.send.push(s - claim.at);
    stages.total.push(s - a);
    stages.statements.push(tx.statements);
    stages.batch.push(tx.ids.length);
  }
  const line = (name: string, values: number[]) => {
    const x = summarize(values);
    console.log(`${name.padEnd(44)} p50 ${round(x.p50)}  p95 ${round(x.p95)}  max ${round(x.max)}`);
  };
  console.log(`${stages.total.length} of ${hotLeads} hot leads traced; background ${rate} ordinary events/s`);
  line('202 → processing tx starts (ms)', stages.wake);
  line('processing tx: lock … before COMMIT (ms)', stages.tx);
  line('COMMIT (ms)', stages.commit);
  line('COMMIT done → dispatcher claim returns (ms)', stages.toClaim);
  line('claim returns → Slack receives post (ms)', stages.send);
  line('total 202 → Slack (ms)', stages.total);
  line('statements in the processing tx', stages.statements);
  line('events in the processing batch', stages.batch);
  line('dispatcher claims that returned the alert row', stages.claims);
  console.log(`chat.postMessage by channel: ${JSON.stringify(Object.fromEntries(channels))}`);
  console.log('statements in the hot leads\' processing txs (count per tx, ms per tx):');
  for (const [kind, list] of [...hotKinds].sort((a, b) => b[1].reduce((x, y) => x + y, 0) - a[1].reduce((x, y) => x + y, 0))) {
    const n = stages.total.length || 1;
    console.log(`  ${kind.padEnd(40)} ${round(list.length / n)}×  ${round(list.reduce((x, y) => x + y, 0) / n)} ms`);
  }
  const pending = await runtime.pool.query<{ channel: string; pending: number; sent: number }>(
    `SELECT coalesce(channel, method) AS channel, count(*) FILTER (WHERE state = 'pending')::int AS pending,
       count(*) FILTER (WHERE state = 'sent')::int AS sent
     FROM slack_outbox GROUP BY 1 ORDER BY 2 DESC`,
  );
  console.log(`outbox at the end (pending/sent by channel): ${pending.rows.map((r) => `${r.channel} ${r.pending}/${r.sent}`).join(', ')}`);
  const all = summarize(txs.map((t) => (t.commitEnd ?? 0) - t.start));
  console.log(`all processing txs: ${txs.length}, p50 ${round(all.p50)} ms, p95 ${round(all.p95)} ms`);
  await runtime.stop();
  ctx.log.flush();
} finally {
  await slack.close();
  await bench.close();
}
