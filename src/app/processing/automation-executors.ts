import {
  dealCard,
  type NotificationLead,
  renderNotification,
} from '../../slack/render/notifications.ts';
import { type PoolClient, run } from '../../db/pool.ts';
import {
  insertTask,
  type LockedDealRow,
  lockAutomationLeads,
  lockDeal,
  type NotificationLeadRow,
  updateAllowedField,
} from '../../db/sql/automation.ts';
import type { PlannedAction, TriggerInstance } from '../../engine/automation.ts';
import type { ActionConfig, ActionType, RoutingRuleset, TeamMember } from '../../engine/routing-schema.ts';
import { managers } from '../../engine/team.ts';
import { LeadlineError } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import { changeOwner } from '../changes/owner.ts';
import { moveStage } from '../changes/stage.ts';
import { routeLeadTo } from './routing.ts';
import { enqueueSlack, type OutboxMessage, validateSlackMessage } from '../../slack/outbox/enqueue.ts';
import { personView } from '../queries/lead-card.ts';
import { requestMocoSync } from '../moco/request.ts';

/**
 * What each automation action does to the database: one executor per action type. Planning,
 * recording and the savepoint around each action stay in automation-step.ts; an executor only
 * does its action and throws when it cannot, so the step records it as failed.
 */

/** What an action did: its result for `automation_actions`, and whether later triggers must reload. */
export interface Executed {
  result: unknown;
  /** The action changed facts later triggers read (stages, owners, fields, deals). */
  changed: boolean;
  enqueued?: number;
  /** Rules' triggers the action fired (a stage move's `stage_entered`, `deal_won` …), one cascade level deeper. */
  triggers?: TriggerInstance[];
}

export interface ExecuteOptions {
  /** The lead's row, already locked by the caller and unchanged since: saves reading it again. */
  knownLead?: NotificationLeadRow | undefined;
  /** Collects Slack messages for the caller to enqueue together, instead of one statement each. */
  outbox?: OutboxMessage[];
  /**
   * Deals this transaction opened, as the caller loaded them and unchanged since: no other
   * transaction can see them yet, so actions that only read them need not read them again.
   */
  knownDeals?: ReadonlyMap<number, LockedDealRow> | undefined;
  /** The cascade depth of the trigger that planned the action. */
  depth?: number;
}

const HOUR_MS = 60 * 60 * 1000;

async function lockedDeal(tx: PoolClient, action: PlannedAction): Promise<LockedDealRow> {
  if (action.dealId === null) throw failed(`${action.action.type} needs a deal and the lead has none`);
  const [deal] = await run(tx, lockDeal(Number(action.dealId)));
  if (deal === undefined) throw failed(`deal ${action.dealId} no longer exists`);
  return deal;
}

function teamMember(ruleset: Pick<RoutingRuleset, 'team'>, memberId: string): TeamMember {
  const member = ruleset.team.members.find((m) => m.id === memberId);
  if (member === undefined) throw failed(`${memberId} is not in team.members`);
  return member;
}

function lockedDealView(deal: LockedDealRow) {
  return {
    dealId: String(deal.id),
    pipelineId: deal.pipeline_id,
    stageId: deal.stage_id,
    ownerId: deal.owner_member_id,
    value: deal.value,
    priority: deal.priority,
    stageEnteredAt: deal.stage_entered_at,
  };
}

/** The action's deal for reading: a deal the caller knows as it is, else locked and read. */
async function dealToRead(tx: PoolClient, action: PlannedAction, options: ExecuteOptions): Promise<LockedDealRow> {
  const known = action.dealId === null ? undefined : options.knownDeals?.get(Number(action.dealId));
  return known ?? lockedDeal(tx, action);
}

async function ownerOf(
  tx: PoolClient,
  ctx: AppContext,
  action: PlannedAction,
  options: ExecuteOptions,
): Promise<TeamMember> {
  const deal = await dealToRead(tx, action, options);
  if (deal.owner_member_id === null) throw failed(`deal ${deal.id} has no owner`);
  return teamMember(ctx.ruleset, deal.owner_member_id);
}

/** What an executor gets: the planned action narrowed to its type, and the facts around it. */
interface Run<T extends ActionType> {
  tx: PoolClient;
  ctx: AppContext;
  planned: PlannedAction;
  action: Extract<ActionConfig, { type: T }>;
  leadId: number;
  dealId: number | null;
  /** The cause stored with what the action changed: `automation:<rule id>`. */
  cause: string;
  now: Date;
  options: ExecuteOptions;
}

