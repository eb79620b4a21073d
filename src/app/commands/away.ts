import { run } from '../../db/pool.ts';
import { upsertAwayUntil } from '../../db/sql/lookup.ts';
import type { TeamMember } from '../../engine/routing-schema.ts';
import type { AppContext } from '../context.ts';

/**
 * `/lead away [until]`, `/lead back` and the Home tab's toggle: sets (or with null clears) the
 * member's away-until, which assignment honours from the next lead on. `AWAY_UNTIL_BACK`
 * (engine/presence.ts) means "until I say I am back".
 *
 * @example
 * await setAway(ctx, anna, new Date('2026-12-04T23:00:00Z'));
 */
export async function setAway(ctx: AppContext, member: TeamMember, until: Date | null): Promise<void> {
  await run(ctx.pool, upsertAwayUntil(member.id, member.slack_user_id, until, ctx.now()));
}
