import { type Queryable, run } from '../../db/pool.ts';
import {
  type ClaimRow,
  type ReceivedRow,
  selectAwayNow,
  selectClaims,
  selectPresenceChanges,
  selectReassignedAway,
  selectReceived,
} from '../../db/sql/decisions.ts';
import { targetShares } from '../../engine/fairness.ts';
import { awayTimeMs, type PresenceChange } from '../../engine/presence.ts';
import type { Ruleset } from '../../engine/ruleset.ts';
import { memberById, memberBySlackUser } from '../../engine/team.ts';
import type { FairnessPipelineView, FairnessRepView, FairnessReportView } from '../../slack/render/reports.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

type Pipeline = Ruleset['pipelines'][number];

interface Figures {
  received: readonly ReceivedRow[];
  reassigned: readonly { pipeline_id: string; member_id: string; reassigned: number }[];
  /** Claims with the claimer resolved to a member id (or their Slack id when not on the team). */
  claims: readonly (ClaimRow & { member_id: string })[];
  away: ReadonlyMap<string, Date>;
  /** Milliseconds each member was away in the window, from the recorded away and back changes. */
  awayMs: ReadonlyMap<string, number>;
}

function strategyOf(pipeline: Pipeline): string {
  const a = pipeline.assignment;
  return a.strategy === 'territory' ? `territory, then ${a.within}` : a.strategy;
}

function repView(ruleset: Ruleset, pipelineId: string, memberId: string, target: number, f: Figures): FairnessRepView {
  const member = memberById(ruleset, memberId);
  const received = f.received.find((r) => r.pipeline_id === pipelineId && r.member_id === memberId);
  const claims = f.claims.find((c) => c.pipeline_id === pipelineId && c.member_id === memberId);
  return {
    person: member === null ? { name: memberId, slackUserId: null } : { name: member.name, slackUserId: member.slack_user_id },
    received: received?.received ?? 0,
    byHand: received?.by_hand ?? 0,
    target,
    claims: claims?.claims ?? 0,
    claimsWithinSla: claims?.within_sla ?? 0,
    reassignedAway: f.reassigned.find((r) => r.pipeline_id === pipelineId && r.member_id === memberId)?.reassigned ?? 0,
    awayUntil: f.away.get(memberId) ?? null,
    awayMs: f.awayMs.get(memberId) ?? 0,
  };
}

/** The pipeline's rotation first (in rotation order), then anyone else with figures in it. */
function pipelineView(ruleset: Ruleset, pipeline: Pipeline, f: Figures): FairnessPipelineView {
  const shares = targetShares(ruleset, pipeline);
  const ids = [...shares.keys()];
  const others = [...f.received, ...f.reassigned, ...f.claims]
    .filter((row) => row.pipeline_id === pipeline.id && !shares.has(row.member_id))
    .map((row) => row.member_id);
  for (const id of others) if (!ids.includes(id)) ids.push(id);
  return {
    name: pipeline.name,
    strategy: strategyOf(pipeline),
    received: f.received.filter((r) => r.pipeline_id === pipeline.id).reduce((sum, r) => sum + r.received, 0),
    reps: ids.map((id) => repView(ruleset, pipeline.id, id, shares.get(id) ?? 0, f)),
  };
}

/**
 * `/lead fairness`: for one pipeline (or each in the ruleset) over the last `days` days, each
 * person's leads from the rotation against their target share (the ruleset's weights now), deals
 * given by hand, claims within SLA, reassignments away from them, their away time in the window
 * (from the away and back changes the audit log keeps) and their current away setting.
 *
 * @example
 * const view = await loadFairnessReport(pool, ruleset, { pipelineId: 'b2b', days: 30, now });
 * view.pipelines[0]?.reps[0] // { person: { name: 'Anna', … }, received: 4, target: 0.33, claims: 3, claimsWithinSla: 2, … }
 */
export async function loadFairnessReport(
  db: Queryable,
  ruleset: Ruleset,
  input: { pipelineId: string | null; days: number; now: Date },
): Promise<FairnessReportView> {
  const { now, days } = input;
  const from = new Date(now.getTime() - days * DAY_MS);
  const [received, reassigned, claimRows, awayRows, presence] = await Promise.all([
    run(db, selectReceived(from, now)),
    run(db, selectReassignedAway(from, now)),
    run(db, selectClaims(from, now)),
    run(db, selectAwayNow(now)),
    run(db, selectPresenceChanges(now)),
  ]);
  const claims = claimRows.map((c) => ({ ...c, member_id: memberBySlackUser(ruleset, c.slack_user_id)?.id ?? c.slack_user_id }));
  const changes = new Map<string, PresenceChange[]>();
  for (const row of presence) {
    const list = changes.get(row.member) ?? [];
    list.push({ at: row.created_at, until: row.action === 'presence.back' || row.until === null ? null : new Date(row.until) });
    changes.set(row.member, list);
  }
  const awayMs = new Map([...changes].map(([member, list]) => [member, awayTimeMs(list, from, now)]));
  const figures: Figures = { received, reassigned, claims, away: new Map(awayRows.map((r) => [r.member_id, r.away_until])), awayMs };
  const pipelines = ruleset.pipelines.filter((p) => input.pipelineId === null || p.id === input.pipelineId);
  return {
    days,
    from,
    timeZone: ruleset.timezone,
    pipelines: pipelines.map((p) => pipelineView(ruleset, p, figures)),
  };
}