type Executor<T extends ActionType> = (run: Run<T>) => Promise<Executed>;

/** One executor per action type; the type checker insists on one for each. */
const EXECUTORS: { [T in ActionType]: Executor<T> } = {
  move_to_stage: moveToStage,
  assign_owner: assignOwnerAction,
  route_to_pipeline: routeToPipeline,
  send_notification: sendNotification,
  create_task: createTask,
  sync_moco: syncMoco,
  update_field: updateField,
};

/**
 * Runs one planned action inside the caller's savepoint and says what it did; throws when the
 * action cannot run (the caller records it as failed).
 *
 * @example
 * const outcome = await execute(tx, ctx, action, now); // { result: { dealId: 7, from: 'new', to: 'qualified' }, changed: true }
 */
export async function execute(
  tx: PoolClient,
  ctx: AppContext,
  action: PlannedAction,
  now: Date,
  options: ExecuteOptions = {},
): Promise<Executed> {
  const executor = EXECUTORS[action.action.type] as Executor<ActionType> | undefined;
  if (executor === undefined) throw failed(`unknown action ${JSON.stringify(action.action)}`);
  return executor({
    tx,
    ctx,
    planned: action,
    action: action.action,
    leadId: Number(action.leadId),
    dealId: action.dealId === null ? null : Number(action.dealId),
    cause: `automation:${action.ruleId}`,
    now,
    options,
  });
}

async function moveToStage(step: Run<'move_to_stage'>): Promise<Executed> {
  const { tx, ctx, planned, action, cause, now, options } = step;
  const deal = await lockedDeal(tx, planned);
  const depth = (options.depth ?? 0) + 1;
  const move = await moveStage(tx, ctx, { dealId: deal.id, stage: action.stage, cause, now, depth });
  if (!move.moved) return { result: { dealId: deal.id, stage: action.stage, unchanged: true }, changed: false };
  const closed = move.closed === null ? {} : { closed: move.closed };
  return { result: { dealId: deal.id, from: move.from, to: move.to, ...closed }, changed: true, triggers: move.triggers };
}

async function assignOwnerAction(step: Run<'assign_owner'>): Promise<Executed> {
  const { tx, ctx, planned, action, now } = step;
  const deal = await lockedDeal(tx, planned);
  if (deal.status !== 'open') throw failed(`deal ${deal.id} is ${deal.status}; only open deals get owners`);
  const changed = await changeOwner(tx, ctx, {
    leadId: deal.lead_id,
    to: action.member === undefined ? { kind: 'rotation' } : { kind: 'member', memberId: action.member },
    deals: [deal.id],
    actor: `rule:${planned.ruleId}`,
    cause: 'automation',
    now,
  });
  const outcome = changed.deals[0]?.assignment?.outcome;
  return {
    result: {
      dealId: deal.id,
      previousOwner: deal.owner_member_id,
      owner: changed.deals[0]?.owner ?? deal.owner_member_id,
      outcome: outcome?.kind ?? 'named',
      ...(outcome !== undefined && 'why' in outcome ? { why: outcome.why } : {}),
      ...(outcome?.kind === 'queue' ? { queue: outcome.queue } : {}),
    },
    changed: true,
  };
}

async function routeToPipeline(step: Run<'route_to_pipeline'>): Promise<Executed> {
  const { tx, ctx, planned, action, leadId, cause, now } = step;
  const routed = await routeLeadTo(tx, ctx, leadId, action.pipeline, cause, now);
  const decision = routed.decision;
  if (routed.dealId !== null) {
    await changeOwner(tx, ctx, {
      leadId,
      to: { kind: 'routed', dealId: routed.dealId, assignment: routed.assignment },
      deals: 'all',
      actor: `rule:${planned.ruleId}`,
      cause: 'automation',
      now,
    });
  }
  return {
    result: {
      pipelineId: action.pipeline,
      decision: decision.kind,
      dealId: routed.dealId,
      ...('cause' in decision ? { cause: decision.cause } : {}),
    },
    changed: routed.dealId !== null,
    triggers: routed.triggers.map((t) => ({ ...t, depth: (step.options.depth ?? 0) + 1 })),
  };
}

