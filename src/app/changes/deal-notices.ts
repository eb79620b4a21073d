import { type Queryable, run } from '../../db/pool.ts';
import { selectAlertThread } from '../../db/sql/alerts.ts';
import { selectDealNotice } from '../../db/sql/deals.ts';
import type { AppContext } from '../context.ts';
import { personOf } from '../processing/alerts.ts';
import { personView } from '../queries/lead-card.ts';
import { enqueueSlack } from '../../slack/outbox/enqueue.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { renderDealClosed, renderDealPaid, renderOfferAccepted } from '../../slack/render/deals.ts';
import type { SlackMessage } from '../../slack/render/views.ts';

/**
 * Announces a deal that closed in its thread (see `postToDeals`), once per close (keyed by the deal and the
 * moment it closed, so a retried close posts nothing new and a reopened deal that closes again is
 * announced again).
 *
 * @example
 * await announceClose(tx, ctx, { dealId: 7, outcome: 'won', now });
 */
export async function announceClose(
  tx: Queryable,
  ctx: AppContext,
  input: { dealId: number; outcome: 'won' | 'lost'; now: Date },
): Promise<void> {
  const [row] = await run(tx, selectDealNotice(input.dealId));
  if (row === undefined) return;
  const pipeline = ctx.ruleset.pipelines.find((p) => p.id === row.pipeline_id);
  const person = row.closed_by?.startsWith('slack:') ? row.closed_by.slice('slack:'.length) : null;
  const message = renderDealClosed({
    dealId: row.id,
    outcome: input.outcome,
    lead: { ...personView(row.lead_id, row), score: 0 },
    pipelineName: pipeline?.name ?? row.pipeline_id,
    stageName: pipeline?.stages.find((s) => s.id === row.stage_id)?.name ?? row.stage_id,
    owner: personOf(ctx.ruleset, row.owner_member_id),
    value: row.value,
    currency: row.currency ?? ctx.ruleset.deals.currency,
    closedBySlackUser: person,
    closedByOther: person === null ? row.closed_by : null,
    lostReason: row.lost_reason,
    lineItems: row.line_items.map((i) => ({ title: i.title, quantity: i.quantity, unit: i.unit, unitPrice: i.unit_price })),
  });
  await postToDeals(tx, ctx, { key: `deal:${row.id}:${input.outcome}:${input.now.getTime()}`, leadId: row.lead_id, message }, input.now);
}

/**
 * Tells the deal's thread that the customer accepted the deal's offer in MOCO (once per deal).
 *
 * @example
 * await announceOfferAccepted(tx, ctx, { dealId: 7, now });
 */
export async function announceOfferAccepted(tx: Queryable, ctx: AppContext, input: { dealId: number; now: Date }): Promise<void> {
  const [row] = await run(tx, selectDealNotice(input.dealId));
  if (row === undefined) return;
  const message = renderOfferAccepted({
    lead: { ...personView(row.lead_id, row), score: 0 },
    value: row.value,
    currency: row.currency ?? ctx.ruleset.deals.currency,
  });
  await postToDeals(tx, ctx, { key: `deal:${row.id}:offer_accepted`, leadId: row.lead_id, message }, input.now);
}

/**
 * Tells the deal's thread what MOCO now records as paid on the deal's invoice, once per total (a
 * repeated or reordered payment webhook that changes nothing posts nothing new).
 *
 * @example
 * await announcePaid(tx, ctx, { dealId: 7, paid: 5000, currency: 'EUR', paidOn: '2026-12-01', now });
 */
export async function announcePaid(
  tx: Queryable,
  ctx: AppContext,
  input: { dealId: number; paid: number; currency: string | null; paidOn: string | null; now: Date },
): Promise<void> {
  const [row] = await run(tx, selectDealNotice(input.dealId));
  if (row === undefined) return;
  const message = renderDealPaid({
    lead: { ...personView(row.lead_id, row), score: 0 },
    paid: input.paid,
    value: row.value,
    currency: input.currency ?? row.currency ?? ctx.ruleset.deals.currency,
    paidOn: input.paidOn,
  });
  await postToDeals(tx, ctx, { key: `deal:${row.id}:paid:${input.paid}`, leadId: row.lead_id, message }, input.now);
}

/**
 * A message about a deal under its key, in the deal's thread: a reply under the lead's latest
 * alert when Slack has posted one, else in `slack.deals_channel`. Written in the caller's
 * transaction (or straight on the pool), waking delivery when it commits.
 *
 * @example
 * await postToDeals(tx, ctx, { key: 'deal:7:offer_accepted', leadId: 42, message }, now);
 */
export async function postToDeals(
  tx: Queryable,
  ctx: AppContext,
  post: { key: string; leadId: number; message: SlackMessage; kind?: string },
  now: Date,
): Promise<void> {
  const [thread] = await run(tx, selectAlertThread(post.leadId));
  const channel = thread?.channel ?? ctx.ruleset.slack.deals_channel;
  const kind = post.kind ?? 'deal';
  const entry = { key: post.key, kind, leadId: post.leadId, method: 'chat.postMessage' as const, channel };
  const payload = thread === undefined ? { ...post.message } : { ...post.message, thread_ts: thread.ts };
  await enqueueSlack(tx, { ...entry, payload }, now);
  await kickSlackDelivery(ctx.queue, { db: tx });
}
