import { duplicateIndexes, type RoutingSections, routingIssues } from './routing-checks.ts';
import type { PipelineConfig } from './routing-schema.ts';

/**
 * The ruleset's checks across fields (unique ids, known intents, sorted thresholds, closing
 * stages, the SLA chain's order, routing and automation references), run by parseRuleset once every
 * field is valid on its own. Issues carry the path into the YAML, so errors point at the line.
 */

/** The parts of a parsed ruleset the checks read (the schema's output has them all). */
export interface CheckedSections extends RoutingSections {
  sources: readonly { name: string }[];
  scoring: { rules: readonly { id: string; points: number; expires_days?: number | undefined; category: string }[] };
  intent: { intents: readonly string[]; rules: readonly { id: string; intent: string }[] };
  thresholds: readonly { name: string; score: number }[];
  sla: { remind_at: number; escalate_at: number; reassign_at: number };
  slack: { hot_threshold: string };
}

export type Path = (string | number)[];
export interface RawIssue {
  path: Path;
  message: string;
}

/** Checks across fields, run once every field is valid on its own. */
export function crossCheck(data: CheckedSections): RawIssue[] {
  const issues: RawIssue[] = [];
  // [where the list is, the key inside each item (null: the item itself), the values, what they are]
  const uniqueLists: [Path, string | null, readonly string[], string][] = [
    [['sources'], 'name', data.sources.map((s) => s.name), 'source name'],
    [['scoring', 'rules'], 'id', data.scoring.rules.map((r) => r.id), 'rule id'],
    [['intent', 'rules'], 'id', data.intent.rules.map((r) => r.id), 'rule id'],
    [['intent', 'intents'], null, data.intent.intents, 'intent'],
    [['thresholds'], 'name', data.thresholds.map((t) => t.name), 'threshold name'],
    [['pipelines'], 'id', data.pipelines.map((p) => p.id), 'pipeline id'],
    [['automation'], 'id', data.automation.map((a) => a.id), 'automation id'],
  ];
  for (const [base, key, values, what] of uniqueLists) {
    for (const i of duplicateIndexes(values)) {
      issues.push({
        path: key === null ? [...base, i] : [...base, i, key],
        message: `duplicate ${what} "${values[i]}"`,
      });
    }
  }

  data.scoring.rules.forEach((rule, i) => {
    if (rule.points < 0 && rule.expires_days !== undefined) {
      issues.push({
        path: ['scoring', 'rules', i, 'expires_days'],
        message: 'negative points never expire; remove expires_days',
      });
    }
    if (rule.category === 'negative' && rule.points > 0) {
      issues.push({
        path: ['scoring', 'rules', i, 'points'],
        message: 'a negative-category rule needs negative points',
      });
    }
  });
  data.thresholds.forEach((threshold, i) => {
    const previous = data.thresholds[i - 1];
    if (previous !== undefined && threshold.score <= previous.score) {
      issues.push({
        path: ['thresholds', i, 'score'],
        message: `thresholds must be sorted by score, strictly ascending (${previous.name} is ${previous.score})`,
      });
    }
  });
  const known = new Set(data.intent.intents);
  const knownList = data.intent.intents.join(', ');
  data.intent.rules.forEach((rule, i) => {
    if (!known.has(rule.intent)) {
      issues.push({
        path: ['intent', 'rules', i, 'intent'],
        message: `unknown intent; expected one of ${knownList}`,
      });
    }
  });
  data.pipelines.forEach((pipeline, i) => {
    if (!known.has(pipeline.intent)) {
      issues.push({
        path: ['pipelines', i, 'intent'],
        message: `unknown intent; expected one of ${knownList}`,
      });
    }
    for (const j of duplicateIndexes(pipeline.stages.map((s) => s.id))) {
      issues.push({ path: ['pipelines', i, 'stages', j, 'id'], message: 'duplicate stage id' });
    }
    issues.push(...closingStageIssues(pipeline, i));
  });
  const sla = data.sla;
  if (!(sla.remind_at <= sla.escalate_at && sla.escalate_at <= sla.reassign_at)) {
    issues.push({ path: ['sla'], message: 'expected remind_at ≤ escalate_at ≤ reassign_at' });
  }
  if (!data.thresholds.some((t) => t.name === data.slack.hot_threshold)) {
    issues.push({ path: ['slack', 'hot_threshold'], message: 'must name one of the thresholds' });
  }
  issues.push(...routingIssues(data));
  return issues;
}

/** A stage is won or lost, not both; a pipeline has at most one of each. */
function closingStageIssues(pipeline: PipelineConfig, i: number): RawIssue[] {
  const issues: RawIssue[] = [];
  pipeline.stages.forEach((stage, j) => {
    if (stage.won === true && stage.lost === true) {
      issues.push({ path: ['pipelines', i, 'stages', j], message: 'a stage is won or lost, not both' });
    }
  });
  for (const flag of ['won', 'lost'] as const) {
    const marked = pipeline.stages.flatMap((stage, j) => (stage[flag] === true ? [j] : []));
    for (const j of marked.slice(1)) {
      issues.push({ path: ['pipelines', i, 'stages', j, flag], message: `only one ${flag} stage per pipeline` });
    }
  }
  return issues;
}