async function sendNotification(step: Run<'send_notification'>): Promise<Executed> {
  const { tx, ctx, planned, action: a, leadId, now, options } = step;
  const deal = planned.dealId === null ? null : await dealToRead(tx, planned, options);
  const recipients = notificationRecipients(ctx.ruleset, a.channel, deal, `notify:${planned.actionKey}`);
  const lead = options.knownLead ?? (await run(tx, lockAutomationLeads([leadId], [])))[0];
  if (lead === undefined) throw failed(`lead ${leadId} no longer exists`);
  const payload = renderNotification({
    template: a.template,
    ruleId: planned.ruleId,
    lead: notificationLead(lead),
    deal: deal === null ? null : dealCard(lockedDealView(deal), ctx.ruleset, now),
  });
  for (const r of recipients) {
    const message: OutboxMessage = {
      key: r.key,
      kind: 'notification',
      leadId,
      method: 'chat.postMessage',
      channel: r.channel,
      payload: { ...payload },
    };
    if (options.outbox === undefined) await enqueueSlack(tx, message, now);
    else {
      validateSlackMessage(message);
      options.outbox.push(message);
    }
  }
  return {
    result: { template: a.template, channels: recipients.map((r) => r.channel) },
    changed: false,
    enqueued: recipients.length,
  };
}

/** Where a notification goes: the deal's owner, every manager (one key each), or a channel. */
function notificationRecipients(
  ruleset: AppContext['ruleset'],
  channel: string,
  deal: LockedDealRow | null,
  key: string,
): { channel: string; key: string }[] {
  if (channel === 'owner') {
    if (deal?.owner_member_id == null) throw failed('the deal has no owner to notify');
    return [{ channel: teamMember(ruleset, deal.owner_member_id).slack_user_id, key }];
  }
  if (channel === 'managers') {
    const reached = managers(ruleset);
    if (reached.length === 0) throw failed('team.members has no active manager or admin to notify');
    return reached.map((m) => ({ channel: m.slack_user_id, key: `${key}:${m.id}` }));
  }
  return [{ channel, key }];
}

async function createTask(step: Run<'create_task'>): Promise<Executed> {
  const { tx, ctx, planned, action: a, leadId, dealId, now, options } = step;
  let assignee: string;
  if (a.assignee === 'owner') assignee = (await ownerOf(tx, ctx, planned, options)).id;
  else if (a.assignee === 'managers') {
    // One task, one person responsible: the first active manager (team order).
    const first = managers(ctx.ruleset)[0];
    if (first === undefined) throw failed('team.members has no active manager or admin for the task');
    assignee = first.id;
  } else assignee = a.assignee;
  const dueAt = new Date(now.getTime() + a.due_in_hours * HOUR_MS);
  const [task] = await run(
    tx,
    insertTask({ leadId, dealId, title: a.title, assignee, dueAt, sourceKey: planned.actionKey, now }),
  );
  return { result: { taskId: task?.id ?? null, assignee, dueAt: dueAt.toISOString() }, changed: false };
}

async function syncMoco({ tx, ctx, planned, action, leadId, dealId, now }: Run<'sync_moco'>): Promise<Executed> {
  const request = await requestMocoSync(tx, ctx, { sourceKey: planned.actionKey, entity: action.entity, leadId, dealId, now });
  return {
    result: { requestId: request?.id ?? null, entity: action.entity, state: request?.state ?? 'pending' },
    changed: false,
  };
}

async function updateField({ tx, action: a, leadId, dealId, now }: Run<'update_field'>): Promise<Executed> {
  if (a.field.startsWith('deal.') && dealId === null) throw failed(`${a.field} needs a deal`);
  const [row] = await run(tx, updateAllowedField(a.field, { leadId, dealId }, a.value, now));
  if (row === undefined) throw failed(`${a.field}: the ${a.field.split('.')[0]} no longer exists`);
  return { result: { field: a.field, value: a.value, previous: row.previous ?? null }, changed: true };
}

function failed(message: string): LeadlineError {
  return new LeadlineError('automation_action_failed', message);
}

/**
 * A lead row as notifications show it.
 *
 * @example
 * renderNotification({ template: 'hot_lead', ruleId, lead: notificationLead(row), deal: null })
 */
export function notificationLead(row: NotificationLeadRow): NotificationLead {
  return {
    ...personView(row.id, row),
    country: row.country,
    score: row.score,
    grade: row.grade,
    primaryIntent: row.primary_intent,
    intentConfidence: row.intent_confidence,
  };
}
