/**
 * Memory: the peak resident set of a Leadline process started as `npm start` starts it (its own
 * Node process, role `all`, Slack on against the fake Slack, schedules on, decay not due), while a
 * representative mix runs through it: signed webhooks at a steady rate (every event type, so some
 * leads turn hot and alerts go out), demo requests from new leads (hot-lead alerts), a CSV import,
 * `/lead` lookups and Claim clicks, and then the processing backlog draining. The figure is the
 * kernel's high-water mark for that process (VmHWM in /proc/<pid>/status); the harness, the load
 * generators, the fake Slack and PostgreSQL all run in other processes.
 *
 * The other scenarios run Leadline inside the benchmark process, next to seeding and the harness;
 * that process's own peak is reported in the notes for comparison, not as the figure.
 */
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import type { BenchContext, Scenario, ScenarioResult } from '../context.ts';
import { DOMAINS, leadEmail } from '../dataset.ts';
import { type ProcessMemory, processMemorySampler, startLeadlineProcess } from '../leadline-process.ts';
import { startLoad } from '../load.ts';
import { intBetween, mulberry32, deriveSeed } from '../rng.ts';
import { SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, startSlackSide } from '../slack-side.ts';
import { seconds } from '../stats.ts';

const TARGET_MB = 250;
const IMPORT_TOKEN = 'leadline-bench-memory-import-0123';
const LEAD_RANGE = 20_000;
const SENDERS = 20;
const RATE = 200;
const SPACING_MS = 250;
const HOT_SPACING_MS = 1_200;

interface Mix {
  hotLeads: number;
  commands: number;
  csvRows: number;
}

const mixFor = (quick: boolean): Mix =>
  quick ? { hotLeads: 15, commands: 60, csvRows: 5_000 } : { hotLeads: 50, commands: 200, csvRows: 20_000 };

const mb = (value: number | undefined) => Math.round(value ?? 0);
const describe = (m: ProcessMemory | undefined) =>
  m === undefined ? '?' : `${mb(m.rssMb)} MB (anon ${mb(m.anonMb)}, file ${mb(m.fileMb)})`;

/** A trade-fair list: new people, every 20th row a repeat of an earlier one. */
function csvText(rows: number): string {
  const lines = ['email,first_name,last_name,company,type'];
  for (let n = 1; n <= rows; n++) {
    const person = n % 20 === 0 ? n - 7 : n;
    const type = n % 5 === 0 ? 'webinar.attended' : '';
    lines.push(`fair${person}@${DOMAINS[person % DOMAINS.length]},Fair,Visitor ${person},,${type}`);
  }
  return `${lines.join('\n')}\n`;
}

