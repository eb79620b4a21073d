import type { AssignmentResult, CandidateReport } from './assignment-model.ts';
import type { AbsenceReason } from './presence.ts';
import type { RoutingDecision, RoutingReasons } from './routing.ts';
import type { RoutingRuleset } from './routing-schema.ts';

/**
 * Short sentences for Slack's "why?": one fact per line, numbers as the rules saw them.
 * Plain text without Slack markup, so the bot can format (or quote) them as it likes.
 */

type Names = Pick<RoutingRuleset, 'pipelines'>;

const pct = (share: number) => `${Math.round(share * 100)}%`;
const leads = (deficit: number) => {
  const rounded = Math.round(deficit * 100) / 100;
  return rounded === 0
    ? 'even with their share'
    : rounded > 0
      ? `owed ${rounded.toFixed(2)} of a lead`
      : `${(-rounded).toFixed(2)} of a lead ahead of their share`;
};

function pipelineName(id: string | null, names?: Names): string {
  if (id === null) return 'no pipeline';
  return names?.pipelines.find((p) => p.id === id)?.name ?? id;
}

function others(reasons: RoutingReasons, except: readonly string[]): string {
  const rest = Object.entries(reasons.confidences)
    .filter(([intent]) => !except.includes(intent))
    .map(([intent, share]) => `${intent} ${share}%`);
  return rest.length === 0 ? '' : ` (${rest.join(', ')})`;
}

function scoreLine(r: RoutingReasons): string {
  return r.score >= r.threshold
    ? `Score ${r.score} meets the routing threshold of ${r.threshold}.`
    : `Score ${r.score} is below the routing threshold of ${r.threshold}, so the lead stays in the pool.`;
}

function intentLine(r: RoutingReasons): string {
  if (r.primaryIntent === null) return 'No live intent signals yet.';
  const verdict = r.confidence >= r.minConfidence ? 'meets' : 'is below';
  return `Primary intent ${r.primaryIntent} at ${r.confidence}% confidence ${verdict} the minimum of ${r.minConfidence}%${others(r, [r.primaryIntent])}.`;
}

/**
 * Sentences explaining a routing decision, ending with the rule and ruleset version.
 *
 * @example
 * explainRouting(decision, ruleset)
 * // ['Score 72 meets the routing threshold of 40.',
 * //  'Primary intent b2b at 68% confidence meets the minimum of 60% (research 22%, co_creation 10%).',
 * //  'Routed to B2B customers, stage New lead.', 'Rule pipelines.b2b, ruleset 2025-06.']
 */
export function explainRouting(decision: RoutingDecision, names?: Names): string[] {
  const r = decision.reasons;
  const lines: string[] = [];
  const manual = r.rule.startsWith('manager:') || r.rule.startsWith('automation:');
  if (!manual) lines.push(scoreLine(r));
  switch (decision.kind) {
    case 'route':
      if (!manual) lines.push(intentLine(r));
      lines.push(
        `Routed to ${decision.pipelineName}, stage ${decision.stageName}${manual ? ` by ${r.rule}` : ''}.`,
      );
      break;
    case 'keep':
      lines.push(
        `The lead already has an open deal in ${pipelineName(decision.pipelineId, names)} (deal ${decision.dealId}); a lead has at most one open deal per pipeline.`,
      );
      break;
    case 'pool':
      if (decision.cause === 'no_intent')
        lines.push('No live intent signals yet, so the lead stays in the pool.');
      if (decision.cause === 'below_confidence') lines.push(`${intentLine(r)} The lead stays in the pool.`);
      if (decision.cause === 'no_pipeline') {
        lines.push(
          manual
            ? `There is no pipeline named by ${r.rule}; the lead stays in the pool.`
            : `No pipeline serves intent ${r.primaryIntent}, so the lead stays in the pool.`,
        );
      }
      break;
    case 'conflict': {
      const [a, b] = decision.candidates;
      if (decision.cause === 'ambiguous_intent' && a !== undefined && b !== undefined) {
        lines.push(
          `${a.intent} (${a.confidence}%) and ${b.intent} (${b.confidence}%) are within ${r.conflictMargin} points of each other${others(r, [a.intent, b.intent])}, so a manager decides between ${pipelineName(a.pipelineId, names)} and ${pipelineName(b.pipelineId, names)}.`,
        );
      } else {
        lines.push(intentLine(r));
        const target = pipelineName(a?.pipelineId ?? null, names);
        lines.push(
          decision.cause === 'manager_rule'
            ? `Rule ${r.rule.replace(/^routing\.manager_decides\./, '')} says a manager decides leads like this one for ${target}.`
            : `A manager decides every lead for ${target}.`,
        );
      }
      break;
    }
  }
  lines.push(`Rule ${r.rule}, ruleset ${r.rulesetVersion}.`);
  return lines;
}

