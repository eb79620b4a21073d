import { type AlertNoticeKind, renderAlertNotice } from '../../slack/render/alert.ts';
import { isLockConflict, type PoolClient, run, withTransaction } from '../../db/pool.ts';
import {
  type AlertRow,
  lockDueAlerts,
  lockLeadsSkipLocked,
  selectDueAlertLeads,
  setLockTimeout,
  updateAlert,
} from '../../db/sql/alerts.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import { memberById } from '../../engine/team.ts';
import { changeOwner } from '../changes/owner.ts';
import type { AppContext } from '../context.ts';
import { current, enqueueNotice, loadAlertViews, refreshAlertMessage } from '../processing/alerts.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';

export interface SlaSummary {
  alerts: number;
  reminded: number;
  escalated: number;
  reassigned: number;
  unsnoozed: number;
  chunks: number;
  /** Chunks that lost a lock conflict (a deadlock, a lock held too long): the next sweep takes them. */
  deferred: number;
}

type Step = 'reminded' | 'escalated' | 'reassigned' | 'unsnoozed';

const MINUTE_MS = 60_000;
const SWEEP_ACTOR = 'leadline:sla';

/**
 * Speed to lead: walks every live alert whose next SLA step is due. A snooze that ended reopens the
 * alert and tells the owner again. An open alert goes remind (DM the owner; without an owner straight
 * to the escalation) → escalate (post in `slack.managers_channel`) → reassign (the lead's open deal
 * through the pipeline's rotation, the new owner DMed) → done, each step at
 * `created_at + claim_minutes × remind_at | escalate_at | reassign_at`. A sweep that runs late
 * catches up on every step due by now.
 *
 * Chunks of `chunkSize` leads, each its own transaction: leads are locked first with SKIP LOCKED (a
 * lead being claimed or processed waits for the next sweep), then their due alerts. Each message has
 * a key (`sla:<alertId>:remind`, …) and the step is stored with it, so a re-run posts nothing twice.
 * A chunk that deadlocks or waits longer than `lockTimeoutMs` for a lock is rolled back alone and
 * left to the next sweep; the chunks after it still run this minute.
 *
 * @example
 * await runSlaSweep(ctx) // { alerts: 2, reminded: 1, escalated: 1, reassigned: 0, unsnoozed: 0, chunks: 1 }
 */
export async function runSlaSweep(
  ctx: AppContext,
  chunkSize = 50,
  options: { lockTimeoutMs?: number } = {},
): Promise<SlaSummary> {
  const now = ctx.now();
  const summary: SlaSummary = {
    alerts: 0,
    reminded: 0,
    escalated: 0,
    reassigned: 0,
    unsnoozed: 0,
    chunks: 0,
    deferred: 0,
  };
  const lockTimeoutMs = options.lockTimeoutMs ?? 5_000;
  let afterLeadId = 0;
  for (;;) {
    const due = await run(ctx.pool, selectDueAlertLeads(now, afterLeadId, chunkSize));
    if (due.length === 0) break;
    afterLeadId = due.at(-1)!.lead_id;
    try {
      const chunk = await sweepChunk(ctx, due.map((row) => row.lead_id), now, lockTimeoutMs);
      for (const key of ['alerts', 'reminded', 'escalated', 'reassigned', 'unsnoozed'] as const) summary[key] += chunk[key];
    } catch (err) {
      if (!isLockConflict(err)) throw err;
      summary.deferred += 1;
      ctx.log.warn({ err, leads: due.length, afterLeadId }, 'SLA sweep chunk deferred to the next sweep');
    }
    summary.chunks += 1;
    if (due.length < chunkSize) break;
  }
  return summary;
}

type ChunkCounts = Pick<SlaSummary, 'alerts' | Step>;

// One chunk in its own transaction, its lock waits bounded.
async function sweepChunk(ctx: AppContext, leadIds: number[], now: Date, lockTimeoutMs: number): Promise<ChunkCounts> {
  const counts: ChunkCounts = { alerts: 0, reminded: 0, escalated: 0, reassigned: 0, unsnoozed: 0 };
  await withTransaction(ctx.pool, async (tx) => {
    await run(tx, setLockTimeout(lockTimeoutMs));
    const locked = (await run(tx, lockLeadsSkipLocked(leadIds))).map((row) => row.id);
    if (locked.length === 0) return;
    const alerts = await run(tx, lockDueAlerts(locked, now));
    for (const alert of alerts) {
      for (const step of await advance(tx, ctx, alert, now)) counts[step] += 1;
      await refreshAlertMessage(tx, ctx, alert.id, now);
    }
    if (alerts.length > 0) await kickSlackDelivery(ctx.queue, { db: tx });
    counts.alerts = alerts.length;
  });
  return counts;
}

