import type { MemberPresence } from './presence.ts';
import type { DealView } from './facts.ts';
import type { RoutingRuleset, TeamMember, UpkeepConfig } from './routing-schema.ts';

/**
 * Scheduled upkeep, the pure part: given leads, deals, open conflicts and `now`, what needs a
 * human. Every finding has a stable `key` per occurrence (a stage visit, a silence since a given
 * activity), so the job can upsert findings and alert once per key however often it runs.
 * Ages count once they EXCEED the threshold: a deal 14 days in stage is not stalled at 14 days, only after.
 */

export type LeadStatus = 'pool' | 'routed' | 'archived';

export interface UpkeepLead {
  leadId: string;
  status: LeadStatus;
  createdAt: Date;
  lastActivityAt: Date | null;
}

export interface UpkeepConflict {
  conflictId: string;
  leadId: string;
  createdAt: Date;
}

export interface UpkeepInput {
  leads: readonly UpkeepLead[];
  /** Deals to check; only open ones produce findings, so passing open deals is enough. */
  deals: readonly DealView[];
  /** Unresolved routing conflicts. */
  conflicts: readonly UpkeepConflict[];
  /** Slack presence, to catch owners whose account was deactivated. */
  presence?: readonly MemberPresence[];
}

type Finding<K extends string, D> = {
  kind: K;
  key: string;
  severity: 'info' | 'warning' | 'error';
  leadId: string;
  dealId: string | null;
  detail: D;
};

export type UpkeepFinding =
  | Finding<
      'deal.stalled',
      { pipelineId: string; stageId: string; daysInStage: number; thresholdDays: number }
    >
  | Finding<'deal.ghost_risk', { ownerId: string | null; daysSilent: number; thresholdDays: number }>
  | Finding<'lead.stale', { daysInactive: number; thresholdDays: number }>
  | Finding<'integrity.routed_without_deal', Record<string, never>>
  | Finding<
      'integrity.owner_inactive',
      { ownerId: string; why: 'not_in_team' | 'inactive' | 'slack_deactivated' }
    >
  | Finding<'integrity.deal_unowned', { hoursOpen: number; thresholdHours: number }>
  | Finding<'integrity.conflict_overdue', { conflictId: string; hoursOpen: number; thresholdHours: number }>
  | Finding<'integrity.duplicate_open_deal', { pipelineId: string; dealIds: string[] }>
  | Finding<'integrity.unknown_stage', { pipelineId: string; stageId: string }>;

export type UpkeepKind = UpkeepFinding['kind'];

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/**
 * All findings at `now`, sorted by kind then key. Thresholds come from the ruleset's `upkeep`
 * section (`stages` overrides `stalled_deal_days` per stage).
 *
 * @example
 * findUpkeep({ leads, deals, conflicts, presence }, ruleset, now)
 * // [{ kind: 'deal.stalled', key: 'deal.stalled:d1:proposal:2025-02-01T09:00:00.000Z', detail: { daysInStage: 30, … } }, …]
 */
export function findUpkeep(
  input: UpkeepInput,
  ruleset: Pick<RoutingRuleset, 'pipelines' | 'upkeep' | 'team'>,
  now: Date,
): UpkeepFinding[] {
  const { upkeep } = ruleset;
  const open = input.deals.filter((deal) => deal.status === 'open');
  const checks: DealChecks = {
    pipelines: ruleset.pipelines,
    upkeep,
    team: new Map(ruleset.team.members.map((m) => [m.id, m])),
    deactivated: new Set(input.presence?.filter((p) => p.deactivated === true).map((p) => p.memberId)),
    now,
  };
  const leadsWithOpenDeal = new Set(open.map((deal) => deal.leadId));
  const findings: UpkeepFinding[] = [
    ...duplicateOpenDeals(open),
    ...open.flatMap((deal) => dealFindings(deal, checks)),
    ...routedWithoutDeal(input.leads, leadsWithOpenDeal),
    ...staleLeads(input.leads, leadsWithOpenDeal, upkeep, now),
    ...overdueConflicts(input.conflicts, upkeep, now),
  ];
  return findings.sort(byKindThenKey);
}

/** Milliseconds from `from` to `now`. */
function age(now: Date, from: Date): number {
  return now.getTime() - from.getTime();
}

