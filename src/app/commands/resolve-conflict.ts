import { renderOwnerNote } from '../../slack/render/conflict.ts';
import { type Pool, type PoolClient, run, withTransaction } from '../../db/pool.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import {
  type ConflictMessageRow,
  claimConflict,
  returnLeadToPool,
  selectConflictForMessage,
  selectConflictLead,
} from '../../db/sql/conflicts.ts';
import { lockLead } from '../../db/sql/leads.ts';
import { insertRoutingDecisions, markLeadsRouted } from '../../db/sql/routing.ts';
import { memberById, memberBySlackUser } from '../../engine/team.ts';
import { LeadlineError } from '../../errors.ts';
import { fireDealRules } from '../changes/deal.ts';
import { changeOwner } from '../changes/owner.ts';
import type { AppContext } from '../context.ts';
import {
  type ConflictResolution,
  enqueueConflictMessage,
  leadOf,
  parseResolution,
} from '../processing/conflicts.ts';
import { routeLeadTo } from '../processing/routing.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { enqueueSlack } from '../../slack/outbox/enqueue.ts';

export type ResolveOutcome =
  | { won: true; dealId: number | null; ownerMemberId: string | null }
  | { won: false; resolvedBy: string; resolvedAt: Date; resolution: ConflictResolution };

type Ruleset = AppContext['ruleset'];

interface Decision {
  conflictId: number;
  leadId: number;
  resolution: ConflictResolution;
  slackUserId: string;
  /** The audit log's and routing decisions' name for the manager: `manager:<slack user>`. */
  by: string;
  now: Date;
}

/**
 * A manager's decision on a conflict, exactly once however many people click at the same moment:
 * in one transaction the lead is locked, the conflict claimed with `resolved_at IS NULL`, and only
 * the claimer routes the lead (deal + owner through the ledger, the live alert following through
 * changeOwner) or keeps it in the pool, writes the audit log, updates the conflict message to say
 * who decided and when, and DMs the new owner. Everyone else learns who decided. Throws `not_found`
 * for an unknown conflict and `invalid_payload` for a pipeline that is not one of its candidates.
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
    const [ref] = await run(tx, selectConflictLead(conflictId));
    if (ref === undefined) throw notFound(conflictId);
    await run(tx, lockLead(ref.lead_id));
    const [before] = await run(tx, selectConflictForMessage(conflictId));
    if (before === undefined) throw notFound(conflictId);
    if (before.resolved_at === null && resolution.kind === 'route') {
      checkCandidate(before, resolution.pipelineId, ctx.ruleset);
    }
    const [claimed] = await run(
      tx,
      claimConflict(conflictId, slackUserId, resolutionText(resolution), now),
    );
    if (claimed === undefined) {
      // Read again rather than trust `before`: whoever won committed before the claim found it decided.
      const [decided] = await run(tx, selectConflictForMessage(conflictId));
      return {
        won: false,
        resolvedBy: decided?.resolved_by ?? '',
        resolvedAt: decided?.resolved_at ?? now,
        resolution: parseResolution(decided?.resolution ?? null),
      };
    }
    const decision: Decision = { ...input, leadId: claimed.lead_id, by: `manager:${slackUserId}` };
    await run(tx, returnLeadToPool(decision.leadId, now));
    const routed =
      resolution.kind === 'route'
        ? await routeDecided(tx, ctx, decision, resolution.pipelineId)
        : await keepInPool(tx, ctx, decision, before);
    await recordDecision(tx, ctx, decision, routed);
    await kickSlackDelivery(ctx.queue, { db: tx });
    return { won: true, ...routed };
  });
}

/** Routes the lead into the chosen pipeline; an open deal it has there already is kept. */
async function routeDecided(
  tx: PoolClient,
  ctx: AppContext,
  decision: Decision,
  pipelineId: string,
): Promise<{ dealId: number | null; ownerMemberId: string | null }> {
  const { leadId, now } = decision;
  const routed = await routeLeadTo(tx, ctx, leadId, pipelineId, decision.by, now);
  const kept = routed.decision.kind === 'keep' ? Number(routed.decision.dealId) : null;
  const dealId = routed.dealId ?? kept;
  // routeLeadTo marks the lead routed when it opens a deal; an existing open deal in the pipeline
  // (keep) routes it too.
  if (kept !== null) await run(tx, markLeadsRouted([{ leadId, ownerMemberId: null }], now));
  if (dealId === null) return { dealId, ownerMemberId: null };
  const changed = await changeOwner(tx, ctx, {
    leadId,
    to: { kind: 'routed', dealId, assignment: routed.dealId === null ? null : routed.assignment },
    deals: 'all',
    actor: decision.by,
    cause: 'conflict',
    now,
  });
  // After the alert follows the routing pick, like Route to…: an owner a rule then gives sticks.
  await fireDealRules(tx, ctx, leadId, routed.triggers, now);
  return { dealId, ownerMemberId: changed.ownerMemberId };
}

