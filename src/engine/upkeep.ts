import type { MemberPresence } from './presence.ts';
import type { DealView } from './facts.ts';
import type { RoutingRuleset } from './routing-schema.ts';

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
  const findings: UpkeepFinding[] = [];
  const t = now.getTime();
  const age = (from: Date) => t - from.getTime();
  const team = new Map(ruleset.team.members.map((m) => [m.id, m]));
  const deactivated = new Set(input.presence?.filter((p) => p.deactivated === true).map((p) => p.memberId));
  const open = input.deals.filter((deal) => deal.status === 'open');

  const byLeadPipeline = new Map<string, DealView[]>();
  for (const deal of open) {
    const key = `${deal.leadId}\u0000${deal.pipelineId}`;
    byLeadPipeline.set(key, [...(byLeadPipeline.get(key) ?? []), deal]);
  }
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

  for (const deal of open) {
    const base = { leadId: deal.leadId, dealId: deal.dealId };
    const pipeline = ruleset.pipelines.find((p) => p.id === deal.pipelineId);
    if (pipeline === undefined || !pipeline.stages.some((s) => s.id === deal.stageId)) {
      findings.push({
        kind: 'integrity.unknown_stage',
        key: `integrity.unknown_stage:${deal.dealId}:${deal.pipelineId}:${deal.stageId}`,
        severity: 'error',
        ...base,
        detail: { pipelineId: deal.pipelineId, stageId: deal.stageId },
      });
    } else {
      const override = upkeep.stages.find((s) => s.pipeline === deal.pipelineId && s.stage === deal.stageId);
      const days = override?.stalled_days ?? upkeep.stalled_deal_days;
      if (age(deal.stageEnteredAt) > days * DAY_MS) {
        findings.push({
          kind: 'deal.stalled',
          key: `deal.stalled:${deal.dealId}:${deal.stageId}:${deal.stageEnteredAt.toISOString()}`,
          severity: 'warning',
          ...base,
          detail: {
            pipelineId: deal.pipelineId,
            stageId: deal.stageId,
            daysInStage: Math.floor(age(deal.stageEnteredAt) / DAY_MS),
            thresholdDays: days,
          },
        });
      }
    }

    const lastHeard = deal.lastActivityAt ?? deal.createdAt;
    if (age(lastHeard) > upkeep.ghost_risk_days * DAY_MS) {
      findings.push({
        kind: 'deal.ghost_risk',
        key: `deal.ghost_risk:${deal.dealId}:${lastHeard.toISOString()}`,
        severity: 'warning',
        ...base,
        detail: {
          ownerId: deal.ownerId,
          daysSilent: Math.floor(age(lastHeard) / DAY_MS),
          thresholdDays: upkeep.ghost_risk_days,
        },
      });
    }

    if (deal.ownerId === null) {
      if (age(deal.createdAt) > upkeep.unowned_deal_hours * HOUR_MS) {
        findings.push({
          kind: 'integrity.deal_unowned',
          key: `integrity.deal_unowned:${deal.dealId}`,
          severity: 'warning',
          ...base,
          detail: {
            hoursOpen: Math.floor(age(deal.createdAt) / HOUR_MS),
            thresholdHours: upkeep.unowned_deal_hours,
          },
        });
      }
    } else {
      const member = team.get(deal.ownerId);
      const why =
        member === undefined
          ? 'not_in_team'
          : !member.active
            ? 'inactive'
            : deactivated.has(deal.ownerId)
              ? 'slack_deactivated'
              : null;
      if (why !== null) {
        findings.push({
          kind: 'integrity.owner_inactive',
          key: `integrity.owner_inactive:${deal.dealId}:${deal.ownerId}`,
          severity: 'error',
          ...base,
          detail: { ownerId: deal.ownerId, why },
        });
      }
    }
  }

  const leadsWithOpenDeal = new Set(open.map((deal) => deal.leadId));
  for (const lead of input.leads) {
    if (lead.status === 'archived') continue;
    if (lead.status === 'routed' && !leadsWithOpenDeal.has(lead.leadId)) {
      findings.push({
        kind: 'integrity.routed_without_deal',
        key: `integrity.routed_without_deal:${lead.leadId}`,
        severity: 'error',
        leadId: lead.leadId,
        dealId: null,
        detail: {},
      });
    }
    const last = lead.lastActivityAt ?? lead.createdAt;
    // A lead with an open deal is watched by the deal checks (stalled, ghost risk) instead.
    if (!leadsWithOpenDeal.has(lead.leadId) && age(last) > upkeep.stale_lead_days * DAY_MS) {
      findings.push({
        kind: 'lead.stale',
        key: `lead.stale:${lead.leadId}:${last.toISOString()}`,
        severity: 'info',
        leadId: lead.leadId,
        dealId: null,
        detail: { daysInactive: Math.floor(age(last) / DAY_MS), thresholdDays: upkeep.stale_lead_days },
      });
    }
  }

  for (const c of input.conflicts) {
    if (age(c.createdAt) > upkeep.conflict_max_age_hours * HOUR_MS) {
      findings.push({
        kind: 'integrity.conflict_overdue',
        key: `integrity.conflict_overdue:${c.conflictId}`,
        severity: 'warning',
        leadId: c.leadId,
        dealId: null,
        detail: {
          conflictId: c.conflictId,
          hoursOpen: Math.floor(age(c.createdAt) / HOUR_MS),
          thresholdHours: upkeep.conflict_max_age_hours,
        },
      });
    }
  }
  return findings.sort((a, b) =>
    a.kind === b.kind ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.kind < b.kind ? -1 : 1,
  );
}
