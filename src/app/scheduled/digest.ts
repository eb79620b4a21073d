import { type DigestData, type FairnessRow, renderDigest } from '../../slack/render/digest.ts';
import { localDateKey } from '../../slack/render/time.ts';
import { type Queryable, run, withTransaction } from '../../db/pool.ts';
import {
  selectDigestCounts,
  selectPreviousSlot,
  selectRotationCounts,
  selectTopSources,
} from '../../db/sql/digest.ts';
import { rotationMembers } from '../../engine/routing-schema.ts';
import type { Ruleset } from '../../engine/ruleset.ts';
import { DIGEST_QUEUE } from '../queues.ts';
import type { AppContext } from '../context.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { enqueueSlack } from '../../slack/outbox/enqueue.ts';


const DAY_MS = 86_400_000;
/** A digest never looks back further than this, however long the last one is ago. */
const MAX_WINDOW_MS = 7 * DAY_MS;

/**
 * Each member's rotation leads against their target share: per pipeline, the share is the member's
 * weight over the rotation's total weight, as assignment computes it (`weighted`: `weights` or the
 * member's `weight`; `capacity`: capacity; otherwise equal). Members in no rotation who still received
 * leads are listed with a target of 0.
 *
 * @example
 * fairness(ruleset, [{ pipeline_id: 'b2b', member_id: 'anna', received: 2 }, { pipeline_id: 'b2b', member_id: 'ben', received: 1 }])
 * // [{ memberId: 'anna', received: 2, expected: 1, targetPercent: 33.3, … }, { memberId: 'ben', … }, …]
 */
export function fairness(
  ruleset: Pick<Ruleset, 'pipelines' | 'team'>,
  counts: readonly { pipeline_id: string; member_id: string; received: number }[],
): FairnessRow[] {
  const members = new Map(ruleset.team.members.map((m) => [m.id, m]));
  const rows = new Map<string, FairnessRow>();
  const row = (memberId: string) => {
    let found = rows.get(memberId);
    if (found === undefined) {
      found = {
        memberId,
        name: members.get(memberId)?.name ?? memberId,
        received: 0,
        expected: 0,
        targetPercent: 0,
      };
      rows.set(memberId, found);
    }
    return found;
  };
  let total = 0;
  for (const pipeline of ruleset.pipelines) {
    const a = pipeline.assignment;
    const inner = a.strategy === 'territory' ? a.within : a.strategy;
    const rotation = rotationMembers(pipeline, ruleset.team);
    const weights = rotation.map((id) => {
      const member = members.get(id);
      if (inner === 'weighted') return a.weights?.[id] ?? member?.weight ?? 1;
      if (inner === 'capacity') return member?.capacity ?? a.capacity ?? 1;
      return 1;
    });
    const weightSum = weights.reduce((sum, w) => sum + w, 0);
    const leads = counts.filter((c) => c.pipeline_id === pipeline.id).reduce((sum, c) => sum + c.received, 0);
    total += leads;
    rotation.forEach((id, i) => {
      row(id).expected += weightSum === 0 ? 0 : (leads * weights[i]!) / weightSum;
    });
  }
  for (const count of counts) row(count.member_id).received += count.received;
  const order = [...members.keys()];
  return [...rows.values()]
    .map((r) => ({ ...r, targetPercent: total === 0 ? 0 : (r.expected / total) * 100 }))
    .sort(
      (a, b) =>
        indexOr(order, a.memberId) - indexOr(order, b.memberId) || a.memberId.localeCompare(b.memberId),
    );
}

function indexOr(order: readonly string[], id: string): number {
  const i = order.indexOf(id);
  return i === -1 ? order.length : i;
}

/**
 * Rotation fairness over `[from, to)`: for the Home tab (this week) and the digest (the day).
 *
 * @example
 * const rows = await loadFairness(pool, ruleset, weekStart, now);
 */
