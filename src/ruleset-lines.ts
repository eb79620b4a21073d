import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { isLeadlineError } from './errors.ts';
import { parseRuleset, type Ruleset } from './engine/ruleset.ts';

/**
 * Ruleset validation with a line AND column per problem, for `npm run rules:check` and dry runs.
 * parseRuleset already knows the dotted path of each problem (and its line, inside the message);
 * this maps the path back to the YAML node so an editor can jump straight to it. Pure string
 * processing: the callers read the file.
 */

export interface LocatedIssue {
  line: number;
  col: number;
  /** Dotted path into the file (`scoring.rules.3.points`), `(yaml)` for syntax, `(root)` for the file. */
  path: string;
  message: string;
}

export type RulesetCheck = { ok: true; ruleset: Ruleset } | { ok: false; issues: LocatedIssue[] };

// parseRuleset appends the line to each message; the located form carries it separately.
const LINE_SUFFIX = /\s\(line \d+\)$/;

/**
 * Validates ruleset YAML like start-up does and locates every problem in the text.
 *
 * @example
 * const check = checkRulesetText(text, rulesetVersion(text));
 * if (!check.ok) for (const issue of check.issues) console.log(formatIssue('rules/x.yml', issue));
 * // rules/x.yml:42:7 scoring.rules.3.points: Too big: expected number to be <=100
 */
export function checkRulesetText(text: string, version: string): RulesetCheck {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((err) => {
        const pos = lines.linePos(err.pos[0]);
        return { line: pos.line, col: pos.col, path: '(yaml)', message: firstLine(err.message) };
      }),
    };
  }
  try {
    return { ok: true, ruleset: parseRuleset(text, { version }) };
  } catch (err) {
    if (!isLeadlineError(err, 'ruleset_invalid') || err.issues.length === 0) throw err;
    const located = err.issues.map((issue) => {
      const range = nodeRange(doc.contents, issue.path);
      const pos = range === null ? { line: 1, col: 1 } : lines.linePos(range);
      return { line: pos.line, col: pos.col, path: issue.path, message: issue.message.replace(LINE_SUFFIX, '') };
    });
    located.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, issues: located };
  }
}

/** `file:line:col path: message`, the form editors and CI annotations understand. */
export function formatIssue(file: string, issue: LocatedIssue): string {
  return `${file}:${issue.line}:${issue.col} ${issue.path}: ${issue.message}`;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/**
 * Start offset of the node a dotted path names: a map entry points at its key (the text people
 * edit), a list item at the item. A path that stops existing (a missing key) points at the
 * deepest node that exists, where the key belongs.
 */
function nodeRange(root: Node | null, dotted: string): number | null {
  if (root === null || dotted === '(root)' || dotted === '') return null;
  const segments = dotted.split('.');
  let node: unknown = root;
  let found: number | null = root.range?.[0] ?? null;
  for (let i = 0; i < segments.length; ) {
    if (isMap(node)) {
      // Keys may themselves contain dots (member ids as `weights:` keys): try the longest first.
      let matched = false;
      for (let end = segments.length; end > i; end--) {
        const key = segments.slice(i, end).join('.');
        const pair = node.items.find((p) => scalarText(p.key) === key);
        if (pair === undefined) continue;
        found = (pair.key as Node | null)?.range?.[0] ?? found;
        node = pair.value;
        i = end;
        matched = true;
        break;
      }
      if (!matched) return found;
    } else if (isSeq(node) && /^\d+$/.test(segments[i]!)) {
      const item: unknown = node.items[Number(segments[i])];
      const start = (item as Node | undefined)?.range?.[0];
      if (start === undefined) return found;
      found = start;
      node = item;
      i += 1;
    } else {
      return found;
    }
  }
  return found;
}

function scalarText(key: unknown): string | null {
  if (key !== null && typeof key === 'object' && 'value' in key) return String((key as { value: unknown }).value);
  return key === null || key === undefined ? null : String(key);
}
