import type {
  AssignmentConfig,
  AssignmentStrategy,
  RoutingRuleset,
  TeamConfig,
  TeamMember,
} from './routing-schema.ts';
import { rotationMembers } from './routing-schema.ts';
import { LeadlineError } from '../errors.ts';
import {
  type AssignmentInput,
  type AssignmentLedger,
  type AssignmentOutcome,
  type AssignmentResult,
  type CandidateReport,
  type FallbackCause,
  type LedgerRow,
  type SkipReason,
} from './assignment-model.ts';
import { absence, type MemberPresence } from './presence.ts';

/**
 * Owner assignment with a fairness LEDGER per pipeline. Every member row keeps `received` (leads
 * the rotation gave them) and `deficit` (expected − received, where expected grows by the member's
 * target share, weight ÷ the eligible members' total weight, at each assignment they were eligible
 * for). The member most overdue gets the lead, so shares hold as people come and go:
 *
 * - Absent members (away, inactive) accrue nothing; their row is frozen. On return, or when new,
 *   a member's deficit is clamped into [max − 1, max] of the members who stayed: they queue up with
 *   the others instead of catching up on everything they missed (no flood), and carry at most one
 *   lead of debt (a member who went away just after a lead does not jump the queue).
 * - Deficits of present members are shifted to sum to 0 after each change, so the number stays
 *   readable ("owed 0.4 of a lead") and a shift never changes who is next.
 * - "Most overdue" = the member whose deficit would reach one whole lead soonest at their share,
 *   (1 − deficit) ÷ share, among members not ahead of their share. With equal weights this is simply
 *   the largest deficit; with weights it keeps everyone within one lead of their percentage in a
 *   fixed team, where plain largest-deficit can leave a small share a little more than one behind.
 * - Ties go to whoever waited longest since their last lead, then to the lower member id. Waiting
 *   longest matters: with equal weights it makes the rotation a fixed cycle, so between membership
 *   changes each member gets ⌊n/m⌋ or ⌈n/m⌉ of n leads.
 */

const EPS = 1e-9;

const norm = (value: string | null | undefined): string | null => {
  const trimmed = value?.trim().toLowerCase() ?? '';
  return trimmed === '' ? null : trimmed;
};

function leadRegion(lead: AssignmentInput['lead'], a: AssignmentConfig): string | null {
  const region = norm(lead.region);
  if (region !== null) return region;
  const country = norm(lead.country);
  if (country === null || a.territories === undefined) return null;
  for (const [name, countries] of Object.entries(a.territories)) {
    if (countries.some((c) => norm(c) === country)) return norm(name);
  }
  return null;
}

function covers(member: TeamMember, country: string | null, region: string | null): boolean {
  return (
    (country !== null && (member.countries ?? []).some((c) => norm(c) === country)) ||
    (region !== null && norm(member.region) === region)
  );
}

interface Working {
  member: TeamMember | undefined;
  memberId: string;
  row: LedgerRow;
  present: boolean;
  eligible: boolean;
  reason: SkipReason | null;
  weight: number;
  share: number;
  openDeals: number;
  capacity: number | null;
}

function exclude(w: Working, reason: SkipReason): void {
  w.eligible = false;
  w.reason = reason;
}

/** Clamp returning members into [max − 1, max] of those who stayed, then centre present deficits on 0. */
function rebalance(work: Working[], previous: Map<string, LedgerRow>): void {
  const present = work.filter((w) => w.present);
  const stayed = present.filter((w) => previous.get(w.memberId)?.present === true);
  const entering = present.filter((w) => previous.get(w.memberId)?.present !== true);
  const reference = (stayed.length > 0 ? stayed : entering).map((w) => w.row.deficit);
  if (entering.length > 0 && reference.length > 0) {
    const top = Math.max(...reference);
    for (const w of entering) w.row.deficit = Math.min(top, Math.max(top - 1, w.row.deficit));
  }
  const mean = present.reduce((sum, w) => sum + w.row.deficit, 0) / Math.max(1, present.length);
  for (const w of present) w.row.deficit -= mean;
}

/** Ordering for the pick: returns < 0 when `a` should get the lead before `b`. */
function compare(a: Working, b: Working, byRoom: boolean): number {
  if (byRoom) {
    const load = (w: Working) => (w.capacity === null ? 0 : w.openDeals / w.capacity);
    const diff = load(a) - load(b);
    if (Math.abs(diff) > EPS) return diff;
  }
  const due = (w: Working) => (1 - w.row.deficit) / w.share;
  const diff = due(a) - due(b);
  if (Math.abs(diff) > EPS) return diff;
  const waited = (w: Working) => w.row.lastAssignedSeq ?? -1;
  return waited(a) - waited(b) || (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0);
}

