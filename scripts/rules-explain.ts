// `npm run rules:explain -- file.yml events.jsonl [--source name]` replays native events (one JSON
// body per line) through the pure engine, in file order, and prints what each did to its lead:
// score and grade, intents, the routing decision and the owner, with the engine's own reasons.
// No database: leads, deals and the assignment ledgers live in memory for the run, so a rule
// change can be tried on a fixed event file before it is deployed. Each event's occurred_at is
// the clock, so the output for a given pair of files never changes.
import { readFile } from 'node:fs/promises';
import { identityKeys } from '../src/engine/identity.ts';
import { explainAssignment, explainRouting } from '../src/engine/explain.ts';
import { intentShares } from '../src/engine/facts.ts';
import type { LeadChange, LeadOutcome, StoredEvent } from '../src/engine/lead-processor.ts';
import { mapNative } from '../src/engine/mappers/native.ts';
import type { Ruleset } from '../src/engine/ruleset.ts';
import { rulesetVersion } from '../src/ruleset-file.ts';
import { checkRulesetText, formatIssue } from '../src/ruleset-lines.ts';
import { Desk, type Lead, type Routed } from './replay-desk.ts';

const USAGE = 'usage: npm run rules:explain -- file.yml events.jsonl [--source name]';

/** Exits with the message on stderr: every expected failure ends here, never in a stack trace. */
function die(lines: readonly string[]): never {
  for (const line of lines) console.error(line);
  process.exit(1);
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    return die([`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`]);
  }
}

function parseArgs(argv: readonly string[]): { rules: string; events: string; source: string | null } {
  const positional: string[] = [];
  let source: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--source') {
      source = argv[++i] ?? die([USAGE]);
    } else {
      positional.push(argv[i]!);
    }
  }
  const [rules, events, ...extra] = positional;
  if (rules === undefined || events === undefined || extra.length > 0) die([USAGE]);
  return { rules, events, source };
}

/** The source events are stamped with (rules may test `source`): named, else the first native one. */
function sourceName(ruleset: Ruleset, wanted: string | null): string {
  if (wanted === null) return ruleset.sources.find((s) => s.format === 'native')?.name ?? 'native';
  if (ruleset.sources.length > 0 && !ruleset.sources.some((s) => s.name === wanted)) {
    die([`--source ${wanted}: not a source of the ruleset (${ruleset.sources.map((s) => s.name).join(', ')})`]);
  }
  return wanted;
}

// Placeholder receive time for the mapper; events without occurred_at are refused before it matters.
const NO_CLOCK = new Date(0);
const NO_HEADERS = { get: () => null };

/**
 * Every line mapped to events, or every bad line's problems (`file:line path: reason`). The whole
 * file is checked before anything is replayed, so a replay is never cut off halfway.
 */
