import { dealCard, renderUpkeepFinding } from '../../slack/render/notifications.ts';
import { managers } from '../../engine/team.ts';
import { type PoolClient, run, withTransaction } from '../../db/pool.ts';
import {
  type FindingUpsert,
  lockUpkeepRun,
  resolveUnseenFindings,
  selectNotificationLeads,
  selectOpenDeals,
  selectOverdueConflicts,
  selectTeamPresence,
  selectUpkeepLeads,
  type UpkeepDealRow,
  upsertFindings,
} from '../../db/sql/upkeep.ts';
import type { MemberPresence } from '../../engine/presence.ts';
import { dealTrigger, type TriggerInstance } from '../../engine/automation.ts';
import type { DealView } from '../../engine/facts.ts';
import { findUpkeep, type UpkeepFinding, type UpkeepKind } from '../../engine/upkeep.ts';
import { notificationLead } from '../processing/automation-executors.ts';
import { type AutomationSummary, emptyAutomationSummary, runAutomation } from '../processing/automation.ts';
import type { AppContext } from '../context.ts';
import { purgeOldDecisions, type RetentionSummary } from './audit-retention.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { enqueueSlack } from '../../slack/outbox/enqueue.ts';

export interface UpkeepOptions {
  /** Most leads without an open deal examined per run (routed ones first, then the most recently silent). Default 5,000. */
  leadLimit?: number;
  /** Leads per transaction when time_in_stage automation runs. Default 100. */
  automationChunk?: number;
  /** Decisions older than this many days are purged (`LEADLINE_AUDIT_DAYS`). Default 400. */
  auditDays?: number;
}

