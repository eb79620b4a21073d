import type { PoolClient, Queryable } from '../../db/pool.ts';
import { run } from '../../db/pool.ts';
import {
  insertLeadChanges,
  insertScoreRows,
  insertSignals,
  type LeadChangeInsert,
  type LeadRow,
  type LeadUpdate,
  lockLeads,
  type ScoreRowInsert,
  type SignalInsert,
  selectActiveScoreRows,
  selectActiveSignals,
  selectAwards,
  selectLeads,
  updateLeads,
} from '../../db/sql/leads.ts';
import type { Grade } from '../../engine/grade.ts';
import type { LeadOutcome, LeadState, Touch } from '../../engine/lead-processor.ts';
import type { Tier } from '../../engine/ruleset.ts';

/**
 * Loads the engine state of many leads with four set queries. With `lock`, the lead rows are
 * locked FOR UPDATE (in id order) until the caller's transaction ends, so no other worker can
 * apply events to them meanwhile; with `lock: 'skip'`, leads another transaction holds are left
 * out of the result instead of waited for.
 */
export async function loadLeadStates(
  db: Queryable,
  wantedIds: readonly number[],
  now: Date,
  options: {
    lock: boolean | 'skip';
    dayKeys?: readonly string[];
    awards?: boolean;
    /** Leads created in this transaction: they have no score rows, awards or signals to read. */
    created?: ReadonlySet<number>;
  },
): Promise<Map<number, LeadState>> {
  const states = new Map<number, LeadState>();
  if (wantedIds.length === 0) return states;
  const leads = await run(
    db,
    options.lock === false ? selectLeads(wantedIds) : lockLeads(wantedIds, options.lock === 'skip'),
  );
  for (const lead of leads) states.set(lead.id, stateOf(lead));
  const leadIds = (options.lock === 'skip' ? leads.map((lead) => lead.id) : wantedIds).filter(
    (id) => options.created?.has(id) !== true,
  );
  if (leadIds.length === 0) return states;
  // One connection runs one statement at a time: sequential awaits say so plainly. Recomputing a
  // score (decay, explanations) needs no caps, so those callers skip the awards query.
  const awards =
    options.awards === false
      ? []
      : await run(db, selectAwards(leadIds));
  const rows = await run(db, selectActiveScoreRows(leadIds, now));
  const signals = await run(db, selectActiveSignals(leadIds, now));
  const wantedDays = options.dayKeys === undefined ? null : new Set(options.dayKeys);
  for (const award of awards) {
    const state = states.get(award.lead_id);
    if (state === undefined) continue;
    const ledger = state.awards[award.rule_id] ?? { lifetime: 0, byDay: {} };
    state.awards[award.rule_id] = ledger;
    ledger.lifetime += award.points;
    if (wantedDays === null || wantedDays.has(award.day_key)) ledger.byDay[award.day_key] = award.points;
  }
  for (const row of rows) {
    states.get(row.lead_id)?.activeScoreRows.push({
      eventId: row.event_id,
      ruleId: row.rule_id,
      category: row.category,
      points: row.points,
      occurredAt: row.occurred_at,
      expiresAt: row.expires_at,
      dayKey: row.day_key,
    });
  }
  for (const signal of signals) {
    states.get(signal.lead_id)?.signals.push({
      eventId: signal.event_id,
      ruleId: signal.rule_id,
      intent: signal.intent,
      signal: signal.signal,
      weight: signal.weight,
      tier: signal.tier as Tier,
      occurredAt: signal.occurred_at,
      decayHours: signal.decay_hours,
    });
  }
  return states;
}

function touch(source: string | null, campaign: string | null, at: Date | null): Touch | null {
  return source === null || at === null ? null : { source, campaign, at: at.toISOString() };
}