export async function loadFairness(
  db: Queryable,
  ruleset: Ruleset,
  from: Date,
  to: Date,
): Promise<FairnessRow[]> {
  const counts = await run(
    db,
    selectRotationCounts(from, to),
  );
  return fairness(ruleset, counts);
}

/**
 * The digest's numbers over `[from, to)`, for the local date of `to` in the ruleset's time zone.
 *
 * @example
 * const data = await collectDigest(pool, ruleset, { from, to }); // { newLeads: 12, hotLeads: 3, … }
 */
export async function collectDigest(
  db: Queryable,
  ruleset: Ruleset,
  window: { from: Date; to: Date },
): Promise<DigestData> {
  const { from, to } = window;
  const [[counts], sources, members] = await Promise.all([
    run(db, selectDigestCounts(from, to, ruleset.slack.hot_threshold)),
    run(db, selectTopSources(from, to, 5)),
    loadFairness(db, ruleset, from, to),
  ]);
  if (counts === undefined) throw new Error('digest counts query returned no row');
  return {
    date: localDateKey(new Date(to.getTime() - 1), ruleset.timezone),
    from,
    to,
    timeZone: ruleset.timezone,
    newLeads: counts.new_leads,
    hotLeads: counts.hot_leads,
    claimed: counts.claimed,
    unclaimed: counts.unclaimed,
    medianClaimMs:
      counts.median_claim_seconds === null ? null : Math.round(counts.median_claim_seconds * 1000),
    slaBreaches: counts.sla_breaches,
    conflictsResolved: counts.conflicts_resolved,
    dealsCreated: counts.deals_created,
    dealsWon: counts.deals_won,
    topSources: sources,
    members,
  };
}

/**
 * Collects the digest over `[from, to)` and posts it to `slack.digest_channel` through the outbox,
 * keyed `digest:<date>` (the local date of the window's end), so a rerun for the same day updates
 * the one message instead of posting another.
 *
 * @example
 * await runDigest(ctx, { from: new Date('2026-11-19T07:00:00Z'), to: new Date('2026-11-20T07:00:00Z') });
 * // posts "Lead digest for 2026-11-20" to #sales
 */
export async function runDigest(ctx: AppContext, window: { from: Date; to: Date }): Promise<DigestData> {
  const data = await collectDigest(ctx.pool, ctx.ruleset, window);
  const message = renderDigest(data);
  await withTransaction(ctx.pool, async (tx) => {
    await enqueueSlack(
      tx,
      {
        key: `digest:${data.date}`,
        kind: 'digest',
        method: 'chat.postMessage',
        channel: ctx.ruleset.slack.digest_channel,
        payload: { text: message.text, blocks: message.blocks, unfurl_links: false },
      },
      ctx.now(),
    );
    await kickSlackDelivery(ctx.queue, { db: tx });
  });
  ctx.log.info({ date: data.date, newLeads: data.newLeads }, 'daily digest queued');
  return data;
}

/**
 * The window a scheduled run covers: from the previous slot this job ran for (so Monday's digest
 * covers the weekend) to this slot; a day when there is none; never more than a week.
 *
 * @example
 * await digestWindow(pool, '2026-11-23T07:00') // { from: 2026-11-20T07:00Z, to: 2026-11-23T07:00Z }
 */
export async function digestWindow(db: Queryable, slot: string): Promise<{ from: Date; to: Date }> {
  const to = new Date(`${slot}:00.000Z`);
  if (Number.isNaN(to.getTime())) throw new Error(`invalid digest slot ${slot}`);
  const [previous] = await run(db, selectPreviousSlot(DIGEST_QUEUE, slot));
  const last = previous?.slot == null ? null : new Date(`${previous.slot}:00.000Z`);
  const from =
    last === null || to.getTime() - last.getTime() > MAX_WINDOW_MS ? new Date(to.getTime() - DAY_MS) : last;
  return { from, to };
}
