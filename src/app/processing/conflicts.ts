import {
  type ConflictDecision,
  type ConflictView,
  renderConflict,
  renderOwnerNote,
} from '../../slack/render/conflict.ts';
import { type Pool, type PoolClient, run, withTransaction } from '../../db/pool.ts';
import {
  type ConflictMessageRow,
  claimConflict,
  insertAuditEntry,
  lockLead,
  returnLeadToPool,
  selectConflictForMessage,
  selectConflictLead,
  selectDealOwner,
  selectOpenConflictsForLeads,
  setConflictOutboxKeys,
} from '../../db/sql/conflicts.ts';
import { insertRoutingDecisions, markLeadsRouted } from '../../db/sql/routing.ts';
import { memberById, memberBySlackUser } from '../../engine/team.ts';
import { LeadlineError } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import type { RoutingResult } from './routing.ts';
import { routeLeadTo } from './routing.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { enqueueSlack, enqueueSlackMany, type OutboxMessage } from '../../slack/outbox/enqueue.ts';

/**
 * Routing conflicts in Slack: the message managers decide in, and the decision itself. The message
 * lives under one outbox key per conflict (`conflict:<id>`), so a refreshed or decided conflict
 * updates the message in place instead of posting a new one.
 */

export type ConflictResolution = { kind: 'route'; pipelineId: string } | { kind: 'pool' };

export type ResolveOutcome =
  | { won: true; dealId: number | null; ownerMemberId: string | null }
  | { won: false; resolvedBy: string; resolvedAt: Date; resolution: ConflictResolution };

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
  const rows = await run<ConflictMessageRow>(tx, selectOpenConflictsForLeads(leadIds));
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
 * A manager's decision on a conflict, exactly once however many people click at the same moment:
 * in one transaction the lead is locked, the conflict claimed with `resolved_at IS NULL`, and only
 * the claimer routes the lead (deal + owner through the ledger) or keeps it in the pool, writes the
 * audit log, updates the conflict message to say who decided and when, and DMs the new owner.
 * Everyone else learns who decided. Throws `not_found` for an unknown conflict and
 * `invalid_payload` for a pipeline that is not one of its candidates.
 *
 * @example
 * await resolveConflict(pool, ctx, { conflictId: 12, resolution: { kind: 'route', pipelineId: 'b2b' },
 *   slackUserId: 'U0LENA004', now }) // { won: true, dealId: 31, ownerMemberId: 'anna' }
 */
