// `npm run rules:check -- file.yml` validates a ruleset the way start-up does, without starting
// anything: every problem as `file:line:col path: message` (exit 1), or a one-line summary (exit 0).
// Meant for editors, CI and a RevOps change before it is deployed.
import { readFile } from 'node:fs/promises';
import { rulesetVersion } from '../src/ruleset-file.ts';
import { checkRulesetText, formatIssue } from '../src/ruleset-lines.ts';

const USAGE = 'usage: npm run rules:check -- file.yml';
const [file, ...extra] = process.argv.slice(2);
if (file === undefined || extra.length > 0) {
  console.error(USAGE);
  process.exit(1);
}

let text: string;
try {
  text = await readFile(file, 'utf8');
} catch (err) {
  console.error(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

const check = checkRulesetText(text, rulesetVersion(text));
if (!check.ok) {
  for (const issue of check.issues) console.error(formatIssue(file, issue));
  const count = check.issues.length;
  console.error(`${count} ${count === 1 ? 'problem' : 'problems'} in ${file}`);
  process.exit(1);
}
const r = check.ruleset;
console.log(
  `ruleset ${r.label} (${r.version}): ${r.sources.length} sources, ${r.scoring.rules.length} scoring rules, ` +
    `${r.pipelines.length} pipelines — OK`,
);
