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
