
import type { App } from '@slack/bolt';
import { z } from 'zod';
import { canManage, memberBySlackUser } from '../engine/team.ts';
import { callerOf, NOT_ON_TEAM } from './lead-respond.ts';
import { type ClaimResult, claimLead, disqualifyLead, snoozeAlert } from '../app/commands/alert-actions.ts';
import type { AppContext } from '../app/context.ts';
import { loadLeadDetails } from '../app/queries/lead-details.ts';
import { routeLeadByManager } from '../app/commands/route-by-manager.ts';
import { actionInteraction, type ReplyTarget, respond, viewInteraction } from '../slack/respond.ts';
import {
  ALERT_ACTIONS,
  NOT_A_FIT_CALLBACK,
  NOT_A_FIT_INPUT,
  ROUTE_CALLBACK,
  ROUTE_INPUT,
  renderNotAFitModal,
  renderRouteModal,
  SNOOZE_OPTIONS,
} from '../slack/render/alert.ts';
import { clockTime, dayTime, renderLeadDetailsModal } from '../slack/render/lead-details.ts';
import { plain, userMention } from '../slack/render/mrkdwn.ts';
import { isSnoozeOption } from '../engine/snooze.ts';

/**
 * The hot-lead alert's buttons and modals. Every listener acks first (Slack gives 3 s), then works.
 * Replies never call Slack inside the request: they go through the outbox (`response_url` for
 * ephemeral answers, a DM after a modal) and the dispatcher is kicked. The one direct call is
 * `views.open`, which must use the click's trigger_id within 3 s and happens after the ack.
 * Action values, view state and metadata come from Slack's users' clients: all parsed with zod.
 */

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,30}$/);
const leadId = z
  .string()
  .regex(/^[1-9]\d{0,14}$/)
  .transform(Number);
const snoozeValue = z
  .string()
  .regex(/^[1-9]\d{0,14}:[a-z0-9]{1,4}$/)
  .transform((value, zctx) => {
    const [id = '', option = ''] = value.split(':');
    if (!isSnoozeOption(option)) {
      zctx.addIssue({ code: 'custom', message: `${option} is not a snooze choice` });
      return z.NEVER;
    }
    return { leadId: Number(id), option };
  });

const clickSchema = z.object({
  user: z.object({ id: slackUserId }),
  trigger_id: z.string().min(1).max(200).optional(),
  response_url: z.url({ protocol: /^https?$/ }).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.string(),
        value: z.string().max(2000).optional(),
        selected_option: z.object({ value: z.string().max(150) }).optional(),
        action_ts: z.string().max(40).optional(),
      }),
    )
    .min(1),
});

interface Click {
  actionId: string;
  userId: string;
  value: string;
  triggerId: string | null;
  /** Where answers to this click go; one answer per click, however often Slack delivers it. */
  target: ReplyTarget;
}

const metadataSchema = z
  .string()
  .max(3000)
  .transform((text, zctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      zctx.addIssue({ code: 'custom', message: 'private_metadata is not JSON' });
      return z.NEVER;
    }
  })
  .pipe(z.object({ leadId: z.number().int().positive() }));

const submissionSchema = z.object({
  user: z.object({ id: slackUserId }),
  view: z.object({
    id: z.string().min(1).max(100),
    private_metadata: metadataSchema,
    state: z.object({
      values: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()))),
    }),
  }),
});

const TEXT = {
  failed: 'Sorry, Leadline could not do that just now. Please try again.',
  gone: 'This lead no longer exists in Leadline.',
  notManager: 'Only managers and admins can route leads to a pipeline.',
  noPipelines: 'No pipelines are set up in the ruleset, so there is nowhere to route this lead.',
  noLiveAlert: 'This alert is no longer open (claimed or not a fit), so it cannot be snoozed.',
  reasonMissing: 'Please say why this lead is not a fit.',
  reasonTooLong: `Please keep the reason to ${NOT_A_FIT_INPUT.maxLength} characters.`,
  badForm: 'This form is out of date. Please close it and try again.',
  badPipeline: 'Please choose one of the pipelines.',
};

