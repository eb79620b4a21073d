
import type { App } from '@slack/bolt';
import { z } from 'zod';
import { canManage, memberBySlackUser } from '../engine/team.ts';
import { isLeadlineError } from '../errors.ts';
import type { ConflictResolution } from '../app/processing/conflicts.ts';
import { type ResolveOutcome, resolveConflict } from '../app/commands/resolve-conflict.ts';
import type { AppContext } from '../app/context.ts';
import { actionInteraction, type ReplyTarget, respond } from '../slack/respond.ts';
import { alreadyDecidedText, CONFLICT_POOL_ACTION } from '../slack/render/conflict.ts';

/** Refusal for anyone who is not an active manager or admin. */
export const NOT_A_MANAGER_TEXT = 'Only managers can decide routing conflicts.';
export const UNKNOWN_CONFLICT_TEXT = 'This routing conflict no longer exists.';
export const NOT_A_CHOICE_TEXT = 'That pipeline is not a choice for this routing conflict any more.';
export const INVALID_BUTTON_TEXT = 'That button is not valid. Please use the buttons on the latest message.';
export const FAILED_TEXT = 'Sorry, Leadline could not record that decision just now. Please try again.';

// The message gives each pipeline button its own action id (`conflict.route:<pipelineId>`), as
// Slack wants action ids unique within a message; the bare id is accepted too.
const ROUTE_ACTION_ID = /^conflict\.route(:[a-z0-9][a-z0-9_.-]{0,99})?$/;

// Slack signed the request, but a button value is still only what a message once carried: parse it.
const actionBody = z.object({
  user: z.object({ id: z.string().min(1).max(40) }),
  response_url: z.url().max(3_000).optional(),
  trigger_id: z.string().max(200).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.string().max(255),
        value: z.string().max(2_000),
        action_ts: z.string().max(40).optional(),
      }),
    )
    .min(1),
});
// Conflict ids are positive bigints; 15 digits stay below Number.MAX_SAFE_INTEGER.
const routeValue = z
  .string()
  .regex(/^[1-9]\d{0,14}:[a-z0-9][a-z0-9_.-]{0,99}$/)
  .transform((value) => {
    const at = value.indexOf(':');
    return { conflictId: Number(value.slice(0, at)), pipelineId: value.slice(at + 1) };
  });
const poolValue = z
  .string()
  .regex(/^[1-9]\d{0,14}$/)
  .transform(Number);

type Kind = ConflictResolution['kind'];

/**
 * The routing-conflict buttons: a manager or admin routes the lead to a candidate pipeline or keeps
 * it in the pool (decided once however many click; see `resolveConflict`). Every listener acks
 * first. Anyone else, a late click, a stale or forged button all get an ephemeral answer through the
 * outbox (`response_url`), and change nothing.
 *
 * @example
 * registerConflictActions(slack.app, jobContext); // then a click on "Route to B2B customers" in #lead-routing
 */
export function registerConflictActions(app: App, ctx: AppContext): void {
  app.action({ type: 'block_actions', action_id: ROUTE_ACTION_ID }, async ({ ack, body }) => {
    await ack();
    await handleClick(ctx, 'route', body);
  });
  app.action({ type: 'block_actions', action_id: CONFLICT_POOL_ACTION }, async ({ ack, body }) => {
    await ack();
    await handleClick(ctx, 'pool', body);
  });
}

async function handleClick(ctx: AppContext, kind: Kind, raw: unknown): Promise<void> {
  const log = ctx.log.child({ component: 'conflict-actions', action: kind });
  const parsed = actionBody.safeParse(raw);
  if (!parsed.success) {
    log.warn({ issues: parsed.error.issues.length }, 'malformed routing-conflict action');
    return;
  }
  const body = parsed.data;
  const clicked = body.actions[0]!;
  // One answer per click: Slack delivering the same click again finds the answer already there.
  const target: ReplyTarget = {
    userId: body.user.id,
    responseUrl: body.response_url ?? null,
    interaction: actionInteraction({
      actionId: clicked.action_id,
      userId: body.user.id,
      actionTs: clicked.action_ts ?? body.trigger_id ?? clicked.value,
    }),
  };
  const reply = async (text: string, part = 'answer') => {
    if (target.responseUrl === null) {
      log.warn({ user: body.user.id }, 'routing-conflict action without response_url; reply dropped');
      return;
    }
    await respond(ctx, target, { text }, { part, kind: 'ephemeral' });
  };
  try {
    if (!canManage(memberBySlackUser(ctx.ruleset, body.user.id))) {
      await reply(NOT_A_MANAGER_TEXT);
      return;
    }
    const choice = parseChoice(kind, clicked.value);
    if (choice === null) {
      log.warn({ user: body.user.id }, 'invalid routing-conflict button value');
      await reply(INVALID_BUTTON_TEXT);
      return;
    }
    let outcome: ResolveOutcome;
    try {
      outcome = await resolveConflict(ctx.pool, ctx, {
        conflictId: choice.conflictId,
        resolution: choice.resolution,
        slackUserId: body.user.id,
        now: ctx.now(),
      });
    } catch (err) {
      if (isLeadlineError(err, 'not_found')) return await reply(UNKNOWN_CONFLICT_TEXT);
      if (isLeadlineError(err, 'invalid_payload')) return await reply(NOT_A_CHOICE_TEXT);
      throw err;
    }
    if (!outcome.won) {
      const decision = { ...outcome.resolution, by: outcome.resolvedBy, at: outcome.resolvedAt };
      await reply(alreadyDecidedText(decision, ctx.ruleset.timezone, ctx.ruleset.pipelines));
      return;
    }
    log.info(
      { conflictId: choice.conflictId, user: body.user.id, dealId: outcome.dealId },
      'routing conflict decided',
    );
  } catch (err) {
    log.error({ err, user: body.user.id }, 'routing-conflict action failed');
    await reply(FAILED_TEXT, 'failed').catch((replyErr: unknown) =>
      log.error({ err: replyErr }, 'could not tell the user the routing-conflict action failed'),
    );
  }
}

function parseChoice(
  kind: Kind,
  value: string,
): { conflictId: number; resolution: ConflictResolution } | null {
  if (kind === 'route') {
    const route = routeValue.safeParse(value);
    if (!route.success) return null;
    return {
      conflictId: route.data.conflictId,
      resolution: { kind: 'route', pipelineId: route.data.pipelineId },
    };
  }
  const pool = poolValue.safeParse(value);
  return pool.success ? { conflictId: pool.data, resolution: { kind: 'pool' } } : null;
}