function absenceText(reason: AbsenceReason): string {
  if (reason.kind === 'inactive')
    return reason.source === 'team' ? 'inactive in the team' : 'Slack account deactivated';
  if (reason.via === 'away_until') return `away until ${reason.value.slice(0, 16).replace('T', ' ')} UTC`;
  return reason.via === 'status_emoji'
    ? `away (Slack status ${reason.value})`
    : `away (Slack status "${reason.value}")`;
}

function skippedText(c: CandidateReport, winner: CandidateReport | undefined): string {
  const reason = c.reason;
  const who = winner?.name ?? 'the chosen member';
  if (reason === null) return `${c.name}: not considered.`;
  switch (reason.kind) {
    case 'not_in_team':
      return `${c.name}: listed in the pipeline but not in the team.`;
    case 'inactive':
    case 'away':
      return `${c.name}: ${absenceText(reason)}.`;
    case 'out_of_territory':
      return `${c.name}: does not cover the lead's territory.`;
    case 'at_capacity':
      return `${c.name}: at capacity (${reason.openDeals} of ${reason.capacity} open deals).`;
    case 'less_room':
      return `${c.name}: less room (${c.openDeals} of ${c.capacity ?? '∞'} open deals).`;
    case 'lower_deficit':
      return `${c.name}: ${leads(c.deficit)}; ${who} was owed more.`;
    case 'tie':
      return reason.by === 'waited_longer'
        ? `${c.name}: tied with ${who}, who has waited longer for a lead.`
        : `${c.name}: tied with ${who}, who goes first by member id.`;
    case 'due_later':
      return `${c.name}: ${leads(c.deficit)} at a ${pct(c.share)} share, so due after ${who}.`;
  }
}

const STRATEGY_TEXT = {
  round_robin: 'next in the round robin',
  weighted: 'most overdue for their weighted share',
  capacity: 'most room',
} as const;

/**
 * Sentences explaining an owner assignment: who got it and why, then one line per other member.
 *
 * @example
 * explainAssignment(result)
 * // ['Assigned to Anna Becker: next in the round robin (owed 0.67 of a lead, share 33%).',
 * //  'Ben Ortiz: away (Slack status :palm_tree:).', 'Carla Diaz: at capacity (20 of 20 open deals).']
 */
export function explainAssignment(result: AssignmentResult): string[] {
  const lines: string[] = [];
  const winner = result.candidates.find((c) => c.status === 'chosen');
  const t = result.territory;
  if (t !== null) {
    const where = [t.country, t.region].filter((v) => v !== null).join(' / ') || 'unknown location';
    lines.push(
      t.matched
        ? `Territory: the lead is in ${where}; only members covering it were considered.`
        : `Territory: nobody present covers ${where}.`,
    );
  }
  const o = result.outcome;
  if (o.kind === 'member' && winner !== undefined) {
    const room =
      result.innerStrategy === 'capacity'
        ? `${winner.openDeals} of ${winner.capacity ?? '∞'} open deals, `
        : '';
    lines.push(
      `Assigned to ${o.name}: ${STRATEGY_TEXT[result.innerStrategy]} (${room}${leads(winner.deficit)}, share ${pct(winner.share)}).`,
    );
  } else if (o.kind !== 'member') {
    const why = {
      no_members: 'the pipeline has no members',
      all_absent: 'everyone in the rotation is away or inactive',
      all_full: 'everyone available is at capacity',
      no_territory_match: "nobody covers the lead's territory",
    }[o.why];
    const target =
      o.kind === 'fallback_owner'
        ? `went to the fallback owner ${o.name}`
        : o.kind === 'queue'
          ? `waits in ${o.queue}`
          : 'is unassigned';
    lines.push(`The deal ${target}: ${why}.`);
  }
  for (const c of result.candidates) if (c.status === 'skipped') lines.push(skippedText(c, winner));
  return lines;
}
