import { type PoolClient, run } from '../../db/pool.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import { lockDealForClose, reopenDealRow, selectDealLead, selectLastOpenStage } from '../../db/sql/deals.ts';
import { lockLead } from '../../db/sql/leads.ts';
import { dealTrigger, type TriggerInstance } from '../../engine/automation.ts';
import { closingStage, type DealOutcome } from '../../engine/deals.ts';
import { LeadlineError } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import { runAutomation } from '../processing/automation.ts';

import { type CloseDetails, closeInPlace, dealView, moveStage } from './stage.ts';

/**
 * Deals closing and opening again, for every path that is not itself an automation rule: the
 * "Mark won" / "Mark lost" buttons, `/lead won|lost|reopen`, HubSpot's and MOCO's deal webhooks.
 * Each runs in the caller's transaction, locks the lead first (like processing), closes through
 * moveStage (into the pipeline's `won` / `lost` stage, or in place when it has none), writes the
 * audit log and fires the rules the change triggers, cascade included.
 */

export type CloseResult = { closed: true; dealId: number; outcome: DealOutcome } | { closed: false; status: string };

/**
 * Closes an open deal won or lost. A deal that is no longer open changes nothing and says how it
 * stands, so twenty people clicking "Mark won" at once close it once.
 *
 * @example
 * await closeDeal(tx, ctx, { dealId: 7, outcome: 'won', actor: 'slack:U0ANNA001', now, close: { value: 12000, currency: 'EUR' } })
 * // { closed: true, dealId: 7, outcome: 'won' }
 */
export async function closeDeal(
  tx: PoolClient,
  ctx: AppContext,
  input: { dealId: number; outcome: DealOutcome; actor: string; now: Date; close?: CloseDetails },
): Promise<CloseResult> {
  const deal = await lockDeal(tx, input.dealId);
  if (deal.status !== 'open') return { closed: false, status: deal.status };
  const pipeline = ctx.ruleset.pipelines.find((p) => p.id === deal.pipeline_id);
  const stage = pipeline === undefined ? null : closingStage(pipeline, input.outcome);
  const move = { dealId: deal.id, cause: input.actor, now: input.now, ...(input.close ? { close: input.close } : {}) };
  let triggers: TriggerInstance[];
  if (stage !== null && stage.id !== deal.stage_id) {
    const moved = await moveStage(tx, ctx, { ...move, stage: stage.id });
    triggers = moved.moved ? moved.triggers : [];
  } else {
    triggers = (await closeInPlace(tx, ctx, { ...move, outcome: input.outcome })).triggers;
  }
  const detail = { dealId: deal.id, ...(input.close ?? {}) };
  await run(tx, insertAudit({ actor: input.actor, action: `deal.${input.outcome}`, leadId: deal.lead_id, detail, now: input.now }));
  await fireDealRules(tx, ctx, deal.lead_id, triggers, input.now);
  return { closed: true, dealId: deal.id, outcome: input.outcome };
}

/**
 * Opens a closed deal again (managers decide that), back in the last open stage it was in, and
 * fires that stage's `stage_entered` rules. Refused while the lead has another open deal in the
 * same pipeline.
 *
 * @example
 * await reopenDeal(tx, ctx, { dealId: 7, actor: 'slack:U0LENA004', now }) // { reopened: true, stage: 'proposal' }
 */
export async function reopenDeal(
  tx: PoolClient,
  ctx: AppContext,
  input: { dealId: number; actor: string; now: Date },
): Promise<{ reopened: true; stage: string } | { reopened: false; why: string }> {
  const deal = await lockDeal(tx, input.dealId);
  if (deal.status === 'open') return { reopened: false, why: 'This deal is open already.' };
  const pipeline = ctx.ruleset.pipelines.find((p) => p.id === deal.pipeline_id);
  if (pipeline === undefined) return { reopened: false, why: `Its pipeline ${deal.pipeline_id} is not in the ruleset.` };
  const closing = pipeline.stages.filter((s) => s.won === true || s.lost === true).map((s) => s.id);
  const [last] = await run(tx, selectLastOpenStage(deal.id, closing));
  const open = pipeline.stages.filter((s) => !closing.includes(s.id));
  const stage = open.find((s) => s.id === last?.to_stage)?.id ?? open[0]?.id ?? pipeline.stages[0]!.id;
  const [reopened] = await run(tx, reopenDealRow(deal.id, stage, input.actor, input.now));
  if (reopened === undefined) return { reopened: false, why: 'The lead has another open deal in this pipeline.' };
  const detail = { dealId: deal.id, from: deal.status, stage };
  await run(tx, insertAudit({ actor: input.actor, action: 'deal.reopened', leadId: deal.lead_id, detail, now: input.now }));
  const view = dealView({ ...deal, stage_id: stage, stage_entered_at: input.now });
  await fireDealRules(tx, ctx, deal.lead_id, [{ ...dealTrigger('stage_entered', view), depth: 0 }], input.now);
  return { reopened: true, stage };
}

/**
 * Fires the rules of triggers that a person's, an event's or a routing decision's deal change
 * caused, in the caller's transaction; the cascade they start is bounded by the automation run.
 *
 * @example
 * await fireDealRules(tx, ctx, 42, moved.triggers, now);
 */
export async function fireDealRules(
  tx: PoolClient,
  ctx: AppContext,
  leadId: number,
  triggers: readonly TriggerInstance[],
  now: Date,
): Promise<void> {
  if (triggers.length > 0) await runAutomation(tx, ctx, [{ leadId, triggers }], now);
}

async function lockDeal(tx: PoolClient, dealId: number) {
  // The lead first, like processing, then the deal.
  const [ref] = await run(tx, selectDealLead(dealId));
  if (ref !== undefined) await run(tx, lockLead(ref.lead_id));
  const [deal] = ref === undefined ? [] : await run(tx, lockDealForClose(dealId));
  if (deal === undefined) throw new LeadlineError('not_found', `deal ${dealId} not found`, { status: 404 });
  return deal;
}
