/**
 * Diagnostic (not part of `npm run bench`): why answers that go through the Slack outbox take
 * their time. Starts Leadline (role `all`, Slack on, a fake Slack in this process), seeds leads,
 * sends Slack-signed `/lead <email>` commands 10 at a time, and prints a timeline of the outbox
 * writes, delivery-job kicks, pg-boss fetches of the delivery queue, dispatcher claims and the
 * answers Slack receives.
 *
 *   node --experimental-strip-types bench/tools/outbox-stages.ts [commands=100] [leads=10000] [send]
 *
 * With `send`, kicks of the delivery queue insert-if-absent (`boss.send` with the singleton key:
 * no row lock on a waiting wake-up) instead of pg-boss `upsert` (an UPDATE of the waiting wake-up,
 * whose row lock pg-boss's SKIP LOCKED fetch then skips), to compare without editing src.
 */
import http from 'node:http';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { migrate } from '../../src/db/migrate.ts';
import { startFakeSlack } from '../../tests/support/fake-slack.ts';
import { FORM, signSlackRequest, slashCommandBody } from '../../tests/support/slack-signer.ts';
import { leadEmail } from '../dataset.ts';
import { post } from '../load.ts';
import { seedLeads } from '../seed.ts';
import { SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET } from '../slack-side.ts';
import { round, summarize } from '../stats.ts';
import { openWorkbench } from './workbench.ts';

const commands = Number(process.argv[2] ?? 100);
const leads = Number(process.argv[3] ?? 10_000);
if (process.argv[4] === 'send') {
  const upsert = PgBoss.prototype.upsert;
  Object.assign(PgBoss.prototype, {
    upsert(this: PgBoss, ...args: Parameters<PgBoss['upsert']>) {
      const [name, data, options] = args as unknown as [string, object, Record<string, unknown> | undefined];
      if (name !== 'slack-delivery') return upsert.apply(this, args);
      return this.send(name, data, { ...options, startAfter: undefined } as never);
    },
  });
}

const events: { t: number; what: string }[] = [];
const t0 = performance.now();
const mark = (what: string) => events.push({ t: performance.now() - t0, what });

type Callback = (err: Error | null, result: { rows?: unknown[] }) => void;
const rowCount = (result: { rows?: unknown[] } | undefined) => result?.rows?.length ?? 0;
const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
Object.assign(pg.Client.prototype, {
  query(this: object, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
    let what: string | null = null;
    if (text.startsWith('CREATE') || text.includes('CREATE TABLE')) what = null;
    else if (text.includes('INSERT INTO slack_outbox')) what = 'outbox write';
    else if (text.includes('FROM slack_outbox') && text.includes('SKIP LOCKED')) what = 'dispatcher claim';
    else if (text.includes("'slack-delivery'") || text.includes('slack-delivery')) {
      what = /FOR UPDATE SKIP LOCKED|state = 'active'/.test(text) && /SELECT/.test(text) ? 'boss fetch/complete' : 'boss kick/other';
    }
    if (what === null) return original.apply(this, args);
    const label = what;
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      const wrapped: Callback = (err, result) => {
        mark(`${label} → ${err === null ? rowCount(result) : 'error'} rows`);
        (callback as Callback)(err, result);
      };
      return original.apply(this, [...args.slice(0, -1), wrapped]);
    }
    return (original.apply(this, args) as Promise<{ rows?: unknown[] }>).then((r) => {
      mark(`${label} → ${rowCount(r)} rows`);
      return r;
    });
  },
});

const bench = await openWorkbench('outbox-stages', (line) => {
  if (/FATAL|PANIC|shutdown|terminat/i.test(line)) console.log('PG:', line.trim());
});
const { ctx, ruleset } = bench;
const slack = await startFakeSlack({ token: SLACK_BOT_TOKEN });
try {
  const url = await ctx.createDatabase('outbox_stages');
  const migrator = new pg.Pool({ connectionString: url, max: 1 });
  await migrate(migrator);
  await migrator.end();
  const seedClient = new pg.Client({ connectionString: url });
  await seedClient.connect();
  await seedLeads(seedClient, { leads, scoreRowsPerLead: 2, maxAgeDays: 30, dueShare: 0, signalEvery: 10, now: new Date(), ruleset });
  await seedClient.end();
  console.log('seeded');
  const runtime = await ctx.startLeadline({ databaseUrl: url, role: 'all', slackApiUrl: slack.baseUrl });
  console.log('started');
  slack.onCall((call) => {
    if (call.method === 'response_url') mark(`slack ← response_url ${call.responseId ?? ''}`);
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  const base = new URL(runtime.url ?? '');
  const send = async (i: number) => {
    const email = leadEmail(1 + ((i * 7919) % leads));
    const body = slashCommandBody({
      command: '/lead',
      text: `<mailto:${email}|${email}>`,
      userId: 'U0AAAA001',
      responseUrl: slack.responseUrl(`c${i}`),
    });
    const headers = signSlackRequest({ signingSecret: SLACK_SIGNING_SECRET, body, timestamp: Math.floor(Date.now() / 1000) });
    mark(`send c${i}`);
    await post(agent, base, { path: '/slack/events', headers, body, contentType: FORM }, 10_000);
    mark(`ack c${i}`);
  };
  // Warm-up, then a quiet second, then the measured burst.
  for (let i = 0; i < 20; i++) await send(1_000_000 + i);
  console.log('warm');
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  events.length = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      for (let i = next++; i < commands; i = next++) await send(i);
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  agent.destroy();
  const sent = new Map<string, number>();
  const answers: number[] = [];
  for (const e of events) {
    const id = /^send (c\d+)$/.exec(e.what)?.[1];
    if (id !== undefined) sent.set(id, e.t);
    const answered = /response_url (c\d+)$/.exec(e.what)?.[1];
    if (answered !== undefined && sent.has(answered)) answers.push(e.t - (sent.get(answered) ?? 0));
  }
  const a = summarize(answers);
  console.log(`answers: ${a.count}/${commands}, command sent → answer received p50 ${round(a.p50)} ms, p95 ${round(a.p95)} ms, max ${round(a.max)} ms`);
  // Compress runs of the same kind of event into one line.
  let last = '';
  let count = 0;
  let from = 0;
  const flush = (until: number) => {
    if (count > 0) console.log(`${round(from).toString().padStart(8)} – ${round(until).toString().padStart(8)} ms  ${last} ×${count}`);
  };
  let prevT = 0;
  for (const e of events) {
    const kind = e.what.replace(/c\d+$/, 'c*').replace(/response_url \S+$/, 'response_url');
    if (kind !== last) {
      flush(prevT);
      last = kind;
      count = 0;
      from = e.t;
    }
    count += 1;
    prevT = e.t;
  }
  flush(prevT);
  await runtime.stop();
  ctx.log.flush();
} catch (err) {
  console.error('outbox-stages failed:', err);
} finally {
  await slack.close();
  await bench.close();
}
