import { run, withTransaction } from '../../db/pool.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import { upsertAwayUntil } from '../../db/sql/lookup.ts';
import type { TeamMember } from '../../engine/routing-schema.ts';
import type { AppContext } from '../context.ts';

/**
 * `/lead away [until]`, `/lead back` and the Home tab's toggle: sets (or with null clears) the
 * member's away-until, which assignment honours from the next lead on. `AWAY_UNTIL_BACK`
 * (engine/presence.ts) means "until I say I am back". Each change is also kept in the audit log
 * (`presence.away` / `presence.back`), so `/lead fairness` can add up away time in its window.
 *
 * @example
 * await setAway(ctx, anna, new Date('2026-12-04T23:00:00Z'));
 */
export async function setAway(ctx: AppContext, member: TeamMember, until: Date | null): Promise<void> {
  const now = ctx.now();
  await withTransaction(ctx.pool, async (tx) => {
    await run(tx, upsertAwayUntil(member.id, member.slack_user_id, until, now));
    await run(
      tx,
      insertAudit({
        actor: `slack:${member.slack_user_id}`,
        action: until === null ? 'presence.back' : 'presence.away',
        leadId: null,
        detail: { member: member.id, until: until?.toISOString() ?? null },
        now,
      }),
    );
  });
}
