import type { LeadlineEvent } from '../../engine/event.ts';
import type { Sql } from '../pool.ts';

/** Keeps the exact text of every ruleset version a process ran with. */
export function recordRuleset(version: string, body: string): Sql {
  return {
    text: 'INSERT INTO rulesets (version, body) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING',
    values: [version, body],
  };
}

/** The text of a version some process ran with (or announced), to load it the same everywhere. */
export function selectRulesetBody(version: string): Sql<{ body: string }> {
  return { text: 'SELECT body FROM rulesets WHERE version = $1', values: [version] };
}

/** The channel a reloaded ruleset is announced on; the payload is its version. */
export const RULESET_CHANNEL = 'leadline_ruleset';

/** The version loaded last (at a start or a reload): what a deployment runs. */
export function selectLatestRuleset(): Sql<{ version: string; body: string }> {
  return { text: 'SELECT version, body FROM rulesets ORDER BY first_loaded_at DESC LIMIT 1', values: [] };
}

/** Stored events received since `since`, in the order intake stored them, for a dry run. */
export function selectRecentEvents(since: Date): Sql<{ id: string; event: LeadlineEvent }> {
  return {
    text: 'SELECT id, event FROM intake_events WHERE received_at >= $1 ORDER BY received_at, id',
    values: [since],
  };
}
