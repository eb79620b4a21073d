import {
  dealCard,
  managerRecipients,
  type NotificationLead,
  renderNotification,
} from '../../slack/render/notifications.ts';
import { type PoolClient, run } from '../../db/pool.ts';
import {
  type AutomationLeadRow,
  insertMocoSyncRequest,
  insertTask,
  type LockedDealRow,
  lockAutomationLeads,
  lockDeal,
  moveDealToStage,
  type NotificationLeadRow,
  updateAllowedField,
} from '../../db/sql/automation.ts';
import type { PlannedAction } from '../../engine/automation.ts';
import type { RoutingRuleset, TeamMember } from '../../engine/routing-schema.ts';
import type { AppContext } from '../context.ts';
import { assignDeal } from './assignment.ts';
import { routeLeadTo } from './routing.ts';
import { enqueueSlack, type OutboxMessage, validateSlackMessage } from '../../slack/outbox/enqueue.ts';

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
}

const HOUR_MS = 60 * 60 * 1000;

async function lockedDeal(tx: PoolClient, action: PlannedAction): Promise<LockedDealRow> {
  if (action.dealId === null) throw new Error(`${action.action.type} needs a deal and the lead has none`);
  const [deal] = await run<LockedDealRow>(tx, lockDeal(Number(action.dealId)));
  if (deal === undefined) throw new Error(`deal ${action.dealId} no longer exists`);
  return deal;
}