function skipReason(loser: Working, winner: Working, byRoom: boolean): SkipReason {
  const load = (w: Working) => (w.capacity === null ? 0 : w.openDeals / w.capacity);
  if (byRoom && load(loser) - load(winner) > EPS) return { kind: 'less_room' };
  if (loser.row.deficit < winner.row.deficit - EPS) return { kind: 'lower_deficit' };
  if (Math.abs(loser.share - winner.share) <= EPS) {
    const waited = (loser.row.lastAssignedSeq ?? -1) !== (winner.row.lastAssignedSeq ?? -1);
    return { kind: 'tie', by: waited ? 'waited_longer' : 'member_id' };
  }
  return { kind: 'due_later' };
}

function fallback(
  cause: FallbackCause,
  a: AssignmentConfig,
  team: Map<string, TeamMember>,
  presence: Map<string, MemberPresence>,
  away: TeamConfig['away'],
  now: Date,
): AssignmentOutcome {
  const owner = a.fallback_owner === undefined ? undefined : team.get(a.fallback_owner);
  // The fallback owner is the overflow person: capacity does not apply, but being away does.
  if (owner !== undefined && absence(owner, presence.get(owner.id), away, now) === null) {
    return {
      kind: 'fallback_owner',
      memberId: owner.id,
      slackUserId: owner.slack_user_id,
      name: owner.name,
      why: cause,
    };
  }
  if (a.fallback_queue !== undefined) return { kind: 'queue', queue: a.fallback_queue, why: cause };
  return { kind: 'unassigned', why: cause };
}

/**
 * Picks the owner of a new deal in a pipeline by its `assignment` strategy and advances the
 * ledger. `round_robin`: equal shares; `weighted`: `weights` percent (or members' `weight`);
 * `capacity`: the member with the most room (open ÷ capacity), ledger order on ties; `territory`:
 * members covering the lead's country or region (`territories` maps countries to regions), then
 * `within`. Capacity limits apply to every strategy. Absent or full everywhere → `fallback_owner`,
 * else `fallback_queue`, else unassigned. Every member's row comes back with why it was or was not chosen.
 *
 * @example
 * const result = assignOwner({ pipelineId: 'b2b', lead: { leadId: 'l1', country: 'DE' }, ledger, presence }, ruleset, now);
 * // result.outcome → { kind: 'member', memberId: 'anna', … }; persist result.ledger in the same transaction
 */
export function assignOwner(
  input: AssignmentInput,
  ruleset: Pick<RoutingRuleset, 'version' | 'pipelines' | 'team'>,
  now: Date,
): AssignmentResult {
  const pipeline = ruleset.pipelines.find((p) => p.id === input.pipelineId);
  if (pipeline === undefined) {
    throw new LeadlineError('ruleset_invalid', `unknown pipeline ${input.pipelineId}`);
  }
  const a = pipeline.assignment;
  const inner = a.strategy === 'territory' ? a.within : a.strategy;
  const context: WorkingContext = {
    assignment: a,
    inner,
    team: new Map(ruleset.team.members.map((m) => [m.id, m])),
    presence: new Map(input.presence.map((p) => [p.memberId, p])),
    previous: new Map(input.ledger.rows.map((row) => [row.memberId, row])),
    away: ruleset.team.away,
    now,
  };

  const work = rotationMembers(pipeline, ruleset.team).map((memberId) => startWorking(memberId, context));
  rebalance(work, context.previous);
  const territory = applyTerritory(work, a, input.lead);
  excludeFull(work);

  const base = {
    pipelineId: pipeline.id,
    leadId: input.lead.leadId,
    strategy: a.strategy,
    innerStrategy: inner,
    territory: territory.territory,
    rulesetVersion: ruleset.version,
  };
  const eligible = work.filter((w) => w.eligible);
  if (eligible.length === 0) {
    const cause = fallbackCause(work, territory.cause);
    return {
      ...base,
      outcome: fallback(cause, a, context.team, context.presence, context.away, now),
      candidates: work.map((w) => candidateReport(w, 'skipped')),
      ledger: ledgerAfter(pipeline.id, input.ledger.seq, work, input.ledger.rows),
    };
  }

  const byRoom = inner === 'capacity';
  addShares(eligible);
  const winner = pickWinner(eligible, byRoom);
  const candidates = pickReports(work, winner, byRoom);
  const seq = input.ledger.seq + 1;
  credit(winner, seq);
  const m = winner.member!;
  return {
    ...base,
    outcome: { kind: 'member', memberId: m.id, slackUserId: m.slack_user_id, name: m.name },
    candidates,
    ledger: ledgerAfter(pipeline.id, seq, work, input.ledger.rows),
  };
}

/** What building a member's working row reads besides the member id. */
interface WorkingContext {
  assignment: AssignmentConfig;
  inner: Exclude<AssignmentStrategy, 'territory'>;
  team: Map<string, TeamMember>;
  presence: Map<string, MemberPresence>;
  previous: Map<string, LedgerRow>;
  away: TeamConfig['away'];
  now: Date;
}

