import { run } from '../../db/pool.ts';
import {
  selectAwayUntil,
  selectHotInPipelines,
  selectMyLeads,
  selectOpenConflicts,
  selectTeamLoad,
} from '../../db/sql/lookup.ts';
import { absence, AWAY_UNTIL_BACK } from '../../engine/presence.ts';
import { rotationMembers, type TeamMember } from '../../engine/routing-schema.ts';
import { canManage, isAdmin, memberBySlackUser } from '../../engine/team.ts';
import { selectOpenSyncs } from '../../db/sql/moco-sync.ts';
import { selectOwnedPipelineValue } from '../../db/sql/deals.ts';
import { weightedValue } from '../../engine/deals.ts';
import type { HomeData, HomeTeamLoad } from '../../slack/render/home.ts';
import { startOfWeek } from '../../engine/calendar.ts';
import { formatLocal } from '../../slack/render/time.ts';
import type { AppContext } from '../context.ts';
import { loadFairness } from './fairness.ts';
import { toLine } from './find-leads.ts';
import { displayName } from './lead-card.ts';
import type { AwayRow } from '../../db/sql/lookup.ts';

function absenceText(member: TeamMember, presence: AwayRow | undefined, ctx: AppContext, now: Date) {
  const reason = absence(
    member,
    presence === undefined
      ? undefined
      : {
          memberId: member.id,
          openDeals: 0,
          statusEmoji: presence.status_emoji,
          statusText: presence.status_text,
          statusExpiresAt: presence.status_expires_at,
          awayUntil: presence.away_until,
          deactivated: presence.deactivated,
        },
    ctx.ruleset.team.away,
    now,
  );
  if (reason === null) return null;
  if (reason.kind === 'inactive') return 'inactive';
  if (reason.via !== 'away_until') return `away (${reason.value})`;
  const until = presence?.away_until;
  return until == null || until.getTime() === AWAY_UNTIL_BACK.getTime()
    ? 'away until back'
    : `away until ${formatLocal(until, ctx.ruleset.timezone)}`;
}

/**
 * Everything one user's Home tab shows, read in parallel.
 *
 * @example
 * const data = await loadHome(ctx, 'U0ANNA001'); // { member: { name: 'Anna', role: 'rep' }, queue: […], … }
 */
export async function loadHome(ctx: AppContext, userId: string): Promise<HomeData> {
  const now = ctx.now();
  const base = { now, timeZone: ctx.ruleset.timezone };
  const member = memberBySlackUser(ctx.ruleset, userId);
  const manager = canManage(member);
  if (member === null || !member.active) {
    const pipeline = { openDeals: 0, weighted: 0, currency: ctx.ruleset.deals.currency };
    return { ...base, member: null, away: null, queue: [], hot: [], pipeline, manager: null };
  }
  const ruleset = ctx.ruleset;
  const mine = ruleset.pipelines.filter((p) => rotationMembers(p, ruleset.team).includes(member.id));
  // Managers outside every rotation watch all pipelines.
  const pipelines = mine.length === 0 && manager ? ruleset.pipelines : mine;
  const hotScore = ruleset.thresholds.find((t) => t.name === ruleset.slack.hot_threshold)?.score ?? 80;
  const team = ruleset.team.members;
  const [queue, hot, presence, owned] = await Promise.all([
    run(ctx.pool, selectMyLeads(member.id, 16)),
    run(
      ctx.pool,
      selectHotInPipelines(
        pipelines.map((p) => p.id),
        [...new Set(pipelines.map((p) => p.intent))],
        hotScore,
        11,
      ),
    ),
    run(ctx.pool, selectAwayUntil(team.map((m) => m.id))),
    run(ctx.pool, selectOwnedPipelineValue(member.id)),
  ]);
  const presenceOf = new Map(presence.map((p) => [p.member_id, p]));
  const awayUntil = presenceOf.get(member.id)?.away_until ?? null;
  const data: HomeData = {
    ...base,
    member: { name: member.name, role: member.role },
    away:
      awayUntil !== null && awayUntil > now
        ? { until: awayUntil, untilBack: awayUntil.getTime() === AWAY_UNTIL_BACK.getTime() }
        : null,
    queue: queue.map(toLine),
    hot: hot.map(toLine),
    pipeline: ownedPipeline(ruleset, owned),
    manager: null,
  };
  if (manager) data.manager = await loadTeamHome(ctx, member, presenceOf, now);
  return data;
}

/** What managers see below their own queue: conflicts, team load, fairness; for admins MOCO syncs. */
async function loadTeamHome(
  ctx: AppContext,
  member: TeamMember,
  presenceOf: ReadonlyMap<string, AwayRow>,
  now: Date,
): Promise<NonNullable<HomeData['manager']>> {
  const ruleset = ctx.ruleset;
  const team = ruleset.team.members;
  const weekStart = startOfWeek(now, ruleset.timezone);
  const [conflicts, load, fairness, syncs] = await Promise.all([
    run(ctx.pool, selectOpenConflicts(5)),
    run(ctx.pool, selectTeamLoad(team.map((m) => m.id))),
    // The window ends just after now: an assignment made this instant counts this week.
    loadFairness(ctx.pool, ruleset, weekStart, new Date(now.getTime() + 1)),
    isAdmin(member) ? run(ctx.pool, selectOpenSyncs(5)) : Promise.resolve(null),
  ]);
  const loadOf = new Map(load.map((l) => [l.member_id, l]));
  return {
    conflicts: conflicts.map((c) => ({
      leadId: c.lead_id,
      name: displayName(c),
      cause: c.cause,
      openedAt: c.created_at,
    })),
    conflictTotal: conflicts[0]?.total ?? 0,
    load: team.map(
      (m): HomeTeamLoad => ({
        name: m.name,
        slackUserId: m.slack_user_id,
        openDeals: loadOf.get(m.id)?.open_deals ?? 0,
        waitingAlerts: loadOf.get(m.id)?.waiting_alerts ?? 0,
        absence: absenceText(m, presenceOf.get(m.id), ctx, now),
      }),
    ),
    fairness,
    weekStart,
    mocoSyncs:
      syncs === null
        ? null
        : {
            total: syncs[0]?.total ?? 0,
            items: syncs.map((r) => ({ name: displayName({ ...r, id: r.lead_id }), state: r.state, error: r.last_error, attempts: r.attempts })),
          },
  };
}

/** The member's open deals and their stage-weighted value in the ruleset currency. */
function ownedPipeline(
  ruleset: AppContext['ruleset'],
  rows: readonly { pipeline_id: string; stage_id: string; currency: string | null; amount: number; deals: number }[],
): HomeData['pipeline'] {
  const currency = ruleset.deals.currency;
  const ours = rows.filter((r) => r.currency === null || r.currency === currency);
  const pipelines = new Map(ruleset.pipelines.map((p) => [p.id, p]));
  const weighted = ours.reduce(
    (sum, r) => sum + weightedValue({ status: 'open', value: r.amount, stageId: r.stage_id }, pipelines.get(r.pipeline_id)),
    0,
  );
  return { openDeals: rows.reduce((n, r) => n + r.deals, 0), weighted: Math.round(weighted * 100) / 100, currency };
}
