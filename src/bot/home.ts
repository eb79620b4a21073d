import type { App } from '@slack/bolt';
import { setAway } from '../app/commands/away.ts';
import type { AppContext } from '../app/context.ts';
import { listDeadLetters } from '../app/dead-letters.ts';
import { loadHome } from '../app/queries/home.ts';
import { AWAY_UNTIL_BACK } from '../engine/presence.ts';
import { kickSlackDelivery } from '../slack/outbox/kick.ts';
import { enqueueSlack } from '../slack/outbox/enqueue.ts';
import { MAX_HOME_DEAD_LETTERS } from '../slack/render/dead-letters.ts';
import { HOME_ACTIONS, renderHome } from '../slack/render/home.ts';
import { callerOf } from './lead-respond.ts';

/**
 * Renders and publishes a user's Home tab through the outbox, keyed `home:<userId>`, so opens in
 * quick succession coalesce into one `views.publish` of the latest content. Active admins also
 * get the dead letters, with `deadLetterNotice` (what their last press did) above them.
 *
 * @example
 * await publishHome(ctx, 'U0ANNA001');
 */
export async function publishHome(ctx: AppContext, userId: string, options: { deadLetterNotice?: string } = {}): Promise<void> {
  const data = await loadHome(ctx, userId);
  if (callerOf(ctx.ruleset, userId).isAdmin) {
    const letters = await listDeadLetters(ctx, MAX_HOME_DEAD_LETTERS);
    data.deadLetters = { ...letters, notice: options.deadLetterNotice ?? null };
  }
  const view = renderHome(data);
  await enqueueSlack(
    ctx.pool,
    { key: `home:${userId}`, kind: 'home', method: 'views.publish', channel: userId, payload: { view } },
    ctx.now(),
  );
  await kickSlackDelivery(ctx.queue);
}

/**
 * Registers the Home tab: `app_home_opened` publishes it, `home.away` / `home.back` toggle the
 * member's availability (away until they come back) and publish it again.
 *
 * @example
 * registerHome(slack.app, ctx); // and subscribe the app to `app_home_opened` (manifest.yml does)
 */
export function registerHome(app: App, ctx: AppContext): void {
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== undefined && event.tab !== 'home') return;
    try {
      await publishHome(ctx, event.user);
    } catch (err) {
      ctx.log.error({ err, user: event.user }, 'Home tab publish failed');
    }
  });

  for (const [actionId, until] of [
    [HOME_ACTIONS.away, AWAY_UNTIL_BACK],
    [HOME_ACTIONS.back, null],
  ] as const) {
    app.action(actionId, async ({ ack, body }) => {
      await ack();
      const caller = callerOf(ctx.ruleset, body.user.id);
      try {
        if (caller.member !== null && caller.onTeam) await setAway(ctx, caller.member, until);
        await publishHome(ctx, body.user.id);
      } catch (err) {
        ctx.log.error({ err, user: body.user.id }, 'Home availability toggle failed');
      }
    });
  }
}
