import { run, withTransaction } from '../../db/pool.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import { lockLead } from '../../db/sql/leads.ts';
import { selectOpenDealIds } from '../../db/sql/lookup.ts';
import { LeadlineError } from '../../errors.ts';
import type { TeamMember } from '../../engine/routing-schema.ts';
import { changeOwner } from '../changes/owner.ts';
import type { AppContext } from '../context.ts';

/**
 * A manager gives a lead to `member` (`/lead assign`, the Reassign modal): every open deal of the
 * lead, and its live alert, through changeOwner, so the SLA chain reminds the new owner from now
 * on. Returns how many open deals the lead has; with none nothing changes (route the lead first).
 *
 * @example
 * await reassignLead(ctx, { leadId: 42, member: ben, bySlackUser: 'U0LENA004' }) // { openDeals: 1 }
 */
export async function reassignLead(
  ctx: AppContext,
  input: { leadId: number; member: TeamMember; bySlackUser: string },
): Promise<{ openDeals: number }> {
  const now = ctx.now();
  return withTransaction(ctx.pool, async (tx) => {
    if ((await run(tx, lockLead(input.leadId))).length === 0) {
      throw new LeadlineError('not_found', `lead ${input.leadId} not found`, { status: 404 });
    }
    const open = await run(tx, selectOpenDealIds(input.leadId));
    if (open.length === 0) return { openDeals: 0 };
    await changeOwner(tx, ctx, {
      leadId: input.leadId,
      to: { kind: 'member', memberId: input.member.id },
      deals: 'all',
      actor: `slack:${input.bySlackUser}`,
      cause: 'assign',
      now,
    });
    const detail = { to: input.member.id, deals: open.map((d) => d.id) };
    await run(tx, insertAudit({ actor: input.bySlackUser, action: 'assign', leadId: input.leadId, detail, now }));
    return { openDeals: open.length };
  });
}