/** Sort order of findings: by kind, then by key. */
function byKindThenKey(a: UpkeepFinding, b: UpkeepFinding): number {
  return a.kind === b.kind ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.kind < b.kind ? -1 : 1;
}

/** integrity.duplicate_open_deal: a lead with more than one open deal in the same pipeline. */
function duplicateOpenDeals(open: readonly DealView[]): UpkeepFinding[] {
  const byLeadPipeline = new Map<string, DealView[]>();
  for (const deal of open) {
    const key = `${deal.leadId}\u0000${deal.pipelineId}`;
    byLeadPipeline.set(key, [...(byLeadPipeline.get(key) ?? []), deal]);
  }
  const findings: UpkeepFinding[] = [];
  for (const deals of byLeadPipeline.values()) {
    const first = deals[0]!;
    if (deals.length < 2) continue;
    findings.push({
      kind: 'integrity.duplicate_open_deal',
      key: `integrity.duplicate_open_deal:${first.leadId}:${first.pipelineId}`,
      severity: 'error',
      leadId: first.leadId,
      dealId: null,
      detail: { pipelineId: first.pipelineId, dealIds: deals.map((d) => d.dealId).sort() },
    });
  }
  return findings;
}

/** What the per-deal checks read: pipelines, thresholds, the team by id and Slack-deactivated members. */
interface DealChecks {
  pipelines: RoutingRuleset['pipelines'];
  upkeep: UpkeepConfig;
  team: Map<string, TeamMember>;
  deactivated: Set<string>;
  now: Date;
}

/** Every finding about one open deal: its stage, its silence and its owner. */
function dealFindings(deal: DealView, checks: DealChecks): UpkeepFinding[] {
  return [
    stageFinding(deal, checks),
    ghostRiskFinding(deal, checks),
    deal.ownerId === null ? unownedFinding(deal, checks) : inactiveOwnerFinding(deal, deal.ownerId, checks),
  ].filter((finding) => finding !== null);
}

/** integrity.unknown_stage when its pipeline lacks the deal's stage, else deal.stalled past the threshold. */
function stageFinding(deal: DealView, { pipelines, upkeep, now }: DealChecks): UpkeepFinding | null {
  const base = { leadId: deal.leadId, dealId: deal.dealId };
  const pipeline = pipelines.find((p) => p.id === deal.pipelineId);
  if (pipeline === undefined || !pipeline.stages.some((s) => s.id === deal.stageId)) {
    return {
      kind: 'integrity.unknown_stage',
      key: `integrity.unknown_stage:${deal.dealId}:${deal.pipelineId}:${deal.stageId}`,
      severity: 'error',
      ...base,
      detail: { pipelineId: deal.pipelineId, stageId: deal.stageId },
    };
  }
  const override = upkeep.stages.find((s) => s.pipeline === deal.pipelineId && s.stage === deal.stageId);
  const days = override?.stalled_days ?? upkeep.stalled_deal_days;
  if (age(now, deal.stageEnteredAt) > days * DAY_MS) {
    return {
      kind: 'deal.stalled',
      key: `deal.stalled:${deal.dealId}:${deal.stageId}:${deal.stageEnteredAt.toISOString()}`,
      severity: 'warning',
      ...base,
      detail: {
        pipelineId: deal.pipelineId,
        stageId: deal.stageId,
        daysInStage: Math.floor(age(now, deal.stageEnteredAt) / DAY_MS),
        thresholdDays: days,
      },
    };
  }
  return null;
}

/** deal.ghost_risk: nothing heard on the deal (since it was created) for longer than `ghost_risk_days`. */
function ghostRiskFinding(deal: DealView, { upkeep, now }: DealChecks): UpkeepFinding | null {
  const lastHeard = deal.lastActivityAt ?? deal.createdAt;
  if (age(now, lastHeard) > upkeep.ghost_risk_days * DAY_MS) {
    return {
      kind: 'deal.ghost_risk',
      key: `deal.ghost_risk:${deal.dealId}:${lastHeard.toISOString()}`,
      severity: 'warning',
      leadId: deal.leadId,
      dealId: deal.dealId,
      detail: {
        ownerId: deal.ownerId,
        daysSilent: Math.floor(age(now, lastHeard) / DAY_MS),
        thresholdDays: upkeep.ghost_risk_days,
      },
    };
  }
  return null;
}