function stateOf(lead: LeadRow): LeadState {
  const profile: LeadState['profile'] = {};
  const copy = (key: keyof LeadState['profile'], value: string | null) => {
    if (value !== null) profile[key] = value;
  };
  copy('firstName', lead.first_name);
  copy('lastName', lead.last_name);
  copy('fullName', lead.full_name);
  copy('company', lead.company);
  copy('title', lead.title);
  copy('phone', lead.phone);
  copy('country', lead.country);
  copy('region', lead.region);
  copy('website', lead.website);
  return {
    leadId: String(lead.id),
    email: lead.email,
    profile,
    score: lead.score,
    grade: lead.grade as Grade,
    thresholds: lead.thresholds,
    activeScoreRows: [],
    awards: {},
    signals: [],
    primaryIntent: lead.primary_intent,
    intentConfidence: lead.intent_confidence,
    firstTouch: touch(lead.first_touch_source, lead.first_touch_campaign, lead.first_touch_at),
    lastTouch: touch(lead.last_touch_source, lead.last_touch_campaign, lead.last_touch_at),
    lastActivityAt: lead.last_activity_at?.toISOString() ?? null,
    appliedEventIds: [],
  };
}

/** Collects many leads' outcomes and writes them with one multi-row statement per table. */
export class OutcomeWriter {
  readonly #leads: LeadUpdate[] = [];
  readonly #scoreRows: ScoreRowInsert[] = [];
  readonly #signals: SignalInsert[] = [];
  readonly #changes: LeadChangeInsert[] = [];

  add(leadId: number, outcome: LeadOutcome, triggeringEventId: string | null): void {
    const { state, rulesetVersion: version } = outcome;
    const p = state.profile;
    this.#leads.push({
      id: leadId,
      email: state.email,
      first_name: p.firstName ?? null,
      last_name: p.lastName ?? null,
      full_name: p.fullName ?? null,
      company: p.company ?? null,
      title: p.title ?? null,
      phone: p.phone ?? null,
      country: p.country ?? null,
      region: p.region ?? null,
      website: p.website ?? null,
      score: state.score,
      grade: state.grade,
      thresholds: state.thresholds,
      score_expires_at: outcome.scoreExpiresAt?.toISOString() ?? null,
      primary_intent: state.primaryIntent,
      intent_confidence: state.intentConfidence,
      intent_weights: outcome.intentWeights,
      signals_active_until: outcome.signalsActiveUntil?.toISOString() ?? null,
      first_touch_source: state.firstTouch?.source ?? null,
      first_touch_campaign: state.firstTouch?.campaign ?? null,
      first_touch_at: state.firstTouch?.at ?? null,
      last_touch_source: state.lastTouch?.source ?? null,
      last_touch_campaign: state.lastTouch?.campaign ?? null,
      last_touch_at: state.lastTouch?.at ?? null,
      last_activity_at: state.lastActivityAt,
      ruleset_version: version,
    });
    for (const row of outcome.newScoreRows) {
      this.#scoreRows.push({
        lead_id: leadId,
        event_id: row.eventId,
        rule_id: row.ruleId,
        category: row.category,
        points: row.points,
        occurred_at: row.occurredAt.toISOString(),
        day_key: row.dayKey,
        expires_at: row.expiresAt?.toISOString() ?? null,
        ruleset_version: version,
      });
    }
    for (const signal of outcome.newSignals) {
      this.#signals.push({
        lead_id: leadId,
        event_id: signal.eventId,
        rule_id: signal.ruleId,
        intent: signal.intent,
        signal: signal.signal,
        weight: signal.weight,
        tier: signal.tier,
        occurred_at: signal.occurredAt.toISOString(),
        decay_hours: signal.decayHours,
        ruleset_version: version,
      });
    }
    for (const change of outcome.changes) {
      this.#changes.push({
        lead_id: leadId,
        kind: change.kind,
        detail: change,
        event_id: change.kind === 'critical_signal' ? change.eventId : triggeringEventId,
        ruleset_version: version,
      });
    }
  }

  get changeCount(): number {
    return this.#changes.length;
  }

  async write(tx: PoolClient, now: Date): Promise<void> {
    if (this.#scoreRows.length > 0) await run(tx, insertScoreRows(this.#scoreRows));
    if (this.#signals.length > 0) await run(tx, insertSignals(this.#signals));
    if (this.#leads.length > 0) await run(tx, updateLeads(this.#leads, now));
    if (this.#changes.length > 0) await run(tx, insertLeadChanges(this.#changes, now));
  }
}
