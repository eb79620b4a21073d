/**
 * Slack acknowledgement: with many leads in the database, Slack-signed `/lead <email>` commands and
 * `lead.claim` button clicks are POSTed to /slack/events, 10 at a time, and timed until the sender
 * has Bolt's HTTP 200 (Slack shows an error after 3 s; the target leaves room for Slack's own
 * network). Command answers arrive later on their response_url through the outbox: that time is
 * reported as a reference. Claims go to leads that have an open alert, so each click does a claim's
 * full work after its ack (lock, update, audit, alert re-render, outbox); every claim is checked.
 */
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import type { BenchContext, Scenario, ScenarioResult } from '../context.ts';
import { leadEmail } from '../dataset.ts';
import { cpuWindow } from '../machine.ts';
import { deriveSeed, intBetween, mulberry32 } from '../rng.ts';
import { seedLeads } from '../seed.ts';
import type { AckResult } from '../slack-probes.ts';
import { SLACK_SIGNING_SECRET, startSlackSide } from '../slack-side.ts';
import { round, seconds } from '../stats.ts';

const TARGET_P99_MS = 50;
const WARM_REQUESTS = 40;
const PACED_COMMANDS = 40;
const PACED_SPACING_MS = 250;

/** `/lead <email>` exists only once src/runtime.ts registers the command; `/lead ping` always does. */
async function leadCommandWired(): Promise<boolean> {
  const runtime = await readFile(fileURLToPath(new URL('../../src/runtime.ts', import.meta.url)), 'utf8');
  return /registerLeadCommand\(/.test(runtime);
}

/** The Slack member who types and clicks: an active rep, so claims make them the owner. */
function clicker(ctx: BenchContext): string {
  const member = ctx.ruleset.team.members.find((m) => m.role === 'rep' && m.active !== false);
  if (member === undefined) throw new Error('the ruleset has no active rep');
  return member.slack_user_id;
}

/** Spread, distinct lead ids in 1..leads (the seed numbers leads from 1). */
function spreadIds(leads: number, count: number, offset: number): number[] {
  const step = Math.floor(leads / count);
  return Array.from({ length: count }, (_, i) => 1 + i * step + (offset % Math.max(1, step)));
}

function ackRow(name: string, result: AckResult, notes: string): ScenarioResult {
  const { p50, p95, p99, max } = result.ack;
  return {
    name,
    figure: p99,
    unit: 'ms',
    target: `≤ ${TARGET_P99_MS} ms`,
    met: result.failures === 0 && p99 <= TARGET_P99_MS,
    notes:
      `p50 ${round(p50)} ms, p95 ${round(p95)} ms, max ${round(max)} ms; ${result.ok} of ${result.sent} acked` +
      ` in ${seconds(result.durationMs)}` +
      (result.failures > 0 ? `; ${result.failures} FAILED (first: ${result.firstFailure})` : '') +
      `; ${notes}`,
    details: { ...result },
  };
}

export const slackAck: Scenario = {
  name: 'slack-ack',
  title: 'Slack acknowledgement: /lead and lead.claim acks with many leads stored',
  run: async (ctx: BenchContext): Promise<ScenarioResult[]> => {
    const { ackLeads, ackRequests, ackConcurrency } = ctx.sizes;
    const url = await ctx.createDatabase('bench_slack_ack');
    const admin = createPool(url, 2, 'leadline-bench');
    const slack = await startSlackSide();
    try {
      await migrate(admin);
      const seedClient = new pg.Client({ connectionString: url });
      await seedClient.connect();
      const seedStarted = performance.now();
      const timings = await seedLeads(seedClient, {
        leads: ackLeads,
        scoreRowsPerLead: 2,
        maxAgeDays: 30,
        dueShare: 0,
        signalEvery: 10,
        now: new Date(),
        ruleset: ctx.ruleset,
      }).finally(() => seedClient.end());
      const claimIds = spreadIds(ackLeads, ackRequests, 0);
      const warmClaimIds = spreadIds(ackLeads, WARM_REQUESTS, 7);
      // Open alerts for the leads to be claimed, as the processing job leaves them (message not yet posted).
      const sla = ctx.ruleset.sla.claim_minutes.HIGH;
      await admin.query(
        `INSERT INTO lead_alerts (lead_id, reason, priority, channel, outbox_key, sla_due_at, sla_next_at, ruleset_version)
         SELECT id, 'hot', 'HIGH', $2, 'alert:bench:' || id, now() + $3 * interval '1 minute',
           now() + $3 * interval '1 minute', $4
         FROM unnest($1::bigint[]) AS id`,
        [[...claimIds, ...warmClaimIds], ctx.ruleset.slack.hot_leads_channel, sla, ctx.ruleset.version],
      );
      ctx.progress(
        `slack-ack: seeded ${ackLeads.toLocaleString('en-US')} leads and ${claimIds.length + warmClaimIds.length} open alerts in ${seconds(performance.now() - seedStarted)}`,
      );

      const lookups = await leadCommandWired();
      const rng = mulberry32(deriveSeed(ctx.seed, 'slack-ack'));
      // Slack escapes emails in command text (`should_escape`): `<mailto:a@b.c|a@b.c>`.
      const commandTexts = (count: number) =>
        Array.from({ length: count }, () => {
          if (!lookups) return 'ping';
          const email = leadEmail(intBetween(rng, 1, ackLeads + 1));
          return `<mailto:${email}|${email}>`;
        });
      const userId = clicker(ctx);
      const runtime = await ctx.startLeadline({ databaseUrl: url, role: 'all', slackApiUrl: slack.baseUrl });
      try {
        const baseUrl = runtime.url;
        if (baseUrl === null) throw new Error('no HTTP server');
        const common = { leadlineUrl: baseUrl, signingSecret: SLACK_SIGNING_SECRET, userId };
        const command = lookups ? '/lead <email>' : '/lead ping';
        // Warm-up: the bot identity (one auth.test), JIT, pools, sockets. Claims come after the
        // commands: each claim re-posts its alert in one channel, paced at one a second, and the
        // dispatcher's waits between those posts would hold back the command answers measured here.
        const warmCommands = await slack.acks({
          ...common,
          kind: 'command',
          items: commandTexts(WARM_REQUESTS),
          concurrency: ackConcurrency,
          answerWaitMs: lookups ? 10_000 : 0,
          tag: 'warm-cmd',
        });
        if (warmCommands.ok === 0) throw new Error(`warm-up refused: ${warmCommands.firstFailure}`);
        // Leadline runs in this process: its event-loop delay is what an ack waits behind.
        const commandLoop = monitorEventLoopDelay({ resolution: 5 });
        commandLoop.enable();
        const cpuCommands = await cpuWindow();
        const commands = await slack.acks({
          ...common,
          kind: 'command',
          items: commandTexts(ackRequests),
          concurrency: ackConcurrency,
          answerWaitMs: lookups ? 30_000 : 0,
          tag: 'cmd',
        });
        const commandCpu = await cpuCommands.end();
        commandLoop.disable();
        // The burst above answers as fast as lookups run back to back; one person's pace shows the
        // answer time of a single command.
        const paced = lookups
          ? await slack.acks({
              ...common,
              kind: 'command',
              items: commandTexts(PACED_COMMANDS),
              concurrency: 1,
              spacingMs: PACED_SPACING_MS,
              answerWaitMs: 10_000,
              tag: 'paced',
            })
          : null;
        const warmClaims = await slack.acks({
          ...common,
          kind: 'claim',
          items: warmClaimIds.map(String),
          concurrency: ackConcurrency,
          answerWaitMs: 0,
          tag: 'warm-claim',
        });
        if (warmClaims.ok === 0) throw new Error(`warm-up refused: ${warmClaims.firstFailure}`);
        const claimLoop = monitorEventLoopDelay({ resolution: 5 });
        claimLoop.enable();
        const cpuClaims = await cpuWindow();
        const claims = await slack.acks({
          ...common,
          kind: 'claim',
          items: claimIds.map(String),
          concurrency: ackConcurrency,
          answerWaitMs: 0,
          tag: 'claim',
        });
        claimLoop.disable();
        // Claims work after their ack: give the last ones a moment, then check every one landed.
        let claimed = 0;
        for (let tries = 0; tries < 50; tries++) {
          const { rows } = await admin.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM leads WHERE id = ANY($1::bigint[]) AND claimed_by_slack_user = $2`,
            [claimIds, userId],
          );
          claimed = rows[0]?.n ?? 0;
          if (claimed >= claims.ok) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const claimCpu = await cpuClaims.end();
        const alerts = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM lead_alerts WHERE lead_id = ANY($1::bigint[]) AND state = 'claimed'`,
          [claimIds],
        );
        // Where an answer's time went: before the outbox (the lookup) or in it (the dispatcher).
        const outbox = await admin.query<{ p50: number; p95: number; max: number; spread: number }>(
          `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95, max(ms) AS max,
             extract(epoch FROM max(created_at) - min(created_at)) * 1000 AS spread
           FROM (SELECT created_at, extract(epoch FROM sent_at - created_at) * 1000 AS ms
                 FROM slack_outbox WHERE method = 'response_url' AND response_url LIKE '%/response/cmd-%') o`,
        );
        const waits = outbox.rows[0];
        const stats = await slack.stats();
        ctx.progress(
          `slack-ack: ${command} ack p99 ${round(commands.ack.p99)} ms` +
            (paced?.answer == null ? '' : `, answer p99 ${round(paced.answer.p99)} ms paced`) +
            (commands.answer === null ? '' : ` (${round(commands.answer.p99)} ms in the burst)`) +
            `; lead.claim ack p99 ${round(claims.ack.p99)} ms; ${claimed}/${claimIds.length} claimed`,
        );
        const cpuNote = (usage: Awaited<ReturnType<typeof cpuCommands.end>>, loop: ReturnType<typeof monitorEventLoopDelay>) =>
          `Leadline ${Math.round(usage.processCores * 100)}% of a core, machine ${Math.round((usage.machineShare ?? 0) * 100)}% busy` +
          `, event-loop delay p99 ${round(loop.percentile(99) / 1e6)} ms (max ${round(loop.max / 1e6)})`;
        const rows: ScenarioResult[] = [
          ackRow(
            `slack ack ${command} p99`,
            commands,
            `${ackConcurrency} at a time, ${ackLeads.toLocaleString('en-US')} leads` +
              (lookups ? `; ${commands.answered} answered on the response_url` : '; /lead is not registered in src/runtime.ts: measured /lead ping') +
              `; ${cpuNote(commandCpu, commandLoop)}`,
          ),
        ];
        if (commands.answer !== null && paced?.answer != null) {
          const a = paced.answer;
          const burst = commands.answer;
          rows.push({
            name: `slack answer ${command} p99`,
            figure: a.p99,
            unit: 'ms',
            target: 'reference',
            met: null,
            notes:
              `request sent → lead card on its response_url (through the outbox), ${PACED_COMMANDS} commands one every ${PACED_SPACING_MS} ms: ` +
              `p50 ${round(a.p50)} ms, max ${round(a.max)} ms, ${paced.answered}/${paced.ok} answered` +
              (paced.failures > 0 ? `, ${paced.failures} FAILED` : '') +
              `; during the ${ackConcurrency}-at-a-time burst (${Math.round(commands.ok / (commands.durationMs / 1000))} commands/s): ` +
              `p50 ${round(burst.p50)} ms, p99 ${round(burst.p99)} ms` +
              (waits === undefined
                ? ''
                : `, of which in the outbox (enqueued → sent) p50 ${round(waits.p50)} ms, p95 ${round(waits.p95)} ms; burst answers enqueued over ${round(waits.spread)} ms`),
            details: { paced, outbox: waits },
          });
        }
        const claimRow = ackRow(
          'slack ack lead.claim p99',
          claims,
          `${claimed}/${claimIds.length} leads claimed, ${alerts.rows[0]?.n ?? 0} alerts closed as claimed; ${cpuNote(claimCpu, claimLoop)}` +
            `; fake Slack ${JSON.stringify(stats.calls)}, ${stats.failedCalls} refused, ${stats.blockKitViolations} Block Kit violations`,
        );
        if (claimed < claimIds.length) claimRow.met = false;
        rows.push({ ...claimRow, details: { ...claimRow.details, seedMs: timings, slack: stats, warm: [warmCommands, warmClaims] } });
        return rows;
      } finally {
        await runtime.stop();
      }
    } finally {
      await slack.close();
      await admin.end();
    }
  },
};