export async function resolveConflict(
  pool: Pool,
  ctx: AppContext,
  input: { conflictId: number; resolution: ConflictResolution; slackUserId: string; now: Date },
): Promise<ResolveOutcome> {
  const { conflictId, resolution, slackUserId, now } = input;
  return withTransaction(pool, async (tx) => {
    const [ref] = await run<{ lead_id: number }>(tx, selectConflictLead(conflictId));
    if (ref === undefined) throw notFound(conflictId);
    await run(tx, lockLead(ref.lead_id));
    const [before] = await run<ConflictMessageRow>(tx, selectConflictForMessage(conflictId));
    if (before === undefined) throw notFound(conflictId);
    if (before.resolved_at === null && resolution.kind === 'route') {
      checkCandidate(before, resolution.pipelineId, ctx.ruleset);
    }
    const [claimed] = await run<{ lead_id: number }>(
      tx,
      claimConflict(conflictId, slackUserId, resolutionText(resolution), now),
    );
    if (claimed === undefined) {
      // Read again rather than trust `before`: whoever won committed before the claim found it decided.
      const [decided] = await run<ConflictMessageRow>(tx, selectConflictForMessage(conflictId));
      return {
        won: false,
        resolvedBy: decided?.resolved_by ?? '',
        resolvedAt: decided?.resolved_at ?? now,
        resolution: parseResolution(decided?.resolution ?? null),
      };
    }
    const leadId = claimed.lead_id;
    const by = `manager:${slackUserId}`;
    await run(tx, returnLeadToPool(leadId, now));
    let dealId: number | null = null;
    let ownerMemberId: string | null = null;
    if (resolution.kind === 'route') {
      const routed = await routeLeadTo(tx, ctx, leadId, resolution.pipelineId, by, now);
      const decision = routed.decision;
      dealId = routed.dealId ?? (decision.kind === 'keep' ? Number(decision.dealId) : null);
      // routeLeadTo marks the lead routed when it opens a deal; an existing open deal in the
      // pipeline (keep) routes it too.
      if (decision.kind === 'keep') await run(tx, markLeadsRouted([{ leadId, ownerMemberId: null }], now));
      if (dealId !== null) {
        const [deal] = await run<{ owner_member_id: string | null }>(tx, selectDealOwner(dealId));
        ownerMemberId = deal?.owner_member_id ?? null;
      }
    } else {
      await run(
        tx,
        insertRoutingDecisions(
          [
            {
              leadId,
              kind: 'pool',
              pipelineId: null,
              cause: 'manager_kept_in_pool',
              reasons: { ...before.reasons, rule: by },
              explanation: [
                `Routing conflict #${conflictId} decided: kept in the pool by ${by}.`,
                `Rule ${by}, ruleset ${ctx.ruleset.version}.`,
              ],
              rulesetVersion: ctx.ruleset.version,
            },
          ],
          now,
        ),
      );
    }
    await run(
      tx,
      insertAuditEntry({
        actor: by,
        action: resolution.kind === 'route' ? 'conflict.route' : 'conflict.pool',
        leadId,
        detail: {
          conflictId,
          ...(resolution.kind === 'route' ? { pipelineId: resolution.pipelineId } : {}),
          dealId,
          ownerMemberId,
          memberId: memberBySlackUser(ctx.ruleset, slackUserId)?.id ?? null,
        },
        now,
      }),
    );
    const [after] = await run<ConflictMessageRow>(tx, selectConflictForMessage(conflictId));
    if (after?.outbox_key) await enqueueConflictMessage(tx, ctx.ruleset, after, now);
    const owner = memberById(ctx.ruleset, ownerMemberId);
    if (after !== undefined && owner !== null && resolution.kind === 'route') {
      const note = renderOwnerNote({
        lead: leadOf(after),
        pipelineName: pipelineName(ctx.ruleset, resolution.pipelineId),
        decidedBy: slackUserId,
        conflictId,
      });
      await enqueueSlack(
        tx,
        {
          key: `conflict:${conflictId}:owner`,
          kind: 'conflict',
          leadId,
          method: 'chat.postMessage',
          channel: owner.slack_user_id,
          payload: { ...note },
        },
        now,
      );
    }
    await kick(tx, ctx);
    return { won: true, dealId, ownerMemberId };
  });
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

function resolutionText(resolution: ConflictResolution): string {
  return resolution.kind === 'route' ? `route:${resolution.pipelineId}` : 'pool';
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

async function enqueueConflictMessage(
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

function leadOf(row: ConflictMessageRow): ConflictView['lead'] {
  return {
    id: row.lead_id,
    fullName: row.full_name,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    company: row.company,
    score: row.score,
    grade: row.grade,
    intentWeights: row.intent_weights ?? {},
  };
}

// A button from an old message may name a pipeline the conflict (refreshed since) or the ruleset
// (changed since) no longer offers: refuse before claiming, so nothing is decided by mistake.
function checkCandidate(row: ConflictMessageRow, pipelineId: string, ruleset: Ruleset): void {
  const offered = row.candidates.some((c) => c.pipelineId === pipelineId);
  const exists = ruleset.pipelines.some((p) => p.id === pipelineId);
  if (!offered || !exists) {
    throw new LeadlineError(
      'invalid_payload',
      `pipeline ${pipelineId} is not a choice for routing conflict ${row.id}`,
      { status: 400, issues: [{ path: 'pipelineId', message: 'not a candidate of this conflict' }] },
    );
  }
}

function pipelineName(ruleset: Ruleset, id: string): string {
  return ruleset.pipelines.find((p) => p.id === id)?.name ?? id;
}

function notFound(conflictId: number): LeadlineError {
  return new LeadlineError('not_found', `routing conflict ${conflictId} not found`, { status: 404 });
}

async function kick(tx: PoolClient, ctx: AppContext): Promise<void> {
  await kickSlackDelivery(ctx.queue, { db: tx });
}
