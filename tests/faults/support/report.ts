import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const OUT = path.resolve(import.meta.dirname, '../../../test-results/faults.md');

/**
 * Prints a scenario's figures (the fault suite's output is the figures as much as the verdict) and
 * appends them to test-results/faults.md (git-ignored), one table per scenario.
 */
export function report(scenario: string, figures: Record<string, string | number>): void {
  const rows = Object.entries(figures).map(([name, value]) => `| ${name} | ${value} |`);
  const table = [`### ${scenario}`, '', '| figure | value |', '|---|---|', ...rows, ''].join('\n');
  console.log(`\n${table}`);
  mkdirSync(path.dirname(OUT), { recursive: true });
  appendFileSync(OUT, `${table}\n`);
}