function uploadCsv(baseUrl: string, body: string): Promise<{ status: number; text: string }> {
  const url = new URL('/imports?source=fair-memory', baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${IMPORT_TOKEN}`, 'content-type': 'text/csv' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error('import did not answer within 120 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** A decay schedule twelve hours away: the mix is decay-free (the decay scenario measures decay). */
function decayCronAway(): string {
  return `0 ${(new Date().getUTCHours() + 12) % 24} * * *`;
}

async function runMix(ctx: BenchContext): Promise<ScenarioResult[]> {
  const mix = mixFor(ctx.quick);
  const slack = await startSlackSide();
  const db = await ctx.createDatabase('bench_memory');
  const client = new pg.Client({ connectionString: db });
  try {
    const logFile = path.join(ctx.tmpDir, `leadline-memory-${Date.now()}.log`);
    const leadline = await startLeadlineProcess({
      databaseUrl: db,
      role: 'all',
      logFile,
      cwd: ctx.tmpDir,
      env: {
        LEADLINE_SECRET_WEBSITE: ctx.secret,
        LEADLINE_IMPORT_TOKEN: IMPORT_TOKEN,
        LEADLINE_DECAY_CRON: decayCronAway(),
        SLACK_BOT_TOKEN,
        SLACK_SIGNING_SECRET,
        SLACK_API_URL: slack.baseUrl,
        SLACK_TIMEOUT_MS: '5000',
      },
    });
    const sampler = processMemorySampler(leadline.pid);
    const started = performance.now();
    let stopLoad = () => {};
    try {
      await client.connect();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      sampler.mark('idle');
      ctx.progress(`memory: ${leadline.command} pid ${leadline.pid} at ${leadline.url}`);
      const load = startLoad({
        baseUrl: leadline.url,
        plan: {
          kind: 'webhook',
          path: '/webhooks/website',
          seed: ctx.seed,
          secret: ctx.secret,
          tag: 'mem',
          leadRange: LEAD_RANGE,
          newLeadShare: 0.1,
        },
        concurrency: SENDERS,
        perWorker: Math.ceil((RATE * 600) / SENDERS),
        maxSeconds: 600,
        ratePerSecond: RATE,
        expectStatus: [202],
      });
      stopLoad = load.stop;
      const hot = await slack.hotLeads({
        leadlineUrl: leadline.url,
        secret: ctx.secret,
        tag: `mem${ctx.seed}`,
        count: mix.hotLeads,
        spacingMs: HOT_SPACING_MS,
        // Alerts share one paced channel with those of ordinary leads turning hot; their timing is
        // the speed-to-lead scenario's business, not this one's.
        waitMs: 1_000,
        channel: ctx.ruleset.slack.hot_leads_channel,
      });
      sampler.mark('after hot leads');
      const rep = ctx.ruleset.team.members.find((m) => m.role === 'rep' && m.active !== false);
      if (rep === undefined) throw new Error('the ruleset has no active rep');
      const rng = mulberry32(deriveSeed(ctx.seed, 'memory-commands'));
      const common = { leadlineUrl: leadline.url, signingSecret: SLACK_SIGNING_SECRET, userId: rep.slack_user_id };
      const [imported, commands] = await Promise.all([
        uploadCsv(leadline.url, csvText(mix.csvRows)),
        slack.acks({
          ...common,
          kind: 'command',
          items: Array.from({ length: mix.commands }, () => {
            const email = leadEmail(intBetween(rng, 1, LEAD_RANGE + 1));
            return `<mailto:${email}|${email}>`;
          }),
          concurrency: 1,
          spacingMs: SPACING_MS,
          answerWaitMs: 5_000,
          tag: 'mem-cmd',
        }),
      ]);
      if (imported.status !== 202) throw new Error(`import answered ${imported.status}: ${imported.text.slice(0, 200)}`);
      const hotIds = await client.query<{ id: string }>(`SELECT id::text FROM leads WHERE email LIKE 'hot-%' ORDER BY id`);
      const claims = await slack.acks({
        ...common,
        kind: 'claim',
        items: hotIds.rows.map((r) => r.id),
        concurrency: 1,
        spacingMs: SPACING_MS,
        answerWaitMs: 0,
        tag: 'mem-claim',
      });
      load.stop();
      const background = await load.done;
      sampler.mark('load stopped');
      // The backlog the load left is part of the run: processing it is where batches are biggest.
      const drainDeadline = performance.now() + 60_000;
      let unprocessed = Number.NaN;
      while (performance.now() < drainDeadline) {
        const { rows } = await client.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM intake_events WHERE processed_at IS NULL',
        );
        unprocessed = rows[0]?.n ?? 0;
        if (unprocessed === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const outcome = await client.query<{ events: number; leads: number; alerts: number }>(
        `SELECT (SELECT count(*)::int FROM intake_events) AS events, (SELECT count(*)::int FROM leads) AS leads,
           (SELECT count(*)::int FROM lead_alerts) AS alerts`,
      );
      const final = await leadline.memory();
      const cpuMs = (await leadline.cpuMs()) ?? Number.NaN;
      const series = await sampler.stop();
      const stats = await slack.stats();
      const elapsed = performance.now() - started;
      const exitCode = await leadline.stop();
      if (final === null) throw new Error('Leadline process gone before its memory was read');
      const { events, leads, alerts } = outcome.rows[0] ?? { events: 0, leads: 0, alerts: 0 };
      const figure = final.hwmMb;
      const benchPeak = process.resourceUsage().maxRSS / 1024;
      ctx.progress(
        `memory: Leadline peak RSS ${mb(figure)} MB (idle ${describe(series.marks['idle'])}, ` +
          `after load ${describe(series.marks['load stopped'])}, end ${describe(final)})`,
      );
      return [
        {
          name: 'peak RSS (Leadline process)',
          figure,
          unit: 'MB',
          target: `≤ ${TARGET_MB} MB`,
          met: figure <= TARGET_MB && exitCode === 0,
          notes:
            `${leadline.command}, ${seconds(elapsed)}: ${background.ok} webhooks at ${Math.round(background.okPerSecond)}/s` +
            (background.failures > 0 ? ` (${background.failures} refused: ${background.firstFailure})` : '') +
            `, ${hot.accepted} demo requests, ${mix.csvRows.toLocaleString('en-US')}-row CSV, ` +
            `${commands.ok}/${commands.sent} /lead, ${claims.ok}/${claims.sent} claims; ${events} events, ${leads} leads, ` +
            `${alerts} alerts, ${unprocessed} unprocessed at the end; Leadline CPU ${seconds(cpuMs)} ` +
            `(${Math.round((cpuMs * 1000) / Math.max(1, events))} µs per event, start-up included); RSS after start ${describe(series.marks['idle'])}, ` +
            `at end ${describe(final)}; exit ${exitCode}; bench process (harness + in-process Leadlines) peak ${mb(benchPeak)} MB`,
          details: {
            command: leadline.command,
            mix,
            rate: RATE,
            marks: series.marks,
            final,
            cpuMs,
            samples: series.samples.map((s) => mb(s.rssMb)),
            background,
            hot: { accepted: hot.accepted, missing: hot.missing, stray: hot.strayAlerts },
            commands: { ok: commands.ok, answered: commands.answered, ack: commands.ack },
            claims: { ok: claims.ok, ack: claims.ack },
            slack: stats,
            benchProcessPeakMb: benchPeak,
            inProcessPeaks: ctx.memoryPeaks,
          },
        },
      ];
    } finally {
      stopLoad();
      await sampler.stop();
      await leadline.stop();
    }
  } finally {
    await client.end().catch(() => {});
    await slack.close();
  }
}

export const memory: Scenario = {
  name: 'memory',
  title: 'Memory: peak RSS of a Leadline process (npm start, role all) under a mixed load',
  run: runMix,
};
