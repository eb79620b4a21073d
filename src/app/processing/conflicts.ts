import { type ConflictDecision, type ConflictView, renderConflict } from '../../slack/render/conflict.ts';
import { type PoolClient, run } from '../../db/pool.ts';
import {
  type ConflictMessageRow,
  selectOpenConflictsForLeads,
  setConflictOutboxKeys,
} from '../../db/sql/conflicts.ts';
import { memberById } from '../../engine/team.ts';
import type { AppContext } from '../context.ts';
import type { RoutingResult } from './routing.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { enqueueSlack, enqueueSlackMany, type OutboxMessage } from '../../slack/outbox/enqueue.ts';
import { personView } from '../queries/lead-card.ts';

/**
 * Routing conflicts in Slack: the message managers decide in, and the decision itself. The message
 * lives under one outbox key per conflict (`conflict:<id>`), so a refreshed or decided conflict
 * updates the message in place instead of posting a new one.
 */

export type ConflictResolution = { kind: 'route'; pipelineId: string } | { kind: 'pool' };

type Ruleset = AppContext['ruleset'];

/**
 * Posts (or updates) the Slack message of every conflict these routing results opened or changed,
 * inside the caller's transaction, to `ruleset.slack.routing_channel`. Call it right after
 * `decideRoutes` and `openRoutes` in the same transaction. Returns the conflicts whose message was enqueued
 * with new content; an unchanged conflict enqueues nothing.
 *
 * @example
 * const pending = await decideRoutes(tx, ctx, leadIds, now);
 * const results = [...pending.results, ...(await openRoutes(tx, ctx, pending, now))];
 * await postConflictMessages(tx, ctx, results, now); // [12] → chat.postMessage of conflict 12
 */
export async function postConflictMessages(
  tx: PoolClient,
  ctx: AppContext,
  results: readonly RoutingResult[],
  now: Date,
): Promise<number[]> {
  const leadIds = [
    ...new Set(
      results.filter((r) => r.conflictOpened && r.decision.kind === 'conflict').map((r) => r.leadId),
    ),
  ];
  if (leadIds.length === 0) return [];
  const rows = await run(tx, selectOpenConflictsForLeads(leadIds));
  if (rows.length === 0) return [];
  await run(tx, setConflictOutboxKeys(rows.map((row) => row.id)));
  const messages = rows.map((row) => ({ id: row.id, message: conflictMessage(ctx.ruleset, row) }));
  const enqueued = await enqueueSlackMany(
    tx,
    messages.map(({ message }) => message),
    now,
  );
  const changed = messages.filter(({ message }) => enqueued.has(message.key)).map(({ id }) => id);
  if (changed.length > 0) await kick(tx, ctx);
  return changed;
}

/**
 * The message view of a conflict row: names and the rule description come from the ruleset.
 *
 * @example
 * renderConflict(conflictView(row, ctx.ruleset))
 */
export function conflictView(row: ConflictMessageRow, ruleset: Ruleset): ConflictView {
  const ruleId = row.reasons.rule.replace(/^routing\.manager_decides\./, '');
  const description =
    row.cause === 'manager_rule'
      ? (ruleset.routing.manager_decides.find((r) => r.id === ruleId)?.description ?? null)
      : null;
  return {
    conflictId: row.id,
    lead: leadOf(row),
    cause: row.cause,
    candidates: row.candidates,
    confidences: row.reasons.confidences ?? {},
    conflictMargin: row.reasons.conflictMargin,
    rule: row.reasons.rule,
    ruleDescription: description,
    pipelines: ruleset.pipelines.map((p) => ({ id: p.id, name: p.name })),
    timeZone: ruleset.timezone,
    decision: decisionOf(row, ruleset),
  };
}

/**
 * `route:<pipelineId>` or `pool`, as stored in `routing_conflicts.resolution`.
 *
 * @example
 * parseResolution('route:b2b') // { kind: 'route', pipelineId: 'b2b' }
 */
export function parseResolution(text: string | null): ConflictResolution {
  if (text?.startsWith('route:')) return { kind: 'route', pipelineId: text.slice('route:'.length) };
  return { kind: 'pool' };
}

function conflictMessage(ruleset: Ruleset, row: ConflictMessageRow): OutboxMessage {
  return {
    key: `conflict:${row.id}`,
    kind: 'conflict',
    leadId: row.lead_id,
    method: 'chat.postMessage',
    channel: ruleset.slack.routing_channel,
    payload: { ...renderConflict(conflictView(row, ruleset)) },
  };
}

/** Enqueues the conflict's message under its key; true when its content changed. */
export async function enqueueConflictMessage(
  tx: PoolClient,
  ruleset: Ruleset,
  row: ConflictMessageRow,
  now: Date,
): Promise<boolean> {
  return (await enqueueSlack(tx, conflictMessage(ruleset, row), now)).changed;
}

function decisionOf(row: ConflictMessageRow, ruleset: Ruleset): ConflictDecision | null {
  if (row.resolved_at === null) return null;
  const by = row.resolved_by ?? '';
  const resolution = parseResolution(row.resolution);
  if (resolution.kind === 'pool') return { kind: 'pool', by, at: row.resolved_at };
  const owner = row.status === 'routed' ? memberById(ruleset, row.owner_member_id) : null;
  return {
    kind: 'route',
    pipelineId: resolution.pipelineId,
    by,
    at: row.resolved_at,
    ownerSlackUserId: owner?.slack_user_id ?? null,
  };
}

/** The lead as a conflict message shows it. */
export function leadOf(row: ConflictMessageRow): ConflictView['lead'] {
  return {
    ...personView(row.lead_id, row),
    score: row.score,
    grade: row.grade,
    intentWeights: row.intent_weights ?? {},
  };
}

async function kick(tx: PoolClient, ctx: AppContext): Promise<void> {
  await kickSlackDelivery(ctx.queue, { db: tx });
}
