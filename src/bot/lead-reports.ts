import type { AppContext } from '../app/context.ts';
import { loadDecisionHistory } from '../app/queries/decision-history.ts';
import { loadFairnessReport } from '../app/queries/fairness-report.ts';
import { leadByEmail } from '../app/queries/find-leads.ts';
import { displayName } from '../app/queries/lead-card.ts';
import type { Ruleset } from '../engine/ruleset.ts';
import { notice } from '../slack/render/lead-lists.ts';
import { plain } from '../slack/render/mrkdwn.ts';
import { renderDecisionHistory, renderFairnessReport } from '../slack/render/reports.ts';
import { type ReplyTarget, respond } from '../slack/respond.ts';

/**
 * `/lead why` and `/lead fairness` after the ack: both read only, and answer privately through the
 * outbox. Roles were checked before the ack (lead-command.ts).
 */

/**
 * `/lead why <email>`: the lead's stored route and owner decisions with their ruleset versions.
 *
 * @example
 * await runWhy(ctx, target, 'ada@genomics-lab.example');
 */
export async function runWhy(ctx: AppContext, target: ReplyTarget, email: string): Promise<void> {
  const lead = await leadByEmail(ctx.pool, email);
  if (lead === null) {
    await respond(ctx, target, notice(`No lead has the email ${plain(email, 320)}.`));
    return;
  }
  const view = await loadDecisionHistory(ctx.pool, ctx.ruleset, { id: lead.id, name: displayName(lead) });
  await respond(ctx, target, renderDecisionHistory(view), { leadId: lead.id });
}

/**
 * The pipeline a person typed: its id or its name, any case; null when none matches.
 *
 * @example
 * pipelineNamed(ruleset, 'b2b customers') // { id: 'b2b', name: 'B2B customers', … }
 */
export function pipelineNamed(ruleset: Pick<Ruleset, 'pipelines'>, typed: string): Ruleset['pipelines'][number] | null {
  const wanted = typed.trim().toLowerCase();
  return ruleset.pipelines.find((p) => p.id.toLowerCase() === wanted || p.name.toLowerCase() === wanted) ?? null;
}

/**
 * `/lead fairness [pipeline] [days]` for managers and admins.
 *
 * @example
 * await runFairness(ctx, target, { pipeline: 'b2b', days: 30 });
 */
export async function runFairness(
  ctx: AppContext,
  target: ReplyTarget,
  input: { pipeline: string | null; days: number },
): Promise<void> {
  const pipeline = input.pipeline === null ? null : pipelineNamed(ctx.ruleset, input.pipeline);
  if (input.pipeline !== null && pipeline === null) {
    const known = ctx.ruleset.pipelines.map((p) => `\`${plain(p.id, 60)}\``).join(', ');
    await respond(ctx, target, notice(`No pipeline is called “${plain(input.pipeline, 100)}”. Pipelines: ${known}.`));
    return;
  }
  const view = await loadFairnessReport(ctx.pool, ctx.ruleset, {
    pipelineId: pipeline?.id ?? null,
    days: input.days,
    now: ctx.now(),
  });
  await respond(ctx, target, renderFairnessReport(view));
}
