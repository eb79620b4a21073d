import { run, withTransaction } from '../../db/pool.ts';
import { type DealCloseRow, selectLeadDealsForClose } from '../../db/sql/deals.ts';
import { type DealOutcome, mayClose, mayReopen } from '../../engine/deals.ts';
import type { TeamMember } from '../../engine/routing-schema.ts';
import { closeDeal, reopenDeal } from '../changes/deal.ts';
import type { CloseDetails } from '../changes/stage.ts';
import type { AppContext } from '../context.ts';

export type DealCommandResult =
  | { done: true; dealId: number; pipelineName: string }
  | { done: false; why: string };

/**
 * A person marks a lead's open deal won or lost (`/lead won|lost`, the Mark won / Mark lost
 * modals): the deal the person owns first, else the newest open one. Reps close their own deals,
 * managers and admins any (engine/deals mayClose); the close itself runs through closeDeal, so it
 * happens once however many people do it at the same moment.
 *
 * @example
 * await closeLeadDeal(ctx, { leadId: 42, outcome: 'won', member: anna, close: { value: 12000 } })
 * // { done: true, dealId: 7, pipelineName: 'B2B customers' }
 */
export async function closeLeadDeal(
  ctx: AppContext,
  input: { leadId: number; dealId?: number; outcome: DealOutcome; member: TeamMember; close: CloseDetails },
): Promise<DealCommandResult> {
  const now = ctx.now();
  return withTransaction(ctx.pool, async (tx): Promise<DealCommandResult> => {
    const deals = await run(tx, selectLeadDealsForClose(input.leadId));
    const deal = pick(deals, input.member, input.dealId);
    if (deal === undefined) return { done: false, why: 'This lead has no open deal to close. Route it to a pipeline first.' };
    const allowed = mayClose(input.member, { status: deal.status, ownerMemberId: deal.owner_member_id });
    if (!allowed.ok) return { done: false, why: allowed.why };
    const actor = `slack:${input.member.slack_user_id}`;
    const result = await closeDeal(tx, ctx, { dealId: deal.id, outcome: input.outcome, actor, now, close: input.close });
    if (!result.closed) return { done: false, why: `This deal is already ${result.status}.` };
    return { done: true, dealId: deal.id, pipelineName: pipelineName(ctx, deal) };
  });
}

/**
 * A manager opens the lead's most recently closed deal again (`/lead reopen`).
 *
 * @example
 * await reopenLeadDeal(ctx, { leadId: 42, member: lena }) // { done: true, dealId: 7, pipelineName: 'B2B customers' }
 */
export async function reopenLeadDeal(
  ctx: AppContext,
  input: { leadId: number; member: TeamMember },
): Promise<DealCommandResult> {
  const now = ctx.now();
  return withTransaction(ctx.pool, async (tx): Promise<DealCommandResult> => {
    const deal = (await run(tx, selectLeadDealsForClose(input.leadId))).find((d) => d.status !== 'open');
    if (deal === undefined) return { done: false, why: 'This lead has no closed deal to reopen.' };
    const allowed = mayReopen(input.member, deal);
    if (!allowed.ok) return { done: false, why: allowed.why };
    const actor = `slack:${input.member.slack_user_id}`;
    const result = await reopenDeal(tx, ctx, { dealId: deal.id, actor, now });
    return result.reopened ? { done: true, dealId: deal.id, pipelineName: pipelineName(ctx, deal) } : { done: false, why: result.why };
  });
}

/** The named deal, else the open deal the member owns, else the newest open deal. */
function pick(deals: readonly DealCloseRow[], member: TeamMember, dealId: number | undefined): DealCloseRow | undefined {
  if (dealId !== undefined) return deals.find((d) => d.id === dealId);
  const open = deals.filter((d) => d.status === 'open');
  return open.find((d) => d.owner_member_id === member.id) ?? open[0];
}

function pipelineName(ctx: AppContext, deal: DealCloseRow): string {
  return ctx.ruleset.pipelines.find((p) => p.id === deal.pipeline_id)?.name ?? deal.pipeline_id;
}