/** A rotation member's working row: presence, capacity, weight and a copy of their ledger row. */
function startWorking(memberId: string, context: WorkingContext): Working {
  const { assignment: a, inner } = context;
  const member = context.team.get(memberId);
  const seen = context.presence.get(memberId);
  const reason: SkipReason | null =
    member === undefined ? { kind: 'not_in_team' } : absence(member, seen, context.away, context.now);
  const capacity = member?.capacity ?? a.capacity ?? null;
  const weight =
    inner === 'weighted'
      ? (a.weights?.[memberId] ?? member?.weight ?? 1)
      : inner === 'capacity'
        ? (capacity ?? 1)
        : 1;
  const old = context.previous.get(memberId);
  return {
    member,
    memberId,
    row: { memberId, received: 0, deficit: 0, lastAssignedSeq: null, ...old, present: reason === null },
    present: reason === null,
    eligible: reason === null,
    reason,
    weight,
    share: 0,
    openDeals: seen?.openDeals ?? 0,
    capacity,
  };
}

/**
 * `territory`: keeps only present members covering the lead's country or region. With nobody
 * covering it, everyone stays eligible unless `unmatched: fallback`, which excludes them all.
 */
function applyTerritory(
  work: Working[],
  a: AssignmentConfig,
  lead: AssignmentInput['lead'],
): { territory: AssignmentResult['territory']; cause: 'no_territory_match' | null } {
  if (a.strategy !== 'territory') return { territory: null, cause: null };
  const country = norm(lead.country);
  const region = leadRegion(lead, a);
  const inside = work.filter((w) => w.present && w.member !== undefined && covers(w.member, country, region));
  const territory = { country, region, matched: inside.length > 0 };
  if (inside.length > 0) {
    for (const w of work) {
      if (w.present && !inside.includes(w)) exclude(w, { kind: 'out_of_territory' });
    }
  } else if (a.unmatched === 'fallback') {
    for (const w of work) {
      if (w.present) exclude(w, { kind: 'out_of_territory' });
    }
    return { territory, cause: 'no_territory_match' };
  }
  return { territory, cause: null };
}

/** Capacity limits apply to every strategy: an eligible member at capacity sits this lead out. */
function excludeFull(work: Working[]): void {
  for (const w of work) {
    if (w.eligible && w.capacity !== null && w.openDeals >= w.capacity) {
      exclude(w, { kind: 'at_capacity', openDeals: w.openDeals, capacity: w.capacity });
    }
  }
}

/** Why nobody in the rotation can take the lead: a territory miss, an empty rotation, else full or away. */
function fallbackCause(work: readonly Working[], territoryCause: FallbackCause | null): FallbackCause {
  if (territoryCause !== null) return territoryCause;
  if (work.length === 0) return 'no_members';
  return work.some((w) => w.present) ? 'all_full' : 'all_absent';
}

/** Gives each eligible member this lead's share (weight ÷ total weight) and adds it to their deficit. */
function addShares(eligible: Working[]): void {
  const total = eligible.reduce((sum, w) => sum + w.weight, 0);
  for (const w of eligible) {
    w.share = w.weight / total;
    w.row.deficit += w.share;
  }
}

/** The eligible member who gets the lead: first by `compare` among those not ahead of their share. */
function pickWinner(eligible: Working[], byRoom: boolean): Working {
  // Members ahead of their share wait (unless everyone is); `capacity` goes by room first.
  const notAhead = eligible.filter((w) => w.row.deficit >= -EPS);
  const pool = byRoom || notAhead.length === 0 ? eligible : notAhead;
  return pool.reduce((best, w) => (compare(w, best, byRoom) < 0 ? w : best));
}

/** Every member's report, with why each other eligible member lost to the winner. */
function pickReports(work: Working[], winner: Working, byRoom: boolean): CandidateReport[] {
  return work.map((w) => {
    if (w === winner) return candidateReport(w, 'chosen');
    if (w.eligible) w.reason = skipReason(w, winner, byRoom);
    return candidateReport(w, 'skipped');
  });
}

/** Books the lead on the winner's row: one lead less owed, one more received, last at `seq`. */
function credit(winner: Working, seq: number): void {
  winner.row.deficit -= 1;
  winner.row.received += 1;
  winner.row.lastAssignedSeq = seq;
}

/** One member's row of the explanation, as the member stands now. */
function candidateReport(w: Working, status: CandidateReport['status']): CandidateReport {
  return {
    memberId: w.memberId,
    name: w.member?.name ?? w.memberId,
    status,
    reason: w.reason,
    share: w.share,
    deficit: w.row.deficit,
    openDeals: w.openDeals,
    capacity: w.capacity,
  };
}

/** The ledger to persist: the rotation's rows, then rows of members no longer in it (not present). */
function ledgerAfter(
  pipelineId: string,
  seq: number,
  work: readonly Working[],
  previousRows: readonly LedgerRow[],
): AssignmentLedger {
  const kept = previousRows.filter((row) => !work.some((w) => w.memberId === row.memberId));
  return {
    pipelineId,
    seq,
    rows: [...work.map((w) => ({ ...w.row })), ...kept.map((row) => ({ ...row, present: false }))],
  };
}
