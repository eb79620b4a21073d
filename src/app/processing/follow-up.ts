import type { PoolClient } from '../../db/pool.ts';
import { dealTrigger, eventTrigger, leadTriggers, type TriggerInstance } from '../../engine/automation.ts';
import type { LeadOutcome, LeadState, StoredEvent } from '../../engine/lead-processor.ts';
import { type AutomationSummary, runAutomation } from './automation.ts';
import type { AppContext } from '../context.ts';
import type { RoutingResult } from './routing.ts';

export interface ScoredLead {
  leadId: number;
  before: LeadState;
  outcome: LeadOutcome;
  events: readonly StoredEvent[];
}

/**
 * Everything that follows a batch's scoring and routing, in the same transaction: the automation
 * rules each event, threshold crossing, intent change and newly opened deal triggers.
 */
export async function followUpScoredLeads(
  tx: PoolClient,
  ctx: AppContext,
  leads: readonly ScoredLead[],
  routed: readonly RoutingResult[],
  now: Date,
): Promise<AutomationSummary> {
  const openedDeals = new Map<number, TriggerInstance[]>();
  for (const result of routed) {
    if (result.dealId === null || result.decision.kind !== 'route') continue;
    const trigger = dealTrigger('stage_entered', {
      dealId: String(result.dealId),
      leadId: String(result.leadId),
      pipelineId: result.decision.pipelineId,
      stageId: result.decision.stageId,
      stageEnteredAt: now,
    });
    openedDeals.set(result.leadId, [...(openedDeals.get(result.leadId) ?? []), trigger]);
  }
  const inputs = leads.map(({ leadId, before, outcome, events }) => ({
    leadId,
    triggers: [
      ...events.map((event) => eventTrigger(String(leadId), event)),
      ...leadTriggers({
        leadId: String(leadId),
        causeId: events.at(-1)?.id ?? 'batch',
        changes: outcome.changes,
        before,
        after: outcome.state,
      }),
      ...(openedDeals.get(leadId) ?? []),
    ],
  }));
  const opened = new Set(routed.flatMap((result) => (result.dealId === null ? [] : [result.dealId])));
  return runAutomation(tx, ctx, inputs, now, opened);
}