function readEvents(file: string, text: string, source: string): { line: number; event: StoredEvent }[] {
  const events: { line: number; event: StoredEvent }[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (err) {
      problems.push(`${file}:${line} (json): ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const mapped = mapNative(body, { source, receivedAt: NO_CLOCK, headers: NO_HEADERS });
    if (!mapped.ok) {
      for (const issue of mapped.issues) problems.push(`${file}:${line} ${issue.path}: ${issue.message}`);
      return;
    }
    const bodies = isBatch(body) ? body.events : [body];
    mapped.events.forEach((event, i) => {
      const at = (bodies[i] as { occurred_at?: unknown } | undefined)?.occurred_at;
      if (at === undefined) {
        const path = isBatch(body) ? `events.${i}.occurred_at` : 'occurred_at';
        problems.push(`${file}:${line} ${path}: required here (each event's time is the replay's clock)`);
        return;
      }
      // Intake gives sender-less ids one of its own; the line (and position) is this file's.
      const id = event.id ?? (bodies.length > 1 ? `line-${line}.${i}` : `line-${line}`);
      events.push({ line, event: { ...event, id } });
    });
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
    die([...shown, `${file}: not replayed; fix the lines above`]);
  }
  return events;
}

function isBatch(body: unknown): body is { events: unknown[] } {
  return typeof body === 'object' && body !== null && Array.isArray((body as { events?: unknown }).events);
}

function changeText(change: LeadChange): string {
  switch (change.kind) {
    case 'threshold_crossed':
      return `${change.threshold} ${change.direction === 'up' ? 'reached' : 'left'} at ${change.score}`;
    case 'grade_changed':
      return `grade ${change.from}→${change.to}`;
    case 'intent_changed':
      return `intent ${change.from ?? 'none'}→${change.to ?? 'none'} (${change.confidence}%)`;
    case 'critical_signal':
      return `CRITICAL signal ${change.signal} (${change.ruleId})`;
  }
}

function intentText(outcome: LeadOutcome, ruleset: Ruleset): string {
  const live = intentShares(outcome.intentWeights, ruleset.intent.intents).filter((s) => s.weight > 0);
  return live.length === 0 ? 'none' : live.map((s) => `${s.intent} ${s.share}%`).join(', ');
}

function routeText(lead: Lead, routed: Routed | null, ruleset: Ruleset): string[] {
  if (routed === null) {
    if (ruleset.pipelines.length === 0) return ['  route: none (the ruleset has no pipelines)'];
    const where =
      lead.status === 'conflict'
        ? 'waits for a manager (open conflict)'
        : `has an open deal in ${lead.openDeals.map((d) => d.pipelineId).join(', ')}`;
    return [`  route: not decided again: the lead ${where}`];
  }
  const { decision, assignment } = routed;
  const head =
    decision.kind === 'route'
      ? `route → ${decision.pipelineId}, stage ${decision.stageId} (${lead.openDeals.at(-1)?.dealId ?? 'no deal'})`
      : `${decision.kind}${'cause' in decision ? ` (${decision.cause})` : ''}`;
  const lines = [`  route: ${head}`, ...explainRouting(decision, ruleset).map((s) => `    ${s}`)];
  if (assignment !== null) {
    const o = assignment.outcome;
    const owner =
      o.kind === 'member' || o.kind === 'fallback_owner'
        ? o.memberId
        : o.kind === 'queue'
          ? `queue ${o.queue}`
          : 'unassigned';
    lines.push(`  assignment: ${owner}`, ...explainAssignment(assignment).map((s) => `    ${s}`));
  }
  return lines;
}

/** The lines for one event; `lead` is still the state before it, for the score's change. */
function explainEvent(
  line: number,
  event: StoredEvent,
  lead: Lead,
  outcome: LeadOutcome,
  routed: Routed | null,
  ruleset: Ruleset,
): string[] {
  const who = outcome.state.email ?? identityKeys(event)[0]?.value ?? lead.state.leadId;
  const out = [`line ${line} ${event.id} ${event.type} ${who}`];
  if (outcome.skipped.length > 0) {
    out.push(`  skipped: ${outcome.skipped.map((s) => s.reason.replace(/_/g, ' ')).join(', ')}`);
  }
  const points = outcome.newScoreRows.map((row) => `${row.ruleId} ${row.points > 0 ? '+' : ''}${row.points}`);
  // A skipped (already applied) event gets no points by design; say so only for applied ones.
  const award =
    points.length > 0
      ? `: ${points.join(', ')}`
      : outcome.skipped.length > 0
        ? ''
        : ': no points (no rule matched, or its cap is used up)';
  const signals = outcome.newSignals.map((s) => `${s.signal} ${s.tier}`);
  const delta = outcome.state.score - lead.state.score;
  out.push(
    `  score ${outcome.state.score} (${delta >= 0 ? '+' : ''}${delta}) grade ${outcome.state.grade}${award}`,
    `  intents: ${intentText(outcome, ruleset)}${signals.length > 0 ? `; signals ${signals.join(', ')}` : ''}`,
  );
  if (outcome.changes.length > 0) out.push(`  changes: ${outcome.changes.map(changeText).join('; ')}`);
  out.push(...routeText(lead, routed, ruleset));
  return out;
}

const args = parseArgs(process.argv.slice(2));
const rulesText = await readText(args.rules);
const check = checkRulesetText(rulesText, rulesetVersion(rulesText));
if (!check.ok) die(check.issues.map((issue) => formatIssue(args.rules, issue)));
const ruleset = check.ruleset;
const events = readEvents(args.events, await readText(args.events), sourceName(ruleset, args.source));

const desk = new Desk(ruleset);
let replayed = 0;
for (const { line, event } of events) {
  const applied = desk.apply(event);
  if (applied === null) {
    console.log(`line ${line} ${event.id} ${event.type}: a payment, settles deals, no lead`);
    continue;
  }
  const { lead, before, outcome, routed } = applied;
  console.log(explainEvent(line, event, { ...lead, state: before }, outcome, routed, ruleset).join('\n'));
  replayed += 1;
}
console.log(
  `ruleset ${ruleset.label} (${ruleset.version}): ${replayed} events, ${desk.leadCount} leads, ` +
    `${desk.routed} routed, ${desk.conflicts} conflicts`,
);
