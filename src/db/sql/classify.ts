import type { LeadlineEvent } from '../../engine/event.ts';
import type { Sql } from '../pool.ts';

/** A stored event as the classifier reads it, with the classification already made of it, if any. */
export interface SourceEventRow {
  id: string;
  event: LeadlineEvent;
  lead_id: number | null;
  processed_at: Date | null;
  classified_id: string | null;
}

/** The event to classify and, through its external id (`prefix` + event id), its classification. */
export function selectSourceEvent(eventId: string, prefix: string): Sql<SourceEventRow> {
  return {
    text: `SELECT e.id, e.event, e.lead_id, e.processed_at, c.id AS classified_id
      FROM intake_events e
      LEFT JOIN intake_events c ON c.source = 'leadline' AND c.external_id = $2 || e.id::text
      WHERE e.id = $1`,
    values: [eventId, prefix],
  };
}

// FOR SHARE makes an erasure (which locks the lead FOR UPDATE) wait for this insert or be seen by
// it: a classification never re-creates a lead that /lead forget just erased.
export function lockLiveLead(leadId: number): Sql<{ id: number }> {
  return { text: 'SELECT id FROM leads WHERE id = $1 AND erased_at IS NULL FOR SHARE', values: [leadId] };
}
