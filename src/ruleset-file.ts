import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseRuleset, type Ruleset } from './engine/ruleset.ts';
import { LeadlineError } from './errors.ts';

/**
 * Reads and validates the ruleset file. Its version is the SHA-256 of the exact text (first 12 hex
 * digits), so every decision can name the rules that made it, even when nobody bumped a label.
 */
export async function loadRulesetFile(filePath: string): Promise<{ ruleset: Ruleset; text: string }> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (err) {
    throw new LeadlineError('ruleset_invalid', `cannot read ruleset file ${filePath}`, { cause: err });
  }
  return { ruleset: parseRuleset(text, { version: rulesetVersion(text) }), text };
}

export function rulesetVersion(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