/** integrity.deal_unowned: a deal without an owner for longer than `unowned_deal_hours`. */
function unownedFinding(deal: DealView, { upkeep, now }: DealChecks): UpkeepFinding | null {
  if (age(now, deal.createdAt) > upkeep.unowned_deal_hours * HOUR_MS) {
    return {
      kind: 'integrity.deal_unowned',
      key: `integrity.deal_unowned:${deal.dealId}`,
      severity: 'warning',
      leadId: deal.leadId,
      dealId: deal.dealId,
      detail: {
        hoursOpen: Math.floor(age(now, deal.createdAt) / HOUR_MS),
        thresholdHours: upkeep.unowned_deal_hours,
      },
    };
  }
  return null;
}

/** integrity.owner_inactive: the owner left the team, is inactive there, or was deactivated in Slack. */
function inactiveOwnerFinding(
  deal: DealView,
  ownerId: string,
  { team, deactivated }: DealChecks,
): UpkeepFinding | null {
  const member = team.get(ownerId);
  const why =
    member === undefined
      ? 'not_in_team'
      : !member.active
        ? 'inactive'
        : deactivated.has(ownerId)
          ? 'slack_deactivated'
          : null;
  if (why === null) return null;
  return {
    kind: 'integrity.owner_inactive',
    key: `integrity.owner_inactive:${deal.dealId}:${ownerId}`,
    severity: 'error',
    leadId: deal.leadId,
    dealId: deal.dealId,
    detail: { ownerId, why },
  };
}

/** integrity.routed_without_deal: a lead marked routed that has no open deal. */
function routedWithoutDeal(leads: readonly UpkeepLead[], leadsWithOpenDeal: Set<string>): UpkeepFinding[] {
  return leads
    .filter((lead) => lead.status === 'routed' && !leadsWithOpenDeal.has(lead.leadId))
    .map((lead) => ({
      kind: 'integrity.routed_without_deal',
      key: `integrity.routed_without_deal:${lead.leadId}`,
      severity: 'error',
      leadId: lead.leadId,
      dealId: null,
      detail: {},
    }));
}

/** lead.stale: a lead that is not archived and has been quiet for longer than `stale_lead_days`. */
function staleLeads(
  leads: readonly UpkeepLead[],
  leadsWithOpenDeal: Set<string>,
  upkeep: UpkeepConfig,
  now: Date,
): UpkeepFinding[] {
  const findings: UpkeepFinding[] = [];
  for (const lead of leads) {
    if (lead.status === 'archived') continue;
    const last = lead.lastActivityAt ?? lead.createdAt;
    // A lead with an open deal is watched by the deal checks (stalled, ghost risk) instead.
    if (!leadsWithOpenDeal.has(lead.leadId) && age(now, last) > upkeep.stale_lead_days * DAY_MS) {
      findings.push({
        kind: 'lead.stale',
        key: `lead.stale:${lead.leadId}:${last.toISOString()}`,
        severity: 'info',
        leadId: lead.leadId,
        dealId: null,
        detail: { daysInactive: Math.floor(age(now, last) / DAY_MS), thresholdDays: upkeep.stale_lead_days },
      });
    }
  }
  return findings;
}

/** integrity.conflict_overdue: a routing conflict unresolved for longer than `conflict_max_age_hours`. */
function overdueConflicts(
  conflicts: readonly UpkeepConflict[],
  upkeep: UpkeepConfig,
  now: Date,
): UpkeepFinding[] {
  return conflicts
    .filter((c) => age(now, c.createdAt) > upkeep.conflict_max_age_hours * HOUR_MS)
    .map((c) => ({
      kind: 'integrity.conflict_overdue',
      key: `integrity.conflict_overdue:${c.conflictId}`,
      severity: 'warning',
      leadId: c.leadId,
      dealId: null,
      detail: {
        conflictId: c.conflictId,
        hoursOpen: Math.floor(age(now, c.createdAt) / HOUR_MS),
        thresholdHours: upkeep.conflict_max_age_hours,
      },
    }));
}
