// `npm run rules:diff -- new.yml [--days 30]` replays the last N days of stored events through the
// running ruleset and through new.yml (the pure engine on an in-memory desk, as rules:explain does)
// and prints what would change: leads whose grade, route or alert would differ, leads per
// pipeline, and each pipeline's owner shares under both. Nothing is written. Against DATABASE_URL
// or the embedded database. Exit codes: 0 compared, 1 bad arguments or ruleset, 2 anything else.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { StoredEvent } from '../src/engine/lead-processor.ts';
import { parseRuleset, type Ruleset } from '../src/engine/ruleset.ts';
import { loadConfig, loadDotEnv } from '../src/config.ts';
import { run } from '../src/db/pool.ts';
import { selectLatestRuleset, selectRecentEvents } from '../src/db/sql/rulesets.ts';
import { createLogger } from '../src/log.ts';
import { rulesetVersion } from '../src/ruleset-file.ts';
import { checkRulesetText, formatIssue } from '../src/ruleset-lines.ts';
import { openToolDatabase } from './database.ts';
import { Desk } from './replay-desk.ts';

const USAGE = 'usage: npm run rules:diff -- new.yml [--days 30]';

interface Outcome {
  who: string;
  grade: string;
  route: string;
  owner: string | null;
  alerted: boolean;
}

/** Each lead's grade, route, owner and whether it would alert, after the whole replay. */
function replay(ruleset: Ruleset, events: readonly StoredEvent[]): Map<string, Outcome> {
  const desk = new Desk(ruleset);
  const outcomes = new Map<string, Outcome>();
  for (const event of events) {
    const applied = desk.apply(event);
    if (applied === null) continue;
    const { lead, outcome, routed } = applied;
    const key = outcome.state.email ?? lead.state.leadId;
    const before = outcomes.get(key);
    const alerted = outcome.changes.some(
      (c) => c.kind === 'critical_signal' || (c.kind === 'threshold_crossed' && c.direction === 'up' && c.threshold === ruleset.slack.hot_threshold),
    );
    const decision = routed?.decision;
    const assigned = routed?.assignment?.outcome;
    outcomes.set(key, {
      who: key,
      grade: outcome.state.grade,
      route: decision === undefined ? (before?.route ?? 'pool') : decision.kind === 'route' ? decision.pipelineId : decision.kind,
      owner: assigned !== undefined && 'memberId' in assigned ? assigned.memberId : (before?.owner ?? null),
      alerted: (before?.alerted ?? false) || alerted,
    });
  }
  return outcomes;
}

function shares(outcomes: Map<string, Outcome>): Map<string, Map<string, number>> {
  const byPipeline = new Map<string, Map<string, number>>();
  for (const o of outcomes.values()) {
    if (o.owner === null) continue;
    const owners = byPipeline.get(o.route) ?? new Map<string, number>();
    owners.set(o.owner, (owners.get(o.owner) ?? 0) + 1);
    byPipeline.set(o.route, owners);
  }
  return byPipeline;
}

function report(running: Ruleset, next: Ruleset, before: Map<string, Outcome>, after: Map<string, Outcome>, days: number, events: number): string[] {
  const out = [`replayed ${events} events of the last ${days} days: running ${running.version} vs ${next.version}`];
  const differing = [...after.values()].filter((o) => {
    const b = before.get(o.who);
    return b === undefined || b.grade !== o.grade || b.route !== o.route || b.alerted !== o.alerted;
  });
  out.push(`${differing.length} of ${after.size} leads would differ`);
  for (const o of differing.slice(0, 50)) {
    const b = before.get(o.who);
    const parts = [
      b?.grade !== o.grade ? `grade ${b?.grade ?? '-'} → ${o.grade}` : null,
      b?.route !== o.route ? `route ${b?.route ?? '-'} → ${o.route}` : null,
      b?.alerted !== o.alerted ? (o.alerted ? 'would alert' : 'would no longer alert') : null,
    ].filter((p) => p !== null);
    out.push(`  ${o.who}: ${parts.join(', ')}`);
  }
  if (differing.length > 50) out.push(`  … and ${differing.length - 50} more`);
  const count = (m: Map<string, Outcome>, route: string) => [...m.values()].filter((o) => o.route === route).length;
  const routes = [...new Set([...before.values(), ...after.values()].map((o) => o.route))].sort();
  out.push('leads per route (running → new):');
  for (const route of routes) out.push(`  ${route}: ${count(before, route)} → ${count(after, route)}`);
  const [sharesBefore, sharesAfter] = [shares(before), shares(after)];
  out.push('owner shares per pipeline (running → new):');
  for (const pipeline of [...new Set([...sharesBefore.keys(), ...sharesAfter.keys()])].sort()) {
    const b = sharesBefore.get(pipeline) ?? new Map<string, number>();
    const a = sharesAfter.get(pipeline) ?? new Map<string, number>();
    const total = (m: Map<string, number>) => Math.max(1, [...m.values()].reduce((x, y) => x + y, 0));
    const members = [...new Set([...b.keys(), ...a.keys()])].sort();
    const pct = (m: Map<string, number>, id: string) => `${Math.round((100 * (m.get(id) ?? 0)) / total(m))}%`;
    out.push(`  ${pipeline}: ${members.map((id) => `${id} ${pct(b, id)} → ${pct(a, id)}`).join(', ')}`);
  }
  return out;
}

function fail(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { days: { type: 'string', default: '30' } } });
const file = positionals[0];
const days = Number(values.days);
if (file === undefined || positionals.length > 1) fail(USAGE, 1);
if (!Number.isInteger(days) || days < 1 || days > 3_650) fail('--days must be 1–3650', 1);
const text = await readFile(file, 'utf8').catch((err: unknown) => fail(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, 1));
const check = checkRulesetText(text, rulesetVersion(text));
if (!check.ok) fail(check.issues.map((issue) => formatIssue(file, issue)).join('\n'), 1);

loadDotEnv();
const database = await openToolDatabase(loadConfig(), createLogger('warn'), 'leadline-rules-diff');
let exitCode = 0;
try {
  const [latest] = await run(database.pool, selectLatestRuleset());
  if (latest === undefined) throw new Error('no ruleset has run against this database yet');
  const running = parseRuleset(latest.body, { version: latest.version });
  const since = new Date(Date.now() - days * 86_400_000);
  const rows = await run(database.pool, selectRecentEvents(since));
  const events: StoredEvent[] = rows.map((row) => ({ ...row.event, id: row.id }));
  const lines = report(running, check.ruleset, replay(running, events), replay(check.ruleset, events), days, events.length);
  console.log(lines.join('\n'));
} catch (err) {
  console.error(`rules:diff failed: ${err instanceof Error ? err.message : String(err)}`);
  exitCode = 2;
} finally {
  await database.close();
}
process.exit(exitCode);
