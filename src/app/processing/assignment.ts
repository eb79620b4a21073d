import type { PoolClient } from '../../db/pool.ts';
import { run, transactionNote } from '../../db/pool.ts';
import { LeadlineError } from '../../errors.ts';
import {
  type AssignmentInsert,
  type DealForAssignment,
  ensureLedgers,
  insertAssignments,
  lockDealsForAssignment,
  lockLedgers,
  saveLedgers,
  selectLedgerRows,
  selectPresence,
  setDealOwners,
} from '../../db/sql/routing.ts';
import { assignOwner } from '../../engine/assignment.ts';
import type { AssignmentLedger, AssignmentResult } from '../../engine/assignment-model.ts';
import type { MemberPresence } from '../../engine/presence.ts';
import { explainAssignment } from '../../engine/explain.ts';
import type { AppContext } from '../context.ts';

/** The member an assignment gave the deal to, or null (a queue, or nobody). */
export function ownerOf(result: AssignmentResult): string | null {
  const outcome = result.outcome;
  return outcome.kind === 'member' || outcome.kind === 'fallback_owner' ? outcome.memberId : null;
}

/**
 * Gives an open deal its owner: `memberId` when a person or rule names one, else the pipeline's
 * strategy over the persisted ledger (locked per pipeline for the rest of the transaction). Stores
 * why this owner and why every other candidate was skipped.
 *
 * @example
 * const result = await assignDeal(tx, ctx, dealId, null, now);
 * result?.outcome // { kind: 'member', memberId: 'anna.becker', … }
 */
export async function assignDeal(
  tx: PoolClient,
  ctx: AppContext,
  dealId: number,
  memberId: string | null,
  now: Date,
): Promise<AssignmentResult | null> {
  const [deal] = await run(tx, lockDealsForAssignment([dealId]));
  if (deal === undefined) return null;
  if (memberId === null) {
    const [result] = await assignByLedger(tx, ctx, [deal], now);
    await storeAssignments(tx, ctx, [{ deal, result: result! }], true, now);
    return result!;
  }
  const member = ctx.ruleset.team.members.find((m) => m.id === memberId);
  if (member === undefined) throw new LeadlineError('not_found', `no team member ${memberId}`, { status: 404 });
  await run(tx, setDealOwners([{ dealId, memberId, queue: null }], [{ leadId: deal.lead_id, memberId }], now));
  await run(
    tx,
    insertAssignments(
      [
        {
          dealId,
          leadId: deal.lead_id,
          pipelineId: deal.pipeline_id,
          outcomeKind: 'member',
          memberId,
          queue: null,
          strategy: 'manual',
          candidates: [],
          explanation: [`Assigned to ${member.name} by hand.`],
          cause: 'manual',
          rulesetVersion: ctx.ruleset.version,
          seq: null,
        },
      ],
      now,
    ),
  );
  return null;
}

/**
 * Locks the pipelines' ledgers (creating a pipeline's on its first assignment) in one global order
 * for the whole transaction: pipelines sorting after every ledger it already holds are waited for;
 * one sorting before (automation assigning in another pipeline after routing) is taken with NOWAIT,
 * so instead of a deadlock the transaction fails at once with 55P03 and its job is retried whole.
 *
 * @example
 * const locked = await lockLedgersInOrder(tx, ['b2b', 'research']);
 */
export async function lockLedgersInOrder(tx: PoolClient, pipelineIds: readonly string[]): Promise<{ pipeline_id: string; seq: number }[]> {
  const held = transactionNote(tx, 'assignment-ledgers', () => new Set<string>());
  const highest = [...held].sort().at(-1);
  const outOfOrder = highest !== undefined && pipelineIds.some((id) => !held.has(id) && id < highest);
  let locked = await run(tx, lockLedgers(pipelineIds, outOfOrder));
  if (locked.length < pipelineIds.length) {
    await run(tx, ensureLedgers(pipelineIds));
    locked = await run(tx, lockLedgers(pipelineIds, outOfOrder));
  }
  for (const id of pipelineIds) held.add(id);
  return locked;
}

