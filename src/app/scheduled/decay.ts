import { type PoolClient, run, withTransaction } from '../../db/pool.ts';
import {
  type DecayChunkRow,
  type DecayChunkRules,
  type DecayedLeadUpdate,
  decayChunk,
  lockDueLeads,
  updateDecayedLeads,
} from '../../db/sql/decay.ts';
import { insertLeadChanges, type LeadChangeInsert, selectActiveSignals } from '../../db/sql/leads.ts';
import { leadTriggers, type TriggerInstance } from '../../engine/automation.ts';
import { decayLead } from '../../engine/decay.ts';
import { GRADE_BANDS, type Grade, MAX_SCORE, MIN_SCORE } from '../../engine/grade.ts';
import type { SignalRow } from '../../engine/intent.ts';
import type { Ruleset, Tier } from '../../engine/ruleset.ts';
import { runAutomation } from '../processing/automation.ts';
import type { AppContext } from '../context.ts';

export interface DecaySummary {
  leads: number;
  changes: number;
  chunks: number;
}

/**
 * Leads per chunk transaction. Each chunk is one lock statement plus one set-based statement whose
 * cost is mostly the rewritten lead rows, so a chunk holds its locks for a few hundred milliseconds.
 */
export const DECAY_CHUNK_SIZE = 5_000;

function chunkRules(ruleset: Ruleset): DecayChunkRules {
  return {
    // Validation keeps thresholds strictly ascending; sorting again is the engine's own rule.
    thresholds: [...ruleset.thresholds].sort((a, b) => a.score - b.score),
    grades: GRADE_BANDS.map((band) => ({ grade: band.grade, min: band.min })),
    minScore: MIN_SCORE,
    maxScore: MAX_SCORE,
    zeroWeights: Object.fromEntries(ruleset.intent.intents.map((intent) => [intent, 0])),
    rulesetVersion: ruleset.version,
  };
}

/**
 * Finishes the leads with intent state in the engine: their summed points come from the chunk
 * statement, their live signals are loaded here (a handful per lead, not every score row).
 */
async function decayIntentLeads(
  tx: PoolClient,
  ctx: AppContext,
  leads: DecayChunkRow['intent_leads'],
  causeId: string,
  now: Date,
): Promise<{ changes: number; triggered: { leadId: number; triggers: TriggerInstance[] }[] }> {
  if (leads.length === 0) return { changes: 0, triggered: [] };
  const signals = new Map<number, SignalRow[]>();
  for (const row of await run(tx, selectActiveSignals(leads.map((lead) => lead.id), now))) {
    const list = signals.get(row.lead_id) ?? [];
    list.push({
      eventId: row.event_id,
      ruleId: row.rule_id,
      intent: row.intent,
      signal: row.signal,
      weight: row.weight,
      tier: row.tier as Tier,
      occurredAt: row.occurred_at,
      decayHours: row.decay_hours,
    });
    signals.set(row.lead_id, list);
  }
  const updates: DecayedLeadUpdate[] = [];
  const changes: LeadChangeInsert[] = [];
  const triggered: { leadId: number; triggers: TriggerInstance[] }[] = [];
  for (const lead of leads) {
    const before = {
      score: lead.score,
      grade: lead.grade as Grade,
      thresholds: lead.thresholds,
      primaryIntent: lead.primary_intent,
      intentConfidence: lead.intent_confidence,
    };
    const after = decayLead(before, lead.raw_points, signals.get(lead.id) ?? [], ctx.ruleset, now);
    updates.push({
      id: lead.id,
      score: after.score,
      grade: after.grade,
      thresholds: after.thresholds,
      score_expires_at: lead.score_expires_at,
      primary_intent: after.primaryIntent,
      intent_confidence: after.intentConfidence,
      intent_weights: after.intentWeights,
      signals_active_until: after.signalsActiveUntil?.toISOString() ?? null,
      ruleset_version: ctx.ruleset.version,
    });
    for (const change of after.changes) {
      changes.push({
        lead_id: lead.id,
        kind: change.kind,
        detail: change,
        event_id: null,
        ruleset_version: ctx.ruleset.version,
      });
    }
    const triggers = leadTriggers({ leadId: String(lead.id), causeId, changes: after.changes, before, after });
    if (triggers.length > 0) triggered.push({ leadId: lead.id, triggers });
  }
  await run(tx, updateDecayedLeads(updates, now));
  if (changes.length > 0) await run(tx, insertLeadChanges(changes, now));
  return { changes: changes.length, triggered };
}

/**
 * Expires points and decays intent signals for every lead that has something due, in chunks of
 * `chunkSize` leads, each chunk its own short transaction, so no lock is held for long and event
 * processing carries on meanwhile. Leads without intent state are recomputed inside PostgreSQL, so
 * neither their score rows nor their lead rows travel to this process (whose event loop may be serving
 * webhooks); leads with live signals are finished by the engine. Grade, threshold and intent changes
 * are recorded as lead changes, and crossings and intent shifts reach automation like any other change.
 */
export async function runDecay(
  ctx: AppContext,
  chunkSize = DECAY_CHUNK_SIZE,
  slot?: string,
): Promise<DecaySummary> {
  const now = ctx.now();
  const causeId = `decay:${slot ?? now.toISOString()}`;
  const rules = chunkRules(ctx.ruleset);
  const summary: DecaySummary = { leads: 0, changes: 0, chunks: 0 };
  let afterId = 0;
  for (;;) {
    const chunk = await withTransaction(ctx.pool, async (tx) => {
      const ids = (await run(tx, lockDueLeads(afterId, now, chunkSize))).map((row) => row.id);
      if (ids.length === 0) return null;
      const [result] = await run(tx, decayChunk(ids, now, rules));
      const { crossings, intent_leads: intentLeads } = result!;
      const triggered = crossings.map((lead) => ({
        leadId: lead.id,
        // Leads finished in SQL have no intent state before or after: only their crossings trigger.
        triggers: leadTriggers({
          leadId: String(lead.id),
          causeId,
          changes: lead.changes,
          before: { primaryIntent: null, intentConfidence: 0 },
          after: { primaryIntent: null, intentConfidence: 0 },
        }),
      }));
      const intent = await decayIntentLeads(tx, ctx, intentLeads, causeId, now);
      triggered.push(...intent.triggered);
      if (triggered.length > 0) await runAutomation(tx, ctx, triggered, now);
      return { lastId: ids.at(-1)!, leads: ids.length, changes: result!.changes + intent.changes };
    });
    if (chunk === null) break;
    // Let webhooks and Slack acks served by this process run between chunks.
    await new Promise((resolve) => setImmediate(resolve));
    afterId = chunk.lastId;
    summary.leads += chunk.leads;
    summary.changes += chunk.changes;
    summary.chunks += 1;
  }
  return summary;
}
