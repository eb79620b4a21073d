import type { Sql } from '../pool.ts';

/** Keeps the exact text of every ruleset version a process ran with. */
export function recordRuleset(version: string, body: string): Sql {
  return {
    text: 'INSERT INTO rulesets (version, body) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING',
    values: [version, body],
  };
}
