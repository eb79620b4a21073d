import { type PoolClient, run, withTransaction } from '../../db/pool.ts';
import { lockUnprocessedEvents, markEventsProcessed } from '../../db/sql/events.ts';
import { selectErasedLeads } from '../../db/sql/leads.ts';
import { LeadlineError } from '../../errors.ts';
import { eventDayKeys, processLeadEvents, type StoredEvent } from '../../engine/lead-processor.ts';
import { createAlerts } from './alerts.ts';
import { enqueueClassification, shouldClassify } from './classify-text.ts';
import { postConflictMessages } from './conflicts.ts';
import { inTransaction } from '../../db/job-queue.ts';
import { identifyLeads } from './identify.ts';
import type { AppContext } from '../context.ts';
import { followUpScoredLeads, type ScoredLead } from './follow-up.ts';
import { loadLeadStates, OutcomeWriter } from './lead-store.ts';
import { PROCESS_EVENTS_QUEUE } from '../queues.ts';
import { decideRoutes, openRoutes, type RoutingResult } from './routing.ts';
import { closeDealsFromEvents } from './deal-events.ts';
import { paymentOf } from '../../engine/deals.ts';
import { recordMocoPayments } from '../moco/payments.ts';

export interface ProcessSummary {
  events: number;
  leads: number;
  created: number;
  changes: number;
  routed: number;
  conflicts: number;
}

const NOTHING: ProcessSummary = { events: 0, leads: 0, created: 0, changes: 0, routed: 0, conflicts: 0 };
// Long enough for the batch holding a lead to commit, short against a backlog's wait.
const DEFER_SECONDS = 1;

async function deferEvents(tx: PoolClient, ctx: AppContext, eventIds: readonly string[]): Promise<void> {
  await ctx.queue.insert(
    PROCESS_EVENTS_QUEUE,
    eventIds.map((eventId) => ({ data: { eventId }, startAfter: DEFER_SECONDS })),
    { db: inTransaction(tx) },
  );
}

/**
 * Applies a batch of stored events in ONE transaction: lock the events still unprocessed, find or
 * create their leads, lock those leads, load their state with set queries, run the pure engine per
 * lead, write every result with multi-row statements, then route the leads that now qualify and
 * run alerts and automation. A retried or duplicated job finds its events already processed and
 * changes nothing. With `deferBusyLeads`, events of leads another transaction holds are queued
 * again instead of waited for.
 */
export async function processEvents(
  eventIds: readonly string[],
  ctx: AppContext,
  options: { deferBusyLeads?: boolean } = {},
): Promise<ProcessSummary> {
  const now = ctx.now();
  const waits: number[] = [];
  const summary = await withTransaction(ctx.pool, async (tx) => {
    const batch = await takeBatch(tx, ctx, eventIds, now, options.deferBusyLeads === true);
    if (batch.events.length === 0) return { ...NOTHING, created: batch.created };
    for (const event of batch.events) waits.push((now.getTime() - batch.receivedAt.get(event.id)!.getTime()) / 1_000);
    const { scored, changes } = await scoreLeads(tx, ctx, batch, now);
    if (ctx.classifyText === true) {
      await enqueueClassification(tx, ctx.queue, batch.events.filter(shouldClassify).map((e) => e.id));
    }
    const routed = await routeAndFollowUp(tx, ctx, batch.leadIds, scored, now);
    return {
      events: batch.events.length,
      leads: batch.leadIds.length,
      created: batch.created,
      changes,
      routed: routed.filter((r) => r.dealId !== null).length,
      conflicts: routed.filter((r) => r.conflictOpened).length,
    };
  });
  // Observed once committed: a batch that rolled back processed nothing.
  for (const wait of waits) ctx.metrics.processedSeconds.observe(wait);
  ctx.metrics.decisions.inc({ kind: 'lead_changed' }, summary.changes);
  ctx.metrics.decisions.inc({ kind: 'routed' }, summary.routed);
  ctx.metrics.decisions.inc({ kind: 'conflict' }, summary.conflicts);
  return summary;
}

/** The events of a batch this transaction may apply, grouped by their (locked) leads. */
interface Batch {
  events: StoredEvent[];
  leadIds: number[];
  byLead: Map<number, StoredEvent[]>;
  leadOf: Map<string, number>;
  states: Awaited<ReturnType<typeof loadLeadStates>>;
  created: number;
  /** When intake stored each event: how long it waited is a metric. */
  receivedAt: Map<string, Date>;
}