/**
 * Runs each pipeline's strategy for the deals in the given order over ledgers locked once for the
 * batch, then stores the ledgers: each deal sees the ledger and open-deal counts the ones before it
 * left, exactly as if they had been assigned one by one.
 */
export async function assignByLedger(
  tx: PoolClient,
  ctx: AppContext,
  deals: readonly DealForAssignment[],
  now: Date,
): Promise<AssignmentResult[]> {
  const pipelineIds = [...new Set(deals.map((deal) => deal.pipeline_id))].sort();
  const locked = await lockLedgersInOrder(tx, pipelineIds);
  const records = await run(tx, selectLedgerRows(pipelineIds));
  const presenceRows = await run(tx, selectPresence());
  const ledgers = new Map<string, AssignmentLedger>();
  for (const pipelineId of pipelineIds) {
    ledgers.set(pipelineId, {
      pipelineId,
      seq: locked.find((l) => l.pipeline_id === pipelineId)?.seq ?? 0,
      rows: records
        .filter((r) => r.pipeline_id === pipelineId)
        .map((r) => ({
          memberId: r.member_id,
          received: r.received,
          deficit: r.deficit,
          present: r.present,
          lastAssignedSeq: r.last_assigned_seq,
        })),
    });
  }
  const presence = new Map<string, MemberPresence>(
    presenceRows.map((p) => [
      p.member_id,
      {
        memberId: p.member_id,
        openDeals: p.open_deals,
        statusEmoji: p.status_emoji,
        statusText: p.status_text,
        statusExpiresAt: p.status_expires_at,
        awayUntil: p.away_until,
        deactivated: p.deactivated,
      },
    ]),
  );
  const results: AssignmentResult[] = [];
  for (const deal of deals) {
    const result = assignOwner(
      {
        pipelineId: deal.pipeline_id,
        lead: { leadId: String(deal.lead_id), country: deal.country, region: deal.region },
        ledger: ledgers.get(deal.pipeline_id)!,
        presence: [...presence.values()],
      },
      ctx.ruleset,
      now,
    );
    ledgers.set(deal.pipeline_id, result.ledger);
    const owner = ownerOf(result);
    if (owner !== null) {
      const seen = presence.get(owner) ?? { memberId: owner, openDeals: 0 };
      presence.set(owner, { ...seen, openDeals: seen.openDeals + 1 });
    }
    results.push(result);
  }
  await run(tx, saveLedgers([...ledgers.values()], now));
  return results;
}

/** Sets each deal's owner or queue and records the assignment with its explanation. */
export async function storeAssignments(
  tx: PoolClient,
  ctx: AppContext,
  assigned: readonly { deal: DealForAssignment; result: AssignmentResult }[],
  updateLeads: boolean,
  now: Date,
): Promise<void> {
  const rows: AssignmentInsert[] = assigned.map(({ deal, result }) => {
    const outcome = result.outcome;
    return {
      dealId: deal.id,
      leadId: deal.lead_id,
      pipelineId: deal.pipeline_id,
      outcomeKind: outcome.kind,
      memberId: ownerOf(result),
      queue: outcome.kind === 'queue' ? outcome.queue : null,
      strategy: result.strategy,
      candidates: result.candidates,
      explanation: explainAssignment(result),
      cause: 'why' in outcome ? outcome.why : 'rotation',
      rulesetVersion: ctx.ruleset.version,
      seq: result.ledger.seq,
    };
  });
  const leadOwners = new Map<number, string>();
  if (updateLeads) for (const row of rows) if (row.memberId !== null) leadOwners.set(row.leadId, row.memberId);
  await run(
    tx,
    setDealOwners(
      rows.map((row) => ({ dealId: row.dealId, memberId: row.memberId, queue: row.queue })),
      [...leadOwners].map(([leadId, memberId]) => ({ leadId, memberId })),
      now,
    ),
  );
  await run(tx, insertAssignments(rows, now));
}
