/**
 * The operator reports: `/lead why <email>` (a lead's stored route and owner decisions) and
 * `/lead fairness` (leads received against target share, claims, reassignments, presence). Pure.
 * Stored explanations, lead names, pipeline names and causes enter through `plain`.
 */
import type { types } from '@slack/bolt';
import { AWAY_UNTIL_BACK } from '../../engine/presence.ts';
import { BLOCK_LIMITS, context, plain, section, truncateMrkdwn } from './mrkdwn.ts';
import { formatStamp, formatDuration } from './time.ts';
import { personText, type SlackMessage, type SlackPerson } from './views.ts';

interface DecisionBase {
  at: Date;
  /** The pipeline's name (or its id when the ruleset no longer has it); null for none. */
  pipeline: string | null;
  cause: string | null;
  explanation: readonly string[];
  rulesetVersion: string;
}

/** One stored decision, as `/lead why` lists it. */
export type DecisionView =
  | (DecisionBase & { source: 'route'; kind: string })
  | (DecisionBase & {
      source: 'owner';
      kind: string;
      dealId: number | null;
      member: SlackPerson | null;
      /** Who owned the deal before, when this decision took it from them; else null. */
      previous: SlackPerson | null;
      queue: string | null;
      byHand: boolean;
    });

export interface DecisionHistoryView {
  leadName: string;
  decisions: readonly DecisionView[];
  /** Every decision stored for the lead (more than `decisions` when the list was cut). */
  total: number;
  /** The running ruleset's version, so a reader sees which decisions an older one made. */
  currentVersion: string;
  timeZone: string;
}

const VERSION_CHARS = 12;

function versionText(version: string, current: string): string {
  const short = version.length > VERSION_CHARS ? `${version.slice(0, VERSION_CHARS)}…` : version;
  return `ruleset \`${plain(short, 40)}\`${version === current ? ' (running)' : ''}`;
}

function causeText(cause: string | null): string {
  return cause === null ? '' : ` (${plain(cause.replace(/_/g, ' '), 100)})`;
}

function pipelineText(pipeline: string | null): string {
  return pipeline === null ? 'no pipeline' : `*${plain(pipeline, 150)}*`;
}

function routeSummary(d: Extract<DecisionView, { source: 'route' }>): string {
  switch (d.kind) {
    case 'route':
      return `Routed to ${pipelineText(d.pipeline)}`;
    case 'keep':
      return `Kept in ${pipelineText(d.pipeline)}, where the lead has an open deal`;
    case 'pool':
      return `Left in the pool${causeText(d.cause)}`;
    case 'conflict':
      return `Routing conflict: a manager decides${causeText(d.cause)}`;
    default:
      return `Routing: ${plain(d.kind, 50)}${causeText(d.cause)}`;
  }
}

function ownerSummary(d: Extract<DecisionView, { source: 'owner' }>): string {
  const where = `${pipelineText(d.pipeline)}${d.dealId === null ? '' : ` deal #${d.dealId}`}`;
  const member = personText(d.member, 'nobody');
  const how = d.byHand ? ' by hand' : '';
  switch (d.kind) {
    case 'member':
      return d.previous !== null
        ? `Reassigned${how} from ${personText(d.previous)} to ${member} in ${where}`
        : `Assigned${how} to ${member} in ${where}`;
    case 'fallback_owner':
      return `Given to the fallback owner ${member} in ${where}${causeText(d.cause)}`;
    case 'queue':
      return `Waits in queue ${plain(d.queue ?? '—', 100)} in ${where}${causeText(d.cause)}`;
    case 'unassigned':
      return `Left unassigned in ${where}${causeText(d.cause)}`;
    default:
      return `Owner: ${plain(d.kind, 50)} in ${where}${causeText(d.cause)}`;
  }
}

function decisionBlock(d: DecisionView, view: DecisionHistoryView): types.KnownBlock {
  const what = d.source === 'route' ? routeSummary(d) : ownerSummary(d);
  const head = `*${formatStamp(d.at, view.timeZone)}* · ${what} · ${versionText(d.rulesetVersion, view.currentVersion)}`;
  const lines = d.explanation.map((line) => `• ${plain(line, 600)}`);
  return section(truncateMrkdwn([head, ...lines].join('\n'), BLOCK_LIMITS.sectionText));
}

/**
 * `/lead why <email>`: the lead's route and owner decisions, newest first, each with when, what was
 * decided, the stored explanation and the ruleset version that decided it.
 *
 * @example
 * renderDecisionHistory({ leadName: 'Ada Lovelace', decisions, total: 3, currentVersion: 'v2', timeZone: 'Europe/Berlin' })
 * // { text: 'Why Ada Lovelace went where it did: 3 decisions', blocks: [section, …, context] }
 */