// Locks the unprocessed events, finds or creates their leads and locks those; with `defer`, events
// of leads another batch holds go back to the queue.
async function takeBatch(
  tx: PoolClient,
  ctx: AppContext,
  eventIds: readonly string[],
  now: Date,
  defer: boolean,
): Promise<Batch> {
  const rows = await run(tx, lockUnprocessedEvents(eventIds));
  // The engine keys score rows by the intake row's uuid, the one id that is unique across sources.
  const stored: StoredEvent[] = rows.map((row) => ({ ...row.event, id: row.id }));
  // MOCO's invoice payments name an invoice, not a person: they settle deals and identify no lead.
  const received = stored.filter((event) => paymentOf(event) === null);
  if (received.length < stored.length) await recordMocoPayments(tx, ctx, stored, now);
  const receivedAt = new Map(rows.map((row) => [row.id, row.received_at]));
  if (received.length === 0) return { events: [], leadIds: [], byLead: new Map(), leadOf: new Map(), states: new Map(), created: 0, receivedAt };
  const { leadOf, created } = await identifyLeads(tx, received);
  const byLead = new Map<number, StoredEvent[]>();
  for (const event of received) {
    const leadId = leadOf.get(event.id)!;
    byLead.set(leadId, [...(byLead.get(leadId) ?? []), event]);
  }
  const wanted = [...byLead.keys()].sort((a, b) => a - b);
  const states = await loadLeadStates(tx, wanted, now, {
    lock: defer ? 'skip' : true,
    dayKeys: eventDayKeys(received, ctx.ruleset),
    created,
  });
  const leadIds = wanted.filter((id) => states.has(id));
  // Another batch holds these leads: their events go back to the queue instead of this batch
  // waiting for that one to commit, so both workers keep going.
  const busy = wanted.filter((id) => !states.has(id)).flatMap((id) => byLead.get(id)!);
  if (busy.length > 0) await deferEvents(tx, ctx, busy.map((event) => event.id));
  const events = received.filter((event) => states.has(leadOf.get(event.id)!));
  if (events.length > 0) {
    // An erasure that committed while this batch waited for the lead lock wins: retrying finds no
    // identifiers any more and gives the events a new lead instead of restoring the erased person.
    const erased = await run(tx, selectErasedLeads(leadIds));
    if (erased.length > 0) {
      throw new LeadlineError('not_found', `leads ${erased.map((r) => r.id).join(', ')} were erased meanwhile; retrying`);
    }
  }
  return { events, leadIds, byLead, leadOf, states, created: created.size, receivedAt };
}

// Runs the pure engine per lead and writes every outcome with multi-row statements.
async function scoreLeads(
  tx: PoolClient,
  ctx: AppContext,
  batch: Batch,
  now: Date,
): Promise<{ scored: ScoredLead[]; changes: number }> {
  const writer = new OutcomeWriter();
  const scored: ScoredLead[] = [];
  for (const leadId of batch.leadIds) {
    const leadEvents = batch.byLead.get(leadId)!;
    const before = batch.states.get(leadId)!;
    const outcome = processLeadEvents(before, leadEvents, ctx.ruleset, now);
    writer.add(leadId, outcome, leadEvents.at(-1)?.id ?? null);
    scored.push({ leadId, before, outcome, events: leadEvents });
  }
  await writer.write(tx, now);
  const processed = batch.events.map((e) => ({ id: e.id, leadId: batch.leadOf.get(e.id)! }));
  await run(tx, markEventsProcessed(processed, now));
  return { scored, changes: writer.changeCount };
}

// Deals and owners come last: from there to the commit, the pipelines' ledgers are locked and every
// other batch that routes waits. Leads that get no deal have their alerts and automation done first.
async function routeAndFollowUp(
  tx: PoolClient,
  ctx: AppContext,
  leadIds: readonly number[],
  scored: readonly ScoredLead[],
  now: Date,
): Promise<RoutingResult[]> {
  const pending = await decideRoutes(tx, ctx, leadIds, now);
  const routing = new Set(pending.routes.map((route) => route.row.id));
  await postConflictMessages(tx, ctx, pending.results, now);
  await followUp(tx, ctx, scored.filter((lead) => !routing.has(lead.leadId)), pending.results, now);
  const opened = await openRoutes(tx, ctx, pending, now);
  await followUp(tx, ctx, scored.filter((lead) => routing.has(lead.leadId)), opened, now);
  await closeDealsFromEvents(tx, ctx, scored, now);
  return [...pending.results, ...opened];
}

/** Automation, then alerts: an alert names the owner routing or a rule may just have chosen. */
async function followUp(
  tx: PoolClient,
  ctx: AppContext,
  scored: readonly ScoredLead[],
  routed: readonly RoutingResult[],
  now: Date,
): Promise<void> {
  if (scored.length === 0) return;
  await followUpScoredLeads(tx, ctx, scored, routed, now);
  // After automation too: an alert names the owner a rule (route, assign) may just have given.
  await createAlerts(
    tx,
    ctx,
    scored.map(({ leadId, outcome, events }) => ({
      leadId,
      changes: outcome.changes,
      eventId: events.at(-1)?.id ?? null,
      state: outcome.state,
    })),
    now,
  );
}