export interface UpkeepSummary {
  /** Findings seen this run. */
  findings: number;
  /** Findings new (or back after being resolved) this run: the announced ones. */
  new: number;
  resolved: number;
  messages: number;
  /** The lead query hit `leadLimit`: lead findings were not resolved this run. */
  truncated: boolean;
  automation: AutomationSummary;
  /** Decisions deleted for being past their retention. */
  purged: RetentionSummary;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Kinds that come from the bounded lead query: when it was cut off, their absence proves nothing.
const LEAD_KINDS: readonly UpkeepKind[] = ['lead.stale', 'integrity.routed_without_deal'];
// Stale leads are many and nobody's in particular: recorded for lists and the Home tab, not announced.
const SILENT_KINDS: ReadonlySet<UpkeepKind> = new Set(['lead.stale']);

/**
 * One upkeep run. In one transaction (serialised across processes by an advisory lock): load open
 * deals, leads without an open deal that may be stale or routed in error (bounded), overdue
 * conflicts and team presence with set queries; `findUpkeep`; upsert findings by key (first seen
 * kept, last seen updated); resolve findings not seen any more; and enqueue one Slack message per new
 * finding (the owner's DM for stalled and ghost-risk deals, else every active manager's DM). Then,
 * in chunks of leads with their own transactions, fire `time_in_stage` automation for open deals
 * past a rule's days (once per stage visit: the trigger id is the visit). Last, decisions past
 * `auditDays` are purged (purgeOldDecisions).
 *
 * @example
 * const summary = await runUpkeep(ctx);
 * // { findings: 12, new: 2, resolved: 1, messages: 2, truncated: false, automation: { executed: 1, … } }
 */
export async function runUpkeep(ctx: AppContext, options: UpkeepOptions = {}): Promise<UpkeepSummary> {
  const now = ctx.now();
  const leadLimit = options.leadLimit ?? 5_000;
  const checked = await withTransaction(ctx.pool, (tx) => checkFindings(tx, ctx, now, leadLimit));
  const automation = await fireTimeInStage(ctx, checked.deals, now, options.automationChunk ?? 100);
  const purged = await purgeOldDecisions(ctx, options.auditDays === undefined ? {} : { auditDays: options.auditDays });
  const { deals: _deals, ...summary } = checked;
  return { ...summary, automation, purged };
}

async function checkFindings(tx: PoolClient, ctx: AppContext, now: Date, leadLimit: number) {
  await run(tx, lockUpkeepRun());
  const state = await loadUpkeepState(tx, ctx, now, leadLimit);
  const findings = findUpkeep(state.input, ctx.ruleset, now);
  const truncated = state.leadCount >= leadLimit;
  if (truncated) ctx.log.warn({ leadLimit }, 'upkeep: lead query cut off; lead findings kept open this run');
  const { fresh, resolved } = await storeFindings(tx, findings, truncated, now);
  const messages = await announceFindings(
    tx,
    ctx,
    fresh.filter((f) => !SILENT_KINDS.has(f.kind)),
    state.dealRows,
    state.input.presence,
    now,
  );
  if (messages > 0) await kickSlackDelivery(ctx.queue, { db: tx });
  return { findings: findings.length, new: fresh.length, resolved, messages, truncated, deals: state.input.deals };
}

// Open deals, quiet leads, overdue conflicts and the team's presence, as the engine's upkeep input.
async function loadUpkeepState(tx: PoolClient, ctx: AppContext, now: Date, leadLimit: number) {
  const { upkeep } = ctx.ruleset;
  const dealRows = await run(tx, selectOpenDeals());
  const leadRows = await run(
    tx,
    selectUpkeepLeads(new Date(now.getTime() - upkeep.stale_lead_days * DAY_MS), leadLimit),
  );
  const conflicts = await run(
    tx,
    selectOverdueConflicts(new Date(now.getTime() - upkeep.conflict_max_age_hours * 60 * 60 * 1000)),
  );
  const presenceRows = await run(tx, selectTeamPresence());
  const deals = dealRows.map(dealView);
  const openByOwner = new Map<string, number>();
  for (const d of deals)
    if (d.ownerId !== null) openByOwner.set(d.ownerId, (openByOwner.get(d.ownerId) ?? 0) + 1);
  const presence: MemberPresence[] = presenceRows.map((p) => ({
    memberId: p.member_id,
    openDeals: openByOwner.get(p.member_id) ?? 0,
    statusEmoji: p.status_emoji,
    statusText: p.status_text,
    statusExpiresAt: p.status_expires_at,
    awayUntil: p.away_until,
    deactivated: p.deactivated,
  }));
  const input = {
    deals,
    leads: leadRows.map((l) => ({
      leadId: String(l.id),
      status: l.status,
      createdAt: l.created_at,
      lastActivityAt: l.last_activity_at,
    })),
    conflicts: conflicts.map((c) => ({ conflictId: String(c.id), leadId: String(c.lead_id), createdAt: c.created_at })),
    presence,
  };
  return { dealRows, leadCount: leadRows.length, input };
}

// Upserts this run's findings and resolves the ones no longer seen (lead findings only when the lead
// query was complete); answers the findings seen for the first time.
async function storeFindings(
  tx: PoolClient,
  findings: ReturnType<typeof findUpkeep>,
  truncated: boolean,
  now: Date,
): Promise<{ fresh: ReturnType<typeof findUpkeep>; resolved: number }> {
  const rows: FindingUpsert[] = findings.map((f) => ({
    key: f.key,
    kind: f.kind,
    severity: f.severity,
    leadId: Number(f.leadId),
    dealId: f.dealId === null ? null : Number(f.dealId),
    detail: f.detail,
  }));
  const upserted =
    rows.length === 0 ? [] : await run(tx, upsertFindings(rows, now));
  const announce = new Set(upserted.filter((r) => r.announce).map((r) => r.key));
  const resolved = await run(
    tx,
    resolveUnseenFindings(
      findings.map((f) => f.key),
      truncated ? LEAD_KINDS : [],
      now,
    ),
  );
  return { fresh: findings.filter((f) => announce.has(f.key)), resolved: resolved.length };
}

function dealView(row: UpkeepDealRow): DealView {
  return {
    dealId: String(row.id),
    leadId: String(row.lead_id),
    pipelineId: row.pipeline_id,
    stageId: row.stage_id,
    ownerId: row.owner_member_id,
    status: row.status,
    value: row.value,
    priority: row.priority,
    createdAt: row.created_at,
    stageEnteredAt: row.stage_entered_at,
    lastActivityAt: row.last_activity_at,
  };
}

/**
 * Who hears about a finding: the owner (an active team member whose Slack account works) for
 * stalled and ghost-risk deals, the active managers and admins for everything else and for deals
 * whose owner cannot be reached. Returns Slack user ids with the outbox key suffix.
 */
function recipientsOf(
  finding: UpkeepFinding,
  dealRows: ReadonlyMap<number, UpkeepDealRow>,
  presence: readonly MemberPresence[],
  ctx: AppContext,
): { channel: string; suffix: string }[] {
  if (finding.kind === 'deal.stalled' || finding.kind === 'deal.ghost_risk') {
    const ownerId =
      finding.dealId === null ? null : (dealRows.get(Number(finding.dealId))?.owner_member_id ?? null);
    const owner = ctx.ruleset.team.members.find((m) => m.id === ownerId);
    const deactivated = presence.some((p) => p.memberId === ownerId && p.deactivated === true);
    if (owner?.active && !deactivated) return [{ channel: owner.slack_user_id, suffix: '' }];
  }
  return managers(ctx.ruleset).map((m) => ({ channel: m.slack_user_id, suffix: `:${m.id}` }));
}

async function announceFindings(
  tx: PoolClient,
  ctx: AppContext,
  findings: readonly UpkeepFinding[],
  dealRows: readonly UpkeepDealRow[],
  presence: readonly MemberPresence[],
  now: Date,
): Promise<number> {
  if (findings.length === 0) return 0;
  const leadIds = [...new Set(findings.map((f) => Number(f.leadId)))];
  const leads = new Map(
    (await run(tx, selectNotificationLeads(leadIds))).map((row) => [row.id, row]),
  );
  const deals = new Map(dealRows.map((row) => [row.id, row]));
  let messages = 0;
  for (const finding of findings) {
    const leadRow = leads.get(Number(finding.leadId));
    const dealRow = finding.dealId === null ? undefined : deals.get(Number(finding.dealId));
    const payload = renderUpkeepFinding({
      finding,
      lead: leadRow === undefined ? null : notificationLead(leadRow),
      deal: dealRow === undefined ? null : dealCard(dealView(dealRow), ctx.ruleset, now),
    });
    const recipients = recipientsOf(finding, deals, presence, ctx);
    if (recipients.length === 0)
      ctx.log.warn({ key: finding.key }, 'upkeep: nobody to tell (no active manager)');
    for (const r of recipients) {
      await enqueueSlack(
        tx,
        {
          key: `upkeep:${finding.key}${r.suffix}`,
          kind: 'upkeep',
          leadId: Number(finding.leadId),
          method: 'chat.postMessage',
          channel: r.channel,
          payload: { ...payload },
        },
        now,
      );
      messages += 1;
    }
  }
  return messages;
}

/**
 * `time_in_stage` triggers for open deals some enabled rule could fire for now (pipeline and stage
 * match, days passed); the engine makes the final decision, the trigger id makes it once per visit.
 */
async function fireTimeInStage(
  ctx: AppContext,
  deals: readonly DealView[],
  now: Date,
  chunkSize: number,
): Promise<AutomationSummary> {
  const total = emptyAutomationSummary();
  const rules = ctx.ruleset.automation.flatMap((rule) =>
    rule.enabled && rule.trigger.type === 'time_in_stage' ? [rule.trigger] : [],
  );
  if (rules.length === 0) return total;
  const byLead = new Map<number, TriggerInstance[]>();
  for (const deal of deals) {
    const due = rules.some(
      (t) =>
        (t.pipeline === undefined || t.pipeline === deal.pipelineId) &&
        (t.stage === undefined || t.stage === deal.stageId) &&
        now.getTime() - deal.stageEnteredAt.getTime() >= t.days * DAY_MS,
    );
    if (!due) continue;
    const leadId = Number(deal.leadId);
    byLead.set(leadId, [...(byLead.get(leadId) ?? []), dealTrigger('time_in_stage', deal)]);
  }
  const leadIds = [...byLead.keys()].sort((a, b) => a - b);
  for (let i = 0; i < leadIds.length; i += chunkSize) {
    const inputs = leadIds
      .slice(i, i + chunkSize)
      .map((leadId) => ({ leadId, triggers: byLead.get(leadId)! }));
    // Short transactions: the leads are locked while their rules run, and event processing waits for them.
    const summary = await withTransaction(ctx.pool, (tx) => runAutomation(tx, ctx, inputs, now));
    for (const key of Object.keys(total) as (keyof AutomationSummary)[]) total[key] += summary[key];
  }
  return total;
}