/**
 * Registers the listeners for `lead.claim`, `lead.details`, `lead.snooze`, `lead.not_a_fit`,
 * `lead.route` and the `lead.not_a_fit.submit` / `lead.route.submit` modals.
 *
 * @example
 * const slack = createSlackApp({ signingSecret, botToken, apiUrl, log });
 * registerAlertActions(slack.app, jobContext);
 */
export function registerAlertActions(app: App, ctx: AppContext): void {
  registerClaimButton(app, ctx);
  registerDetailsButton(app, ctx);
  registerSnoozeSelect(app, ctx);
  registerNotAFitButton(app, ctx);
  registerRouteButton(app, ctx);
  registerNotAFitSubmit(app, ctx);
  registerRouteSubmit(app, ctx);
}

// Alerts are posted in shared channels: whoever can see one can click it, but only active team
// members may act on it (a guest or a former rep changes nothing).
const onTeam = (ctx: AppContext, slackUserId: string): boolean => callerOf(ctx.ruleset, slackUserId).onTeam;

/** Claim: the first click takes the lead; a later one hears who claimed it (or that it is not a fit). */
function registerClaimButton(app: App, ctx: AppContext): void {
  app.action(ALERT_ACTIONS.claim, async ({ ack, body }) => {
    await ack();
    await handleClick(ctx, body, async (click) => {
      if (!onTeam(ctx, click.userId)) return answer(ctx, click.target, NOT_ON_TEAM);
      const id = leadId.parse(click.value);
      const result = await claimLead(ctx.pool, ctx, {
        leadId: id,
        slackUserId: click.userId,
        now: ctx.now(),
      });
      if (!result.won) await answer(ctx, click.target, lostClaimText(ctx, click.userId, result));
    });
  });
}

/** Details: opens the lead details modal. */
function registerDetailsButton(app: App, ctx: AppContext): void {
  app.action(ALERT_ACTIONS.details, async ({ ack, body, client }) => {
    await ack();
    await handleClick(ctx, body, async (click) => {
      if (!onTeam(ctx, click.userId)) return answer(ctx, click.target, NOT_ON_TEAM);
      const details = await loadLeadDetails(ctx.pool, ctx.ruleset, leadId.parse(click.value), ctx.now());
      if (details === null) return answer(ctx, click.target, TEXT.gone);
      await client.views.open({ trigger_id: click.triggerId ?? '', view: renderLeadDetailsModal(details) });
    });
  });
}

/** Snooze: puts the open alert to sleep for the chosen time. */
function registerSnoozeSelect(app: App, ctx: AppContext): void {
  app.action(ALERT_ACTIONS.snooze, async ({ ack, body }) => {
    await ack();
    await handleClick(ctx, body, async (click) => {
      if (!onTeam(ctx, click.userId)) return answer(ctx, click.target, NOT_ON_TEAM);
      const { leadId: id, option } = snoozeValue.parse(click.value);
      const snoozed = await snoozeAlert(ctx.pool, ctx, {
        leadId: id,
        slackUserId: click.userId,
        option,
        now: ctx.now(),
      });
      if (snoozed === null) await answer(ctx, click.target, TEXT.noLiveAlert);
      // Success shows in the alert message itself (updated through the outbox).
      else ctx.log.debug({ leadId: id, option: SNOOZE_OPTIONS[option] }, 'alert snoozed');
    });
  });
}

/** Not a fit: opens the modal that asks why. */
function registerNotAFitButton(app: App, ctx: AppContext): void {
  app.action(ALERT_ACTIONS.notAFit, async ({ ack, body, client }) => {
    await ack();
    await handleClick(ctx, body, async (click) => {
      if (!onTeam(ctx, click.userId)) return answer(ctx, click.target, NOT_ON_TEAM);
      const id = leadId.parse(click.value);
      const details = await loadLeadDetails(ctx.pool, ctx.ruleset, id, ctx.now());
      if (details === null) return answer(ctx, click.target, TEXT.gone);
      const view = renderNotAFitModal({ leadId: id, leadName: details.name });
      await client.views.open({ trigger_id: click.triggerId ?? '', view });
    });
  });
}