function teamMember(ruleset: Pick<RoutingRuleset, 'team'>, memberId: string): TeamMember {
  const member = ruleset.team.members.find((m) => m.id === memberId);
  if (member === undefined) throw new Error(`${memberId} is not in team.members`);
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
  if (deal.owner_member_id === null) throw new Error(`deal ${deal.id} has no owner`);
  return teamMember(ctx.ruleset, deal.owner_member_id);
}

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
  const a = action.action;
  const leadId = Number(action.leadId);
  const dealId = action.dealId === null ? null : Number(action.dealId);
  const cause = `automation:${action.ruleId}`;
  switch (a.type) {
    case 'move_to_stage': {
      const deal = await lockedDeal(tx, action);
      if (deal.status !== 'open') throw new Error(`deal ${deal.id} is ${deal.status}; only open deals move`);
      const pipeline = ctx.ruleset.pipelines.find((p) => p.id === deal.pipeline_id);
      if (pipeline === undefined) throw new Error(`pipeline ${deal.pipeline_id} is not in the ruleset`);
      if (!pipeline.stages.some((s) => s.id === a.stage)) {
        const stages = pipeline.stages.map((s) => s.id).join(', ');
        throw new Error(`stage ${a.stage} is not a stage of pipeline ${pipeline.id} (${stages})`);
      }
      if (deal.stage_id === a.stage)
        return { result: { dealId: deal.id, stage: a.stage, unchanged: true }, changed: false };
      await run(tx, moveDealToStage(deal.id, a.stage, cause, now));
      return { result: { dealId: deal.id, from: deal.stage_id, to: a.stage }, changed: true };
    }
    case 'assign_owner': {
      const deal = await lockedDeal(tx, action);
      if (deal.status !== 'open')
        throw new Error(`deal ${deal.id} is ${deal.status}; only open deals get owners`);
      const assignment = await assignDeal(tx, ctx, deal.id, a.member ?? null, now);
      const [after] = await run<LockedDealRow>(tx, lockDeal(deal.id));
      const outcome = assignment?.outcome;
      return {
        result: {
          dealId: deal.id,
          previousOwner: deal.owner_member_id,
          owner: after?.owner_member_id ?? null,
          outcome: outcome?.kind ?? 'named',
          ...(outcome !== undefined && 'why' in outcome ? { why: outcome.why } : {}),
          ...(outcome?.kind === 'queue' ? { queue: outcome.queue } : {}),
        },
        changed: true,
      };
    }
    case 'route_to_pipeline': {
      const routed = await routeLeadTo(tx, ctx, leadId, a.pipeline, cause, now);
      const decision = routed.decision;
      return {
        result: {
          pipelineId: a.pipeline,
          decision: decision.kind,
          dealId: routed.dealId,
          ...('cause' in decision ? { cause: decision.cause } : {}),
        },
        changed: routed.dealId !== null,
      };
    }
    case 'send_notification': {
      const deal = action.dealId === null ? null : await dealToRead(tx, action, options);
      const recipients: { channel: string; key: string }[] = [];
      const base = `notify:${action.actionKey}`;
      if (a.channel === 'owner') {
        if (deal?.owner_member_id == null) throw new Error('the deal has no owner to notify');
        recipients.push({ channel: teamMember(ctx.ruleset, deal.owner_member_id).slack_user_id, key: base });
      } else if (a.channel === 'managers') {
        const managers = managerRecipients(ctx.ruleset.team);
        if (managers.length === 0) throw new Error('team.members has no active manager or admin to notify');
        for (const m of managers) recipients.push({ channel: m.slack_user_id, key: `${base}:${m.id}` });
      } else {
        recipients.push({ channel: a.channel, key: base });
      }
      const lead = options.knownLead ?? (await run<AutomationLeadRow>(tx, lockAutomationLeads([leadId], [])))[0];
      if (lead === undefined) throw new Error(`lead ${leadId} no longer exists`);
      const payload = renderNotification({
        template: a.template,
        ruleId: action.ruleId,
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
    case 'create_task': {
      let assignee: string;
      if (a.assignee === 'owner') assignee = (await ownerOf(tx, ctx, action, options)).id;
      else if (a.assignee === 'managers') {
        // One task, one person responsible: the first active manager (team order).
        const first = managerRecipients(ctx.ruleset.team)[0];
        if (first === undefined) throw new Error('team.members has no active manager or admin for the task');
        assignee = first.id;
      } else assignee = a.assignee;
      const dueAt = new Date(now.getTime() + a.due_in_hours * HOUR_MS);
      const [task] = await run<{ id: number }>(
        tx,
        insertTask({ leadId, dealId, title: a.title, assignee, dueAt, sourceKey: action.actionKey, now }),
      );
      return { result: { taskId: task?.id ?? null, assignee, dueAt: dueAt.toISOString() }, changed: false };
    }
    case 'sync_moco': {
      const [request] = await run<{ id: number; state: string }>(
        tx,
        insertMocoSyncRequest({ sourceKey: action.actionKey, entity: a.entity, leadId, dealId, now }),
      );
      return {
        result: {
          requestId: request?.id ?? null,
          entity: a.entity,
          state: request?.state ?? 'pending',
          note: 'queued; it is sent once the MOCO client is connected',
        },
        changed: false,
      };
    }
    case 'update_field': {
      if (a.field.startsWith('deal.') && dealId === null) throw new Error(`${a.field} needs a deal`);
      const [row] = await run<{ previous: unknown }>(
        tx,
        updateAllowedField(a.field, { leadId, dealId }, a.value, now),
      );
      if (row === undefined) throw new Error(`${a.field}: the ${a.field.split('.')[0]} no longer exists`);
      return { result: { field: a.field, value: a.value, previous: row.previous ?? null }, changed: true };
    }
    default: {
      const unknown: never = a;
      throw new Error(`unknown action ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * A lead row as notifications show it.
 *
 * @example
 * renderNotification({ template: 'hot_lead', ruleId, lead: notificationLead(row), deal: null })
 */
export function notificationLead(row: NotificationLeadRow): NotificationLead {
  return {
    id: String(row.id),
    fullName: row.full_name,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    company: row.company,
    title: row.title,
    country: row.country,
    score: row.score,
    grade: row.grade,
    primaryIntent: row.primary_intent,
    intentConfidence: row.intent_confidence,
  };
}
