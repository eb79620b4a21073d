import { type Queryable, run } from '../../db/pool.ts';
import { type DecisionRow, selectLeadDecisions } from '../../db/sql/decisions.ts';
import type { Ruleset } from '../../engine/ruleset.ts';
import { memberById } from '../../engine/team.ts';
import type { DecisionHistoryView, DecisionView } from '../../slack/render/reports.ts';
import type { SlackPerson } from '../../slack/render/views.ts';

/** The most decisions `/lead why` lists: the newest, with a count of the rest. */
export const MAX_DECISIONS = 15;

function person(ruleset: Ruleset, memberId: string | null): SlackPerson | null {
  if (memberId === null) return null;
  const member = memberById(ruleset, memberId);
  // A member since removed from the ruleset is still named by the id the decision stored.
  return member === null ? { name: memberId, slackUserId: null } : { name: member.name, slackUserId: member.slack_user_id };
}

function decisionView(ruleset: Ruleset, row: DecisionRow): DecisionView {
  const base = {
    at: row.created_at,
    pipeline: row.pipeline_id === null ? null : (ruleset.pipelines.find((p) => p.id === row.pipeline_id)?.name ?? row.pipeline_id),
    cause: row.cause,
    explanation: row.explanation,
    rulesetVersion: row.ruleset_version,
  };
  if (row.source === 'route') return { ...base, source: 'route', kind: row.kind };
  const taken = row.previous_member_id !== null && row.previous_member_id !== row.member_id;
  return {
    ...base,
    source: 'owner',
    kind: row.kind,
    dealId: row.deal_id,
    member: person(ruleset, row.member_id),
    previous: taken ? person(ruleset, row.previous_member_id) : null,
    queue: row.queue,
    byHand: row.strategy === 'manual',
    // The cause of a rotation pick says nothing a reader needs; a fallback's says why.
    ...(row.cause === 'rotation' || row.cause === 'manual' ? { cause: null } : {}),
  };
}

/**
 * Every route and owner decision stored for a lead, newest first (at most MAX_DECISIONS), with the
 * ruleset version each was made by, whatever ruleset runs now.
 *
 * @example
 * const view = await loadDecisionHistory(pool, ruleset, { id: 42, name: 'Ada Lovelace' });
 * view.decisions[0] // { source: 'owner', kind: 'member', member: { name: 'Anna', … }, rulesetVersion: '…' }
 */
export async function loadDecisionHistory(
  db: Queryable,
  ruleset: Ruleset,
  lead: { id: number; name: string },
): Promise<DecisionHistoryView> {
  const rows = await run(db, selectLeadDecisions(lead.id, MAX_DECISIONS));
  return {
    leadName: lead.name,
    decisions: rows.map((row) => decisionView(ruleset, row)),
    total: rows[0]?.total ?? 0,
    currentVersion: ruleset.version,
    timeZone: ruleset.timezone,
  };
}