/** Keeps the lead in the pool, with a routing decision that says who kept it there. */
async function keepInPool(
  tx: PoolClient,
  ctx: AppContext,
  decision: Decision,
  before: ConflictMessageRow,
): Promise<{ dealId: null; ownerMemberId: null }> {
  const { by, conflictId } = decision;
  const row = {
    leadId: decision.leadId,
    kind: 'pool',
    pipelineId: null,
    cause: 'manager_kept_in_pool',
    reasons: { ...before.reasons, rule: by },
    explanation: [
      `Routing conflict #${conflictId} decided: kept in the pool by ${by}.`,
      `Rule ${by}, ruleset ${ctx.ruleset.version}.`,
    ],
    rulesetVersion: ctx.ruleset.version,
  };
  await run(tx, insertRoutingDecisions([row], decision.now));
  return { dealId: null, ownerMemberId: null };
}

/** The audit row, the conflict message saying who decided, and the DM to the new owner. */
async function recordDecision(
  tx: PoolClient,
  ctx: AppContext,
  decision: Decision,
  routed: { dealId: number | null; ownerMemberId: string | null },
): Promise<void> {
  const { conflictId, leadId, resolution, now } = decision;
  const detail = {
    conflictId,
    ...(resolution.kind === 'route' ? { pipelineId: resolution.pipelineId } : {}),
    ...routed,
    memberId: memberBySlackUser(ctx.ruleset, decision.slackUserId)?.id ?? null,
  };
  const action = resolution.kind === 'route' ? 'conflict.route' : 'conflict.pool';
  await run(tx, insertAudit({ actor: decision.by, action, leadId, detail, now }));
  const [after] = await run(tx, selectConflictForMessage(conflictId));
  if (after?.outbox_key) await enqueueConflictMessage(tx, ctx.ruleset, after, now);
  const owner = memberById(ctx.ruleset, routed.ownerMemberId);
  if (after === undefined || owner === null || resolution.kind !== 'route') return;
  const note = renderOwnerNote({
    lead: leadOf(after),
    pipelineName: ctx.ruleset.pipelines.find((p) => p.id === resolution.pipelineId)?.name ?? resolution.pipelineId,
    decidedBy: decision.slackUserId,
    conflictId,
  });
  const message = {
    key: `conflict:${conflictId}:owner`,
    kind: 'conflict',
    leadId,
    method: 'chat.postMessage' as const,
    channel: owner.slack_user_id,
    payload: { ...note },
  };
  await enqueueSlack(tx, message, now);
}

function resolutionText(resolution: ConflictResolution): string {
  return resolution.kind === 'route' ? `route:${resolution.pipelineId}` : 'pool';
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

function notFound(conflictId: number): LeadlineError {
  return new LeadlineError('not_found', `routing conflict ${conflictId} not found`, { status: 404 });
}
