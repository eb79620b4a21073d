import type { LeadCardData } from '../../slack/render/lead-card.ts';
import { type Queryable, run } from '../../db/pool.ts';
import type { LeadPersonColumns } from '../../db/sql/leads.ts';
import { selectRecentEvents } from '../../db/sql/events.ts';
import { type LeadCardRow, selectLeadCard, selectRecentNotes } from '../../db/sql/lookup.ts';
import type { Ruleset } from '../../engine/ruleset.ts';
import { memberById, memberBySlackUser } from '../../engine/team.ts';
import { explainLeadById } from './explain.ts';
import { leadDisplayName, type SlackPerson } from '../../slack/render/views.ts';
import { type DealStatus, weightedValue } from '../../engine/deals.ts';

/** The person columns a lead row carries (company and title where the query reads them). */
type PersonColumns = Pick<LeadPersonColumns, 'full_name' | 'first_name' | 'last_name' | 'email'> &
  Partial<Pick<LeadPersonColumns, 'company' | 'title'>>;

/**
 * A lead row's person columns as the renderers' LeadSummary names them.
 *
 * @example
 * personView(7, { full_name: 'Ada Lovelace', first_name: null, last_name: null, email: null, company: 'Lab' })
 * // { id: 7, fullName: 'Ada Lovelace', firstName: null, lastName: null, email: null, company: 'Lab', title: null }
 */
export function personView(id: number, row: PersonColumns) {
  return {
    id,
    fullName: row.full_name,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    company: row.company ?? null,
    title: row.title ?? null,
  };
}

/**
 * A lead row's display name (leadDisplayName over its columns). Raw: escape it before it enters a
 * message.
 *
 * @example
 * displayName({ id: 7, full_name: null, first_name: 'Ada', last_name: 'Lovelace', email: null }) // 'Ada Lovelace'
 */
export function displayName(lead: PersonColumns & { id: number }): string {
  return leadDisplayName(personView(lead.id, lead));
}

/** The lead's deals as the card shows them: names from the ruleset, value and weighted value. */
function cardDeals(ruleset: Ruleset, deals: LeadCardRow['deals']): LeadCardData['deals'] {
  const pipelines = new Map(ruleset.pipelines.map((p) => [p.id, p]));
  return deals.map((d) => {
    const pipeline = pipelines.get(d.pipeline_id);
    return {
      id: d.id,
      pipeline: pipeline?.name ?? d.pipeline_id,
      stage: pipeline?.stages.find((s) => s.id === d.stage_id)?.name ?? d.stage_id,
      status: d.status,
      owner: memberPerson(ruleset, d.owner_member_id),
      queue: d.owner_queue,
      value: d.value,
      currency: d.currency ?? ruleset.deals.currency,
      weighted:
        d.value === null
          ? null
          : weightedValue({ status: d.status as DealStatus, value: d.value, stageId: d.stage_id }, pipeline),
    };
  });
}

function memberPerson(ruleset: Ruleset, memberId: string | null): SlackPerson | null {
  if (memberId === null) return null;
  const member = memberById(ruleset, memberId);
  return member === null
    ? { name: memberId, slackUserId: null }
    : { name: member.name, slackUserId: member.slack_user_id };
}

function slackPerson(ruleset: Ruleset, slackUserId: string): SlackPerson {
  const member = memberBySlackUser(ruleset, slackUserId);
  return { name: member?.name ?? slackUserId, slackUserId };
}

const date = (value: string | Date | null): Date | null => (value === null ? null : new Date(value));

/**
 * Everything the lead card shows, in four round trips run side by side: the lead with its deals,
 * latest alert and routing "why" (one row); its last five events; its last notes; and the score
 * explanation (`explainLeadById`). Names of members, pipelines and stages come from the ruleset.
 * Null when there is no such lead.
 *
 * @example
 * const card = await loadLeadCard(pool, ruleset, 42, now);
 * renderLeadCard(card!, { now, canManage: false });
 */
export async function loadLeadCard(
  db: Queryable,
  ruleset: Ruleset,
  leadId: number,
  now: Date,
): Promise<LeadCardData | null> {
  const [[row], events, notes, explanation] = await Promise.all([
    run(db, selectLeadCard(leadId)),
    run(db, selectRecentEvents(leadId, 5)),
    run(db, selectRecentNotes(leadId, 3)),
    explainLeadById(db, ruleset, leadId, now),
  ]);
  if (row === undefined) return null;
  const erased = row.erased_at !== null;
  const shares = new Map((explanation?.intents ?? []).map((i) => [i.intent, i.share]));
  return {
    id: row.id,
    name: displayName(row),
    email: row.email,
    company: row.company,
    title: row.title,
    country: row.country,
    erased,
    score: row.score,
    grade: row.grade,
    status: row.status,
    breakdown: (explanation?.breakdown ?? []).map((b) => ({
      ruleId: b.ruleId,
      category: b.category,
      points: b.points,
      expiresAt: b.expiresAt,
    })),
    intents: ruleset.intent.intents.map((intent) => ({
      intent,
      share: shares.get(intent) ?? 0,
      pipelines: ruleset.pipelines.filter((p) => p.intent === intent).map((p) => p.name),
    })),
    signals: (explanation?.signals ?? [])
      .map((s) => ({
        signal: s.signal,
        intent: s.intent,
        tier: s.tier,
        weight: s.currentWeight,
        occurredAt: s.occurredAt,
      }))
      .sort((a, b) => b.weight - a.weight),
    owner: memberPerson(ruleset, row.owner_member_id),
    claimedBy:
      row.claimed_by_slack_user === null || row.claimed_at === null
        ? null
        : { person: slackPerson(ruleset, row.claimed_by_slack_user), at: row.claimed_at },
    disqualified: row.disqualified_at !== null,
    deals: cardDeals(ruleset, row.deals),
    events: events.map((e) => ({ type: e.event_type, source: e.source, occurredAt: e.occurred_at })),
    sla:
      row.alert === null
        ? null
        : {
            state: row.alert.state,
            priority: row.alert.priority,
            dueAt: new Date(row.alert.sla_due_at),
            step: row.alert.sla_step,
            snoozedUntil: date(row.alert.snoozed_until),
            claimedAt: date(row.alert.claimed_at),
            createdAt: new Date(row.alert.created_at),
          },
    why: [...(row.decision_explanation ?? []), ...(row.assignment_explanation ?? [])],
    notes: erased
      ? []
      : notes.map((n) => ({ authorSlackUserId: n.author_slack_user, text: n.text, at: n.created_at })),
  };
}
