// The in-memory desk the ruleset dry runs (rules:explain, rules:diff) replay events on: leads,
// deals, owners and assignment ledgers as processing keeps them in PostgreSQL, driven only by the
// pure engine.
import { assignOwner } from '../src/engine/assignment.ts';
import { type AssignmentLedger, type AssignmentResult, emptyLedger } from '../src/engine/assignment-model.ts';
import { identityKeys } from '../src/engine/identity.ts';
import { paymentOf } from '../src/engine/deals.ts';
import { emptyLeadState, type LeadOutcome, type LeadState, processLeadEvents, type StoredEvent } from '../src/engine/lead-processor.ts';
import { decideRouting, type RoutingDecision } from '../src/engine/routing.ts';
import type { Ruleset } from '../src/engine/ruleset.ts';

export interface Routed {
  decision: RoutingDecision;
  assignment: AssignmentResult | null;
}

export interface Lead {
  state: LeadState;
  /** Like leads.status: only a lead in the pool without an open deal is routed again. */
  status: 'pool' | 'routed' | 'conflict';
  openDeals: { dealId: string; pipelineId: string }[];
}

/** The in-memory stand-ins for what processing keeps in PostgreSQL. */
export class Desk {
  private readonly leads = new Map<string, Lead>();
  private readonly owners = new Map<string, string>();
  private readonly ledgers = new Map<string, AssignmentLedger>();
  private readonly openDealsOf = new Map<string, number>();
  private deals = 0;
  routed = 0;
  conflicts = 0;

  private readonly ruleset: Ruleset;

  constructor(ruleset: Ruleset) {
    this.ruleset = ruleset;
  }

  get leadCount(): number {
    return this.leads.size;
  }

  /**
   * Applies one event as processing does, its `occurredAt` the clock; null for a MOCO payment,
   * which names an invoice and opens no lead. `before` is the lead's state before the event.
   */
  apply(event: StoredEvent): { lead: Lead; before: LeadState; outcome: LeadOutcome; routed: Routed | null } | null {
    if (paymentOf(event) !== null) return null;
    const now = new Date(event.occurredAt);
    const lead = this.leadFor(event);
    const before = lead.state;
    const outcome = processLeadEvents(before, [event], this.ruleset, now);
    const routed = this.route(lead, outcome, now);
    lead.state = outcome.state;
    return { lead, before, outcome, routed };
  }

  /** Find-or-create as identify.ts does it: any known identifier (email first) keeps its lead. */
  leadFor(event: StoredEvent): Lead {
    const keys = identityKeys(event).map((key) => `${key.kind}:${key.value}`);
    const known = keys.map((key) => this.owners.get(key)).find((id) => id !== undefined);
    const id = known ?? `lead-${this.leads.size + 1}`;
    // A key another lead owns stays with it: merging two leads is a human decision.
    for (const key of keys) if (!this.owners.has(key)) this.owners.set(key, id);
    let lead = this.leads.get(id);
    if (lead === undefined) {
      lead = { state: emptyLeadState(id), status: 'pool', openDeals: [] };
      this.leads.set(id, lead);
    }
    return lead;
  }

  /** Routing as process-events does it, then the owner from the pipeline's ledger. */
  route(lead: Lead, outcome: LeadOutcome, now: Date): Routed | null {
    if (this.ruleset.pipelines.length === 0 || lead.status !== 'pool' || lead.openDeals.length > 0) return null;
    const { state } = outcome;
    const view = {
      leadId: state.leadId,
      score: state.score,
      intentWeights: outcome.intentWeights,
      email: state.email,
      profile: state.profile,
      openDeals: lead.openDeals,
    };
    const decision = decideRouting(view, this.ruleset, now);
    if (decision.kind === 'conflict') {
      lead.status = 'conflict';
      this.conflicts += 1;
    }
    if (decision.kind !== 'route') return { decision, assignment: null };
    this.deals += 1;
    lead.openDeals.push({ dealId: `deal-${this.deals}`, pipelineId: decision.pipelineId });
    lead.status = 'routed';
    this.routed += 1;
    const assignment = assignOwner(
      {
        pipelineId: decision.pipelineId,
        lead: { leadId: state.leadId, country: state.profile.country ?? null, region: state.profile.region ?? null },
        ledger: this.ledgers.get(decision.pipelineId) ?? emptyLedger(decision.pipelineId),
        presence: [...this.openDealsOf].map(([memberId, openDeals]) => ({ memberId, openDeals })),
      },
      this.ruleset,
      now,
    );
    this.ledgers.set(decision.pipelineId, assignment.ledger);
    const o = assignment.outcome;
    if (o.kind === 'member' || o.kind === 'fallback_owner') {
      this.openDealsOf.set(o.memberId, (this.openDealsOf.get(o.memberId) ?? 0) + 1);
    }
    return { decision, assignment };
  }
}
