/**
 * The routing-conflict message managers decide in (`#lead-routing`), its resolved form, the note the
 * new owner gets, and the "already decided" answer. Pure: data in, `{ text, blocks }` out. Lead data
 * (name, company, email) and names typed into the ruleset go through `plain` (escaped once, cut to
 * the field's limit); only Leadline's own markup (`*bold*`, `userMention`) is trusted. `text` is
 * always set: it is the notification preview and what screen readers announce.
 */
import type { types } from '@slack/bolt';
import { emailDomain } from '../../engine/identity.ts';
import type { ConflictCandidate, ConflictCause } from '../../engine/routing.ts';
import {
  actions,
  BLOCK_LIMITS,
  button,
  context,
  header,
  plain,
  section,
  truncateMrkdwn,
  userMention,
} from './mrkdwn.ts';
import { clockTime } from './lead-details.ts';
import { type LeadSummary, leadDisplayName, type SlackMessage } from './views.ts';


/** A pipeline button: `value` is `<conflictId>:<pipelineId>`. */
export const CONFLICT_ROUTE_ACTION = 'conflict.route';
/** The "Keep in pool" button: `value` is `<conflictId>`. */
export const CONFLICT_POOL_ACTION = 'conflict.pool';

export interface ConflictLead extends LeadSummary {
  /** Current intent weight (points) per intent. */
  intentWeights: Readonly<Record<string, number>>;
}

/** How a conflict was decided: by whom (Slack user id) and when. */
export type ConflictDecision =
  | { kind: 'route'; pipelineId: string; by: string; at: Date; ownerSlackUserId?: string | null }
  | { kind: 'pool'; by: string; at: Date };

export interface ConflictView {
  conflictId: number;
  lead: ConflictLead;
  cause: ConflictCause;
  candidates: readonly ConflictCandidate[];
  /** Rounded confidence per configured intent, in ruleset order (the conflict's `reasons.confidences`). */
  confidences: Readonly<Record<string, number>>;
  conflictMargin: number;
  /** The deciding rule, e.g. `routing.manager_decides.key-accounts`. */
  rule: string;
  /** The manager rule's `description`, when the ruleset gives one. */
  ruleDescription?: string | null;
  /** Pipeline names from the ruleset (ids are shown for pipelines it no longer has). */
  pipelines: readonly { id: string; name: string }[];
  /** The ruleset time zone: decision times are shown in it. */
  timeZone: string;
  decision?: ConflictDecision | null;
}

const NAME_MAX = 200;
// Room for the pool button in the one actions block.
const MAX_ROUTE_BUTTONS = BLOCK_LIMITS.actionsElements - 1;

/**
 * The conflict message: the lead, its score, points and confidence per intent, why a manager has to
 * decide, and a button per candidate pipeline plus "Keep in pool" — or, once decided, who decided
 * what and when instead of the buttons.
 *
 * @example
 * renderConflict({ conflictId: 7, lead, cause: 'ambiguous_intent', candidates, confidences: { b2b: 50, research: 50 },
 *   conflictMargin: 10, rule: 'routing.conflict_margin', pipelines, timeZone: 'Europe/Berlin' })
 * // { text: 'Routing conflict: Ada Lovelace (Genomics Lab), score 45. A manager decides.', blocks: [...] }
 */
export function renderConflict(view: ConflictView): SlackMessage {
  const name = plain(leadDisplayName(view.lead, { email: false }), NAME_MAX);
  const company = view.lead.company?.trim() ? plain(view.lead.company, NAME_MAX) : null;
  const domain = emailDomain(view.lead.email);
  const who = [`*${name}*`, company, domain === null ? null : plain(domain, NAME_MAX)].filter(
    (part) => part !== null,
  );
  const grade = view.lead.grade ? ` (grade ${plain(view.lead.grade, 5)})` : '';
  const blocks: types.KnownBlock[] = [
    header(`Routing conflict: ${name}`),
    section(`${who.join(' · ')}\nScore *${view.lead.score}*${grade}`, { blockId: 'conflict-lead' }),
    section(intentLines(view), { blockId: 'conflict-intents' }),
    section(causeText(view), { blockId: 'conflict-cause' }),
  ];
  const decision = view.decision ?? null;
  if (decision === null) {
    const routable = view.candidates.filter(
      (c): c is ConflictCandidate & { pipelineId: string } => c.pipelineId !== null,
    );
    const buttons = unique(routable.map((c) => c.pipelineId))
      .slice(0, MAX_ROUTE_BUTTONS)
      .map((pipelineId) =>
        button({
          text: `Route to ${plain(pipelineName(view, pipelineId), BLOCK_LIMITS.buttonText)}`,
          // Slack wants action ids unique within a message; the listener matches the prefix.
          actionId: `${CONFLICT_ROUTE_ACTION}:${pipelineId}`,
          value: `${view.conflictId}:${pipelineId}`,
        }),
      );
    buttons.push(
      button({ text: 'Keep in pool', actionId: CONFLICT_POOL_ACTION, value: String(view.conflictId) }),
    );
    blocks.push(actions('conflict-actions', buttons));
  } else {
    const lines = [`:white_check_mark: ${decisionText(decision, view)}`];
    if (decision.kind === 'route' && decision.ownerSlackUserId) {
      lines.push(`Owner: ${userMention(decision.ownerSlackUserId)}`);
    }
    blocks.push(section(lines.join('\n'), { blockId: 'conflict-decision' }));
  }
  blocks.push(context([`Conflict #${view.conflictId} · lead #${view.lead.id} · ${plain(view.rule, 300)}`]));
  const outcome = decision === null ? 'A manager decides.' : `${decisionText(decision, view)}.`;
  const text = `Routing conflict: ${name}${company === null ? '' : ` (${company})`}, score ${view.lead.score}. ${outcome}`;
  return { text: truncateMrkdwn(text, BLOCK_LIMITS.messageText), blocks };
}