export function renderDecisionHistory(view: DecisionHistoryView): SlackMessage {
  const name = plain(view.leadName, 200);
  if (view.decisions.length === 0) {
    const text = `Leadline has no route or owner decision stored for *${name}*: the lead has not been routed yet, or its decisions are past the retention period.`;
    return { text: text.slice(0, BLOCK_LIMITS.messageText), blocks: [section(text)] };
  }
  const count = view.total === 1 ? 'one decision' : `${view.total} decisions`;
  const blocks: types.KnownBlock[] = [section(`*Why ${name} went where it did* · ${count}, newest first`)];
  // 15 decisions at most (lead-reports): with the title and footer well inside 50 blocks.
  for (const decision of view.decisions) blocks.push(decisionBlock(decision, view));
  const shown = view.decisions.length;
  const footer =
    shown < view.total
      ? `Showing the newest ${shown} of ${view.total}. Times in ${plain(view.timeZone, 60)}.`
      : `Times in ${plain(view.timeZone, 60)}.`;
  blocks.push(context([footer]));
  return { text: `Why ${name} went where it did: ${count}`.slice(0, BLOCK_LIMITS.messageText), blocks };
}

/** One person's figures in one pipeline over the report's window. */
export interface FairnessRepView {
  person: SlackPerson;
  /** Deals the pipeline's strategy gave them. */
  received: number;
  /** Deals named to them by a person or rule (claims, assign, Reassign). */
  byHand: number;
  /** Their target share of the pipeline's rotation (0–1); 0 when they are not in it. */
  target: number;
  claims: number;
  claimsWithinSla: number;
  reassignedAway: number;
  /** Their current `/lead away`, when it runs past now. */
  awayUntil: Date | null;
  /** How long they were away in the window. */
  awayMs: number;
}

export interface FairnessPipelineView {
  name: string;
  strategy: string;
  /** Deals the strategy gave in the window, everyone together. */
  received: number;
  reps: readonly FairnessRepView[];
}

export interface FairnessReportView {
  days: number;
  from: Date;
  timeZone: string;
  pipelines: readonly FairnessPipelineView[];
}

const pct = (share: number) => `${Math.round(share * 100)}%`;
const leadsText = (n: number) => (n === 1 ? '1 lead' : `${n} leads`);

function repLine(rep: FairnessRepView, pipelineTotal: number, timeZone: string): string {
  const share = pipelineTotal === 0 ? 'no share yet' : pct(rep.received / pipelineTotal);
  const parts = [
    `${personText(rep.person)}: ${leadsText(rep.received)} (${share}, target ${pct(rep.target)})`,
  ];
  if (rep.byHand > 0) parts.push(`${rep.byHand} by hand`);
  parts.push(rep.claims === 0 ? 'no claims' : `${rep.claimsWithinSla} of ${rep.claims} claims within SLA`);
  parts.push(`${rep.reassignedAway} reassigned away`);
  if (rep.awayMs > 0) parts.push(`away ${formatDuration(rep.awayMs)} in the window`);
  if (rep.awayUntil !== null) {
    const back = rep.awayUntil.getTime() === AWAY_UNTIL_BACK.getTime();
    parts.push(`away now, ${back ? 'until they are back' : `until ${formatStamp(rep.awayUntil, timeZone)}`}`);
  }
  return parts.join(' · ');
}

/**
 * `/lead fairness [pipeline] [days]`: per pipeline, each person's leads against their target share,
 * claims within SLA, reassignments away from them, their away time in the window and whether they
 * are away now.
 *
 * @example
 * renderFairnessReport({ days: 30, from, timeZone: 'Europe/Berlin', pipelines: [b2b] })
 * // { text: 'Fairness over the last 30 days', blocks: [section, section, context] }
 */
export function renderFairnessReport(view: FairnessReportView): SlackMessage {
  const title = `Fairness over the last ${view.days === 1 ? 'day' : `${view.days} days`}`;
  const blocks: types.KnownBlock[] = [
    section(`*${title}* · since ${formatStamp(view.from, view.timeZone)} (${plain(view.timeZone, 60)})`),
  ];
  // A message holds 50 blocks: title, footer and up to 45 pipelines.
  for (const p of view.pipelines.slice(0, 45)) {
    const head = `*${plain(p.name, 150)}* · ${plain(p.strategy.replace(/_/g, ' '), 50)} · ${leadsText(p.received)} from the rotation`;
    const lines = p.reps.map((rep) => `• ${repLine(rep, p.received, view.timeZone)}`);
    const body = lines.length === 0 ? ['Nobody is in this pipeline’s rotation.'] : lines;
    blocks.push(section(truncateMrkdwn([head, ...body].join('\n'), BLOCK_LIMITS.sectionText)));
  }
  blocks.push(
    context([
      'Leads: deals the pipeline’s strategy gave, against the target share from the ruleset’s weights; by hand: claims and assignments by a person or rule. Claims: alerts the person claimed, counted for each pipeline the lead has a deal in. Reassigned away: deals that went from them to someone else.',
      'Away: time set away with `/lead away` or the Home tab within the window, from the audit log.',
    ]),
  );
  return { text: title, blocks };
}