/** Route to…: managers get the pipeline modal, others a refusal. */
function registerRouteButton(app: App, ctx: AppContext): void {
  app.action(ALERT_ACTIONS.route, async ({ ack, body, client }) => {
    await ack();
    await handleClick(ctx, body, async (click) => {
      // Rendered for everyone, checked here: a rep's click changes nothing.
      if (!canManage(memberBySlackUser(ctx.ruleset, click.userId)))
        return answer(ctx, click.target, TEXT.notManager);
      if (ctx.ruleset.pipelines.length === 0) return answer(ctx, click.target, TEXT.noPipelines);
      const id = leadId.parse(click.value);
      const details = await loadLeadDetails(ctx.pool, ctx.ruleset, id, ctx.now());
      if (details === null) return answer(ctx, click.target, TEXT.gone);
      const view = renderRouteModal({ leadId: id, leadName: details.name, pipelines: ctx.ruleset.pipelines });
      await client.views.open({ trigger_id: click.triggerId ?? '', view });
    });
  });
}

/** The Not a fit modal submitted: checks the reason in the ack, disqualifies the lead after it. */
function registerNotAFitSubmit(app: App, ctx: AppContext): void {
  app.view(NOT_A_FIT_CALLBACK, async ({ ack, body }) => {
    const parsed = submissionSchema.safeParse(body);
    const raw = parsed.success ? inputValue(parsed.data.view.state.values, NOT_A_FIT_INPUT) : undefined;
    const reason = typeof raw === 'string' ? raw.trim() : '';
    // Validation is pure and instant, so it can answer in the ack itself, as Slack requires.
    const error = !parsed.success
      ? TEXT.badForm
      : !onTeam(ctx, parsed.data.user.id)
        ? NOT_ON_TEAM
        : reason === ''
          ? TEXT.reasonMissing
          : reason.length > NOT_A_FIT_INPUT.maxLength
            ? TEXT.reasonTooLong
            : null;
    if (error !== null || !parsed.success) {
      await ack({ response_action: 'errors', errors: { [NOT_A_FIT_INPUT.blockId]: error ?? TEXT.badForm } });
      return;
    }
    await ack();
    const { user, view } = parsed.data;
    const target = submitter(user.id, view.id);
    try {
      await disqualifyLead(ctx.pool, ctx, {
        leadId: view.private_metadata.leadId,
        slackUserId: user.id,
        reason,
        now: ctx.now(),
      });
    } catch (err) {
      ctx.log.error({ err, leadId: view.private_metadata.leadId }, 'not a fit failed');
      await answer(ctx, target, TEXT.failed, 'failed');
    }
  });
}

/** The Route to… modal submitted: checks the submitter and pipeline in the ack, routes the lead after it. */
function registerRouteSubmit(app: App, ctx: AppContext): void {
  app.view(ROUTE_CALLBACK, async ({ ack, body }) => {
    const parsed = submissionSchema.safeParse(body);
    const raw = parsed.success ? inputValue(parsed.data.view.state.values, ROUTE_INPUT) : undefined;
    const option = z.object({ value: z.string() }).safeParse(raw);
    const pipeline = ctx.ruleset.pipelines.find((p) => option.success && p.id === option.data.value);
    // Never trust the modal: the submitter is checked again.
    const error = !parsed.success
      ? TEXT.badForm
      : !canManage(memberBySlackUser(ctx.ruleset, parsed.data.user.id))
        ? TEXT.notManager
        : pipeline === undefined
          ? TEXT.badPipeline
          : null;
    if (error !== null || !parsed.success || pipeline === undefined) {
      await ack({ response_action: 'errors', errors: { [ROUTE_INPUT.blockId]: error ?? TEXT.badForm } });
      return;
    }
    await ack();
    const { user, view } = parsed.data;
    const target = submitter(user.id, view.id);
    const id = view.private_metadata.leadId;
    try {
      const result = await routeLeadByManager(ctx.pool, ctx, {
        leadId: id,
        pipelineId: pipeline.id,
        slackUserId: user.id,
        now: ctx.now(),
      });
      if (!result.routed) {
        const why =
          result.why === 'keep'
            ? `it already has an open deal in ${plain(pipeline.name, 100)}`
            : result.why === 'not_found'
              ? 'the lead no longer exists'
              : `routing answered "${plain(result.why, 40)}"`;
        await answer(ctx, target, `Lead not routed: ${why}.`);
      }
    } catch (err) {
      ctx.log.error({ err, leadId: id }, 'manager routing failed');
      await answer(ctx, target, TEXT.failed, 'failed');
    }
  });
}

