import { type LeadDetails } from '../../slack/render/lead-details.ts';
import { type Queryable, run } from '../../db/pool.ts';
import { selectDetailsDeals, selectDetailsLead } from '../../db/sql/alerts.ts';
import { selectRecentEvents } from '../../db/sql/events.ts';
import { explainLead } from '../../engine/lead-processor.ts';
import type { Ruleset } from '../../engine/ruleset.ts';
import { personOf } from '../processing/alerts.ts';
import { loadLeadStates } from '../processing/lead-store.ts';
import { leadDisplayName } from '../../slack/render/views.ts';

/**
 * Everything the Details modal (and `/lead`) shows about a lead, or null when there is no such lead.
 *
 * @example
 * const details = await loadLeadDetails(pool, ruleset, 42, now);
 * if (details) await client.views.open({ trigger_id, view: renderLeadDetailsModal(details) });
 */
export async function loadLeadDetails(
  db: Queryable,
  ruleset: Ruleset,
  leadId: number,
  now: Date,
): Promise<LeadDetails | null> {
  const [lead] = await run(db, selectDetailsLead(leadId));
  if (lead === undefined) return null;
  const [states, deals, events] = await Promise.all([
    loadLeadStates(db, [leadId], now, { lock: false, dayKeys: [] }),
    run(db, selectDetailsDeals(leadId, 100)),
    run(db, selectRecentEvents(leadId, 15)),
  ]);
  const state = states.get(leadId);
  const why = state === undefined ? null : explainLead(state, ruleset, now);
  return {
    leadId,
    name: leadDisplayName({
      id: leadId,
      fullName: lead.full_name,
      firstName: lead.first_name,
      lastName: lead.last_name,
      email: lead.email,
    }),
    email: lead.email,
    company: lead.company,
    title: lead.title,
    phone: lead.phone,
    country: lead.country,
    website: lead.website,
    source: lead.first_touch_source,
    status: lead.status,
    score: why?.score ?? 0,
    grade: why?.grade ?? 'F',
    owner: personOf(ruleset, lead.owner_member_id),
    claim:
      lead.claimed_by_slack_user === null || lead.claimed_at === null
        ? null
        : { bySlackUser: lead.claimed_by_slack_user, at: lead.claimed_at },
    disqualified:
      lead.disqualified_at === null
        ? null
        : {
            reason: lead.disqualified_reason ?? '',
            bySlackUser: lead.disqualified_by,
            at: lead.disqualified_at,
          },
    explanation: {
      breakdown: why?.breakdown ?? [],
      signals: why?.signals ?? [],
      intents: why?.intents ?? [],
    },
    deals: deals.map((deal) => {
      const pipeline = ruleset.pipelines.find((p) => p.id === deal.pipeline_id);
      return {
        id: deal.id,
        pipelineName: pipeline?.name ?? deal.pipeline_id,
        stageName: pipeline?.stages.find((s) => s.id === deal.stage_id)?.name ?? deal.stage_id,
        owner: personOf(ruleset, deal.owner_member_id),
        queue: deal.owner_queue,
        status: deal.status,
        createdAt: deal.created_at,
      };
    }),
    events: events.map((e) => ({ type: e.event_type, source: e.source, occurredAt: e.occurred_at })),
    timezone: ruleset.timezone,
  };
}
