import type { LeadlineEvent } from './event.ts';
import { mergeProfile, normalizeEmail } from './identity.ts';
import { detectSignals, signalWeightAt } from './intent.ts';
import { leadFacts } from './lead-processor.ts';
import type { Ruleset } from './ruleset.ts';

/**
 * Whether an event can alert a rep on its own: it shows a live CRITICAL intent signal (a demo
 * request, say), judged from what the event itself says about the lead. Intake sends such events
 * down a lane of their own so they never queue behind a backlog of ordinary traffic; the lead's
 * stored facts are not known yet, so the guess can be wrong, which only changes the lane.
 *
 * @example
 * isUrgentEvent({ type: 'form.submitted', metadata: { form_type: 'demo' }, … }, ruleset, now) // true
 */
export function isUrgentEvent(event: LeadlineEvent, ruleset: Pick<Ruleset, 'intent'>, now: Date): boolean {
  const occurredAt = new Date(event.occurredAt);
  if (Number.isNaN(occurredAt.getTime())) return false;
  const signals = detectSignals(
    {
      eventId: event.id ?? '',
      occurredAt,
      event,
      lead: leadFacts(normalizeEmail(event.lead.email), mergeProfile({}, event.lead)),
    },
    ruleset,
  );
  return signals.some((signal) => signal.tier === 'CRITICAL' && signalWeightAt(signal, now) > 0);
}
