import { type DigestData, renderDigest } from '../../slack/render/digest.ts';
import { dayKey } from '../../engine/calendar.ts';
import { weightedValue } from '../../engine/deals.ts';
import { type Queryable, run, withTransaction } from '../../db/pool.ts';
import { LeadlineError } from '../../errors.ts';
import {
  selectDigestCounts,
  selectOpenPipelineValue,
  selectRevenueWon,
  selectPreviousSlot,
  selectTopSources,
} from '../../db/sql/digest.ts';
import type { Ruleset } from '../../engine/ruleset.ts';
import { loadFairness } from '../queries/fairness.ts';
import { DIGEST_QUEUE } from '../queues.ts';
import type { AppContext } from '../context.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { enqueueSlack } from '../../slack/outbox/enqueue.ts';

const DAY_MS = 86_400_000;
/** A digest never looks back further than this, however long the last one is ago. */
const MAX_WINDOW_MS = 7 * DAY_MS;

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
  const [[counts], sources, members, won, open] = await Promise.all([
    run(db, selectDigestCounts(from, to, ruleset.slack.hot_threshold)),
    run(db, selectTopSources(from, to, 5)),
    loadFairness(db, ruleset, from, to),
    run(db, selectRevenueWon(from, to)),
    run(db, selectOpenPipelineValue()),
  ]);
  if (counts === undefined) throw new LeadlineError('invariant_broken', 'digest counts query returned no row');
  return {
    date: dayKey(new Date(to.getTime() - 1), ruleset.timezone),
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
    ...money(ruleset, won, open),
    topSources: sources,
    members,
  };
}

/**
 * Revenue won and the weighted open pipeline in the ruleset currency (a deal without a currency is
 * in it); amounts in other currencies are counted apart, not converted.
 */
function money(
  ruleset: Ruleset,
  won: readonly { currency: string | null; amount: number }[],
  open: readonly { pipeline_id: string; stage_id: string; currency: string | null; amount: number }[],
): Pick<DigestData, 'currency' | 'revenueWon' | 'weightedPipeline' | 'otherCurrencies'> {
  const currency = ruleset.deals.currency;
  const ours = (c: string | null) => c === null || c === currency;
  const pipelines = new Map(ruleset.pipelines.map((p) => [p.id, p]));
  const weighted = open
    .filter((row) => ours(row.currency))
    .reduce(
      (sum, row) => sum + weightedValue({ status: 'open', value: row.amount, stageId: row.stage_id }, pipelines.get(row.pipeline_id)),
      0,
    );
  const others = [...won, ...open].filter((row) => !ours(row.currency)).map((row) => row.currency!);
  return {
    currency,
    revenueWon: won.filter((row) => ours(row.currency)).reduce((sum, row) => sum + row.amount, 0),
    weightedPipeline: Math.round(weighted * 100) / 100,
    otherCurrencies: [...new Set(others)].sort(),
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
  if (Number.isNaN(to.getTime())) throw new LeadlineError('job_payload_invalid', `invalid digest slot ${slot}`);
  const [previous] = await run(db, selectPreviousSlot(DIGEST_QUEUE, slot));
  const last = previous?.slot == null ? null : new Date(`${previous.slot}:00.000Z`);
  const from =
    last === null || to.getTime() - last.getTime() > MAX_WINDOW_MS ? new Date(to.getTime() - DAY_MS) : last;
  return { from, to };
}