/** Parses a click, runs `work`, and answers the clicker when anything goes wrong. */
async function handleClick(
  ctx: AppContext,
  body: unknown,
  work: (click: Click) => Promise<void>,
): Promise<void> {
  const parsed = clickSchema.safeParse(body);
  const action = parsed.success ? parsed.data.actions[0] : undefined;
  if (!parsed.success || action === undefined) {
    ctx.log.warn({ issues: parsed.error?.issues }, 'alert action rejected: unexpected payload');
    return;
  }
  const click: Click = {
    actionId: action.action_id,
    userId: parsed.data.user.id,
    // Selects carry the choice in selected_option; buttons in value.
    value: action.selected_option?.value ?? action.value ?? '',
    triggerId: parsed.data.trigger_id ?? null,
    target: {
      userId: parsed.data.user.id,
      responseUrl: parsed.data.response_url ?? null,
      interaction: actionInteraction({
        actionId: action.action_id,
        userId: parsed.data.user.id,
        actionTs: action.action_ts ?? parsed.data.trigger_id ?? 'unknown',
      }),
    },
  };
  try {
    await work(click);
  } catch (err) {
    const invalid = err instanceof z.ZodError;
    ctx.log[invalid ? 'warn' : 'error']({ err, actionId: click.actionId }, 'alert action failed');
    await answer(ctx, click.target, invalid ? TEXT.badForm : TEXT.failed, 'failed').catch((replyErr: unknown) => {
      ctx.log.error({ err: replyErr }, 'could not answer the click');
    });
  }
}

function lostClaimText(ctx: AppContext, userId: string, result: Exclude<ClaimResult, { won: true }>): string {
  const tz = ctx.ruleset.timezone;
  if (result.claimedBy === null) {
    const by = result.disqualifiedBy === null ? '' : ` by ${userMention(result.disqualifiedBy)}`;
    return `This lead was marked not a fit${by} on ${dayTime(result.disqualifiedAt, tz)}, so it cannot be claimed.`;
  }
  const at = clockTime(result.claimedAt, tz);
  return result.claimedBy === userId
    ? `You already claimed this lead at ${at}.`
    : `Already claimed by ${userMention(result.claimedBy)} at ${at}.`;
}

/** A short private answer (ephemeral, else a DM) through the one reply path. */
async function answer(ctx: AppContext, target: ReplyTarget, text: string, part = 'answer'): Promise<void> {
  await respond(ctx, target, { text }, { part, kind: target.responseUrl === null ? 'dm' : 'ephemeral' });
}

/** A modal's submitter, answered by DM: a modal has no response_url. */
function submitter(userId: string, viewId: string): ReplyTarget {
  return { userId, responseUrl: null, interaction: viewInteraction(viewId) };
}

function inputValue(
  values: Record<string, Record<string, Record<string, unknown>>>,
  input: { blockId: string; actionId: string },
): unknown {
  const field = values[input.blockId]?.[input.actionId];
  if (field === undefined) return undefined;
  return 'selected_option' in field ? field['selected_option'] : field['value'];
}
