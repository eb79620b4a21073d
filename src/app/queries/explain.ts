import type { Queryable } from '../../db/pool.ts';
import { explainLead, type LeadExplanation } from '../../engine/lead-processor.ts';
import type { Ruleset } from '../../engine/ruleset.ts';
import { loadLeadStates } from '../processing/lead-store.ts';

/**
 * Why a lead scores what it scores right now: every counting award (rule, points, event, expiry)
 * and every live intent signal with its decayed weight. `/lead` and the Slack alerts show this.
 *
 * @example
 * const why = await explainLeadById(pool, ruleset, 42, new Date());
 * why?.breakdown[0] // { ruleId: 'demo-request', points: 30, eventId: '…', expiresAt: … }
 */
export async function explainLeadById(
  db: Queryable,
  ruleset: Ruleset,
  leadId: number,
  now: Date,
): Promise<LeadExplanation | null> {
  const states = await loadLeadStates(db, [leadId], now, { lock: false, awards: false });
  const state = states.get(leadId);
  return state === undefined ? null : explainLead(state, ruleset, now);
}
