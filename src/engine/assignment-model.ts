import type { AssignmentStrategy } from './routing-schema.ts';
import type { AbsenceReason, MemberPresence } from './presence.ts';

/**
 * The vocabulary of owner assignment: the fairness ledger a pipeline keeps, what one assignment
 * takes in, and what it answers (the outcome, every candidate's report, the ledger after). The
 * decision itself is assignment.ts.
 */

export interface LedgerRow {
  memberId: string;
  /** Leads the rotation gave this member in this pipeline since the ledger began. */
  received: number;
  /** Expected − received (positive: owed leads); shifted so present members sum to 0. */
  deficit: number;
  /** Present (active, not away) at the last assignment; a false → true flip is a return. */
  present: boolean;
  /** The pipeline sequence number of the member's last lead; null when none yet. */
  lastAssignedSeq: number | null;
}

/** One pipeline's ledger: persist `seq` and every row after each assignment (same transaction). */
export interface AssignmentLedger {
  pipelineId: string;
  /** Leads the rotation has assigned in this pipeline. */
  seq: number;
  rows: readonly LedgerRow[];
}

/**
 * A ledger with no history.
 *
 * @example
 * assignOwner({ pipelineId: 'b2b', lead, ledger: emptyLedger('b2b'), presence }, ruleset, now)
 */
export function emptyLedger(pipelineId: string): AssignmentLedger {
  return { pipelineId, seq: 0, rows: [] };
}

export type SkipReason =
  | { kind: 'not_in_team' }
  | AbsenceReason
  | { kind: 'out_of_territory' }
  | { kind: 'at_capacity'; openDeals: number; capacity: number }
  /** Lower deficit than the chosen member. */
  | { kind: 'lower_deficit' }
  /** Same deficit; the chosen member waited longer, or (neither having had a lead) has the lower id. */
  | { kind: 'tie'; by: 'waited_longer' | 'member_id' }
  /** Deficit as large, but a smaller share: reaches a whole lead later. */
  | { kind: 'due_later' }
  /** `capacity` strategy: fuller (open ÷ capacity) than the chosen member. */
  | { kind: 'less_room' };

export interface CandidateReport {
  memberId: string;
  name: string;
  status: 'chosen' | 'skipped';
  reason: SkipReason | null;
  /** Target share of this lead (0 when not eligible). */
  share: number;
  /** Deficit when the choice was made (after this lead's share was added, for eligible members). */
  deficit: number;
  openDeals: number;
  capacity: number | null;
}

export type AssignmentOutcome =
  | { kind: 'member'; memberId: string; slackUserId: string; name: string }
  | { kind: 'fallback_owner'; memberId: string; slackUserId: string; name: string; why: FallbackCause }
  | { kind: 'queue'; queue: string; why: FallbackCause }
  | { kind: 'unassigned'; why: FallbackCause };

export type FallbackCause = 'no_members' | 'all_absent' | 'all_full' | 'no_territory_match';

export interface AssignmentResult {
  pipelineId: string;
  leadId: string;
  strategy: AssignmentStrategy;
  /** For territory: the inner strategy actually used. */
  innerStrategy: Exclude<AssignmentStrategy, 'territory'>;
  territory: { country: string | null; region: string | null; matched: boolean } | null;
  outcome: AssignmentOutcome;
  /** Every rotation member, in rotation order. */
  candidates: CandidateReport[];
  /** The ledger to persist (unchanged seq when the rotation gave nobody the lead). */
  ledger: AssignmentLedger;
  rulesetVersion: string;
}

export interface AssignmentInput {
  pipelineId: string;
  lead: { leadId: string; country?: string | null; region?: string | null };
  ledger: AssignmentLedger;
  /** Presence of team members; a missing member counts as present with 0 open deals. */
  presence: readonly MemberPresence[];
}
