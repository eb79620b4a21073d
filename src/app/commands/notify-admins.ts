import { isAdmin } from '../../engine/team.ts';
import { enqueueSlack } from '../../slack/outbox/enqueue.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import type { AppContext } from '../context.ts';

/**
 * DMs every active admin of the ruleset's team once per `key` (the outbox keeps one message per
 * key and admin, so a repeated call changes nothing), then wakes delivery. `kind` names the
 * outbox rows (what they are about: `moco`, `ruleset`).
 *
 * @example
 * await notifyAdmins(ctx, { kind: 'moco', key: 'moco:outage:1764751200000', text: '⚠️ MOCO cannot be reached …' });
 */
export async function notifyAdmins(ctx: AppContext, message: { kind: string; key: string; text: string }): Promise<number> {
  const { kind, key, text } = message;
  const admins = ctx.ruleset.team.members.filter((member) => isAdmin(member));
  for (const admin of admins) {
    await enqueueSlack(
      ctx.pool,
      { key: `${key}:${admin.id}`, kind, method: 'chat.postMessage', channel: admin.slack_user_id, payload: { text } },
      ctx.now(),
    );
  }
  if (admins.length > 0) await kickSlackDelivery(ctx.queue);
  return admins.length;
}