/**
 * The DM to the member who got the deal when a manager routed a conflict.
 *
 * @example
 * renderOwnerNote({ lead, pipelineName: 'B2B customers', decidedBy: 'U0LENA004', conflictId: 7 })
 * // { text: '<@U0LENA004> routed Ada Lovelace (Genomics Lab) to B2B customers; the deal is yours.', blocks: [...] }
 */
export function renderOwnerNote(input: {
  lead: ConflictLead;
  pipelineName: string;
  decidedBy: string;
  conflictId: number;
}): SlackMessage {
  const name = plain(leadDisplayName(input.lead, { email: false }), NAME_MAX);
  const company = input.lead.company?.trim() ? ` (${plain(input.lead.company, NAME_MAX)})` : '';
  const pipeline = plain(input.pipelineName, NAME_MAX);
  const text = `${userMention(input.decidedBy)} routed *${name}*${company} to *${pipeline}*; the deal is yours.`;
  const domain = emailDomain(input.lead.email);
  const facts = [`Score ${input.lead.score}`, `conflict #${input.conflictId}`];
  if (domain !== null) facts.unshift(plain(domain, NAME_MAX));
  return {
    text: truncateMrkdwn(text, BLOCK_LIMITS.messageText),
    blocks: [section(text, { blockId: 'conflict-owner' }), context([facts.join(' · ')])],
  };
}

/**
 * What a manager who clicked too late is told.
 *
 * @example
 * alreadyDecidedText({ kind: 'pool', by: 'U0LENA004', at }, 'Europe/Berlin', pipelines)
 * // 'Already decided by <@U0LENA004> at 10:42: kept in the pool.'
 */
export function alreadyDecidedText(
  decision: ConflictDecision,
  timeZone: string,
  pipelines: ConflictView['pipelines'],
): string {
  const what =
    decision.kind === 'route'
      ? `routed to ${plain(pipelineName({ pipelines }, decision.pipelineId), NAME_MAX)}`
      : 'kept in the pool';
  return `Already decided by ${userMention(decision.by)} at ${clockTime(decision.at, timeZone)}: ${what}.`;
}

function decisionText(decision: ConflictDecision, view: ConflictView): string {
  const by = `by ${userMention(decision.by)} at ${clockTime(decision.at, view.timeZone)}`;
  return decision.kind === 'route'
    ? `Routed to ${plain(pipelineName(view, decision.pipelineId), NAME_MAX)} ${by}`
    : `Kept in the pool ${by}`;
}

// Candidates first (as the conflict ranks them), then the other intents with any confidence or points.
function intentLines(view: ConflictView): string {
  const candidates = new Map(view.candidates.map((c) => [c.intent, c]));
  const intents = unique([
    ...view.candidates.map((c) => c.intent),
    ...Object.keys(view.confidences),
    ...Object.keys(view.lead.intentWeights),
  ]);
  const lines = intents.flatMap((intent) => {
    const candidate = candidates.get(intent);
    const confidence = candidate?.confidence ?? view.confidences[intent] ?? 0;
    const points = Math.round(view.lead.intentWeights[intent] ?? 0);
    if (candidate === undefined && confidence === 0 && points === 0) return [];
    const target =
      candidate === undefined
        ? ''
        : candidate.pipelineId === null
          ? ' → no pipeline serves this intent'
          : ` → ${plain(pipelineName(view, candidate.pipelineId), NAME_MAX)}`;
    return [`*${plain(intent, 60)}* ${confidence}% confidence · ${points} pts${target}`];
  });
  return ['*Intent*', ...(lines.length > 0 ? lines : ['No live intent signals.'])].join('\n');
}

function causeText(view: ConflictView): string {
  const [a, b] = view.candidates;
  switch (view.cause) {
    case 'ambiguous_intent':
      if (a !== undefined && b !== undefined) {
        return `*Why a manager decides:* the intent is unclear. ${plain(a.intent, 60)} (${a.confidence}%) and ${plain(b.intent, 60)} (${b.confidence}%) are within ${view.conflictMargin} points of each other, so Leadline will not pick a pipeline on its own.`;
      }
      return `*Why a manager decides:* the intent is unclear (the top intents are within ${view.conflictMargin} points).`;
    case 'manager_rule': {
      const id = view.rule.replace(/^routing\.manager_decides\./, '');
      const description = view.ruleDescription?.trim() ? `: ${plain(view.ruleDescription, 500)}` : '.';
      return `*Why a manager decides:* rule *${plain(id, 100)}* says a manager decides leads like this one${description}`;
    }
    case 'pipeline_manager_decides':
      return `*Why a manager decides:* a manager decides every lead for *${plain(pipelineName(view, a?.pipelineId ?? null), NAME_MAX)}*.`;
  }
}

function pipelineName(view: Pick<ConflictView, 'pipelines'>, id: string | null): string {
  if (id === null) return 'no pipeline';
  return view.pipelines.find((p) => p.id === id)?.name ?? id;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