/** Runs every step of one alert that is due by `now` and stores where the chain stands. */
async function advance(tx: PoolClient, ctx: AppContext, alert: AlertRow, now: Date): Promise<Step[]> {
  const { sla } = ctx.ruleset;
  const claimMs = sla.claim_minutes[alert.priority] * MINUTE_MS;
  const created = alert.created_at.getTime();
  // When step n is due: n = 0 remind, 1 escalate, 2 reassign; after that nothing.
  const dueAt = (step: number): Date | null => {
    const factor = [sla.remind_at, sla.escalate_at, sla.reassign_at][step];
    return factor === undefined ? null : new Date(created + claimMs * factor);
  };
  // The age a step is scheduled at, not the sweep's clock: a retried step renders the same message,
  // which the outbox then recognises and does not send again.
  const minutesAt = (at: Date) => Math.round((at.getTime() - created) / MINUTE_MS);
  const done: Step[] = [];
  let step = alert.sla_step;

  if (alert.state === 'snoozed') {
    const owner = ownerSlackId(ctx, alert);
    if (owner !== null) {
      // One key per snooze: a second snooze ending later tells the owner again.
      const key = `sla:${alert.id}:unsnoozed:${alert.snoozed_until?.getTime() ?? 0}`;
      await notify(tx, ctx, alert, 'unsnoozed', key, owner, undefined, now);
      // The owner was just told the lead waits: that is the reminder, if one was due.
      const remindAt = dueAt(0);
      if (step === 0 && remindAt !== null && remindAt <= now) {
        step = 1;
        await audit(tx, alert, 'sla.reminded', { via: 'snooze_end' }, now);
      }
    }
    done.push('unsnoozed');
    const next = dueAt(step);
    const nextAt = next === null ? null : new Date(Math.max(next.getTime(), now.getTime()));
    const reopened = {
      ...current(alert),
      state: 'open' as const,
      snoozedUntil: null,
      slaStep: step,
      slaNextAt: nextAt,
    };
    await run(tx, updateAlert(alert.id, reopened, now));
    return done;
  }

  for (let at = dueAt(step); at !== null && at <= now; at = dueAt(step)) {
    const owner = ownerSlackId(ctx, alert);
    if (step === 0 && owner !== null) {
      await notify(tx, ctx, alert, 'remind', `sla:${alert.id}:remind`, owner, minutesAt(at), now);
      await audit(tx, alert, 'sla.reminded', { toMemberId: alert.owner_member_id }, now);
      done.push('reminded');
      step = 1;
    } else if (step <= 1) {
      // Nobody to remind: the managers hear about it at once.
      const channel = ctx.ruleset.slack.managers_channel;
      await notify(tx, ctx, alert, 'escalate', `sla:${alert.id}:escalate`, channel, minutesAt(at), now);
      await audit(tx, alert, 'sla.escalated', { channel }, now);
      done.push('escalated');
      step = 2;
    } else {
      await reassign(tx, ctx, alert, minutesAt(at), now);
      done.push('reassigned');
      step = 3;
    }
  }
  await run(tx, updateAlert(alert.id, { ...current(alert), slaStep: step, slaNextAt: dueAt(step) }, now));
  return done;
}

/**
 * Reassigns the lead's open deal (the alert owner's first) through the pipeline's rotation. The
 * ledger decides, so the same owner may come back: the alert and the DM say so.
 */
async function reassign(tx: PoolClient, ctx: AppContext, alert: AlertRow, minutesOpen: number, now: Date) {
  const changed = await changeOwner(tx, ctx, {
    leadId: alert.lead_id,
    to: { kind: 'rotation' },
    deals: 'first',
    actor: SWEEP_ACTOR,
    cause: 'sla',
    now,
  });
  // The sweep goes on with this row: its next step reads the owner.
  alert.owner_member_id = changed.alert?.owner_member_id ?? alert.owner_member_id;
  const owner = ownerSlackId(ctx, alert);
  if (owner === null || (changed.outcome !== 'moved' && changed.outcome !== 'kept')) return;
  const kind = changed.outcome === 'kept' ? 'kept' : 'reassigned';
  await notify(tx, ctx, alert, kind, `sla:${alert.id}:reassign`, owner, minutesOpen, now);
}

function ownerSlackId(ctx: AppContext, alert: AlertRow): string | null {
  return memberById(ctx.ruleset, alert.owner_member_id)?.slack_user_id ?? null;
}

async function notify(
  tx: PoolClient,
  ctx: AppContext,
  alert: AlertRow,
  kind: AlertNoticeKind,
  key: string,
  channel: string,
  minutesOpen: number | undefined,
  now: Date,
): Promise<void> {
  const view = (await loadAlertViews(tx, ctx.ruleset, [alert.id], now)).get(alert.id)?.view;
  if (view === undefined) return;
  const message = renderAlertNotice(view, kind, minutesOpen === undefined ? {} : { minutesOpen });
  await enqueueNotice(tx, { key, leadId: alert.lead_id, channel, message }, now);
}

async function audit(
  tx: PoolClient,
  alert: AlertRow,
  action: string,
  detail: Record<string, unknown>,
  now: Date,
) {
  await run(
    tx,
    insertAudit({
      actor: SWEEP_ACTOR,
      action,
      leadId: alert.lead_id,
      detail: { alertId: alert.id, ...detail },
      now,
    }),
  );
}
