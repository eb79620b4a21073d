import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rulesetVersion } from '../../src/ruleset-file.ts';

// The scripts run as an operator runs them: a child process with the flags package.json gives it.
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };

function npmRun(script: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const [, ...argv] = pkg.scripts[script]!.split(' ');
  const child = spawnSync(process.execPath, [...argv, ...args], { encoding: 'utf8' });
  return { code: child.status, stdout: child.stdout, stderr: child.stderr };
}

const dir = mkdtempSync(path.join(tmpdir(), 'leadline-rules-dry-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fixture(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const RULES = `version: dry-run-test
timezone: UTC
sources:
  - { name: website, scheme: standard, secret_env: LEADLINE_SECRET_WEBSITE }
thresholds:
  - { name: hot, score: 80 }
scoring:
  rules:
    - id: pricing-page
      event: page.viewed
      points: 15
      category: behaviour
      caps: { daily: 15 }
    - id: demo-form
      event: form.submitted
      when:
        - { field: metadata.form_type, op: equals, value: demo }
      points: 30
      category: intent
intent:
  intents: [b2b, research]
  rules:
    - { id: demo-request, event: form.submitted, intent: b2b, signal: DEMO_REQUEST, weight: 40, tier: CRITICAL, decay_hours: 336 }
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages:
      - { id: new, name: New lead }
      - { id: won, name: Won, won: true }
      - { id: lost, name: Lost, lost: true }
    assignment: { strategy: round_robin }
routing: { threshold: 40, min_confidence: 60, conflict_margin: 10 }
team:
  members:
    - { id: anna, slack_user_id: U0AAAA001, name: Anna, role: rep }
    - { id: ben, slack_user_id: U0AAAA002, name: Ben, role: rep }
`;

describe('npm run rules:check', () => {
  it('accepts the shipped ruleset with a one-line summary', () => {
    const text = readFileSync('rules/default.yml', 'utf8');
    const result = npmRun('rules:check', 'rules/default.yml');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^ruleset 2025-06 \\(${rulesetVersion(text)}\\): \\d+ sources, \\d+ scoring rules, \\d+ pipelines — OK\\n$`),
    );
  });

  it('prints every problem at its file, line and column', () => {
    const broken = RULES.replace('      points: 30\n', '      points: 300\n')
      .replace('caps: { daily: 15 }', 'caps: { daily: 15, weekly: 40 }')
      .replace('    - { id: ben,', '    - { id: anna,')
      .replace('      category: intent\n', '');
    const file = fixture('broken.yml', broken);
    const result = npmRun('rules:check', file);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      `${file}:13:26 scoring.rules.0.caps.weekly: unknown key (check the spelling)`,
      // A missing key is reported where it belongs: at the list item that lacks it.
      `${file}:14:7 scoring.rules.1.category: Invalid option: expected one of "fit"|"engagement"|"behaviour"|"intent"|"negative"`,
      `${file}:18:7 scoring.rules.1.points: Too big: expected number to be <=100`,
      `3 problems in ${file}`,
      '',
    ]);
  });

  it('reports cross-field problems (found once every field is valid) at their line', () => {
    const file = fixture('duplicate.yml', RULES.replace('    - { id: ben,', '    - { id: anna,'));
    const result = npmRun('rules:check', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${file}:37:9 team.members.1.id: duplicate member id "anna"\n1 problem in ${file}\n`);
  });

  it('finds keys that contain dots (member ids in weights)', () => {
    const shipped = readFileSync('rules/default.yml', 'utf8');
    expect(shipped).toContain('weights: { anna.becker: 50, ben.ortiz: 30, carla.diaz: 20 }');
    const file = fixture('weights.yml', shipped.replace('ben.ortiz: 30,', 'ben.ortiz: "30",'));
    const line = shipped.split('\n').findIndex((l) => l.includes('weights: { anna.becker')) + 1;
    const col = shipped.split('\n')[line - 1]!.indexOf('ben.ortiz') + 1;
    expect(npmRun('rules:check', file).stderr.split('\n')[0]).toBe(
      `${file}:${line}:${col} pipelines.1.assignment.weights.ben.ortiz: Invalid input: expected number, received string`,
    );
  });

  it('gives YAML syntax errors their line and column', () => {
    const unclosed = fixture('unclosed.yml', 'version: 1\nscoring:\n  rules:\n    - id: a\n      event: [a, b\n      points: 1\n');
    const result = npmRun('rules:check', unclosed);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `${unclosed}:6:7 (yaml): Flow sequence in block collection must be sufficiently indented and end with a ]\n` +
        `1 problem in ${unclosed}\n`,
    );
    const twice = fixture('twice.yml', 'timezone: UTC\nversion: 1\nversion: 2\n');
    expect(npmRun('rules:check', twice).stderr).toBe(`${twice}:3:1 (yaml): Map keys must be unique\n1 problem in ${twice}\n`);
  });
});

describe('npm run rules:explain', () => {
  const rules = fixture('rules.yml', RULES);
  const version = rulesetVersion(RULES);

  it('replays events through the engine and explains score, intent, route and owner', () => {
    const events = fixture(
      'events.jsonl',
      [
        '{"id":"e1","type":"page.viewed","occurred_at":"2026-11-20T09:00:00Z","lead":{"email":"ada@lab.example"}}',
        '{"id":"e2","type":"page.viewed","occurred_at":"2026-11-20T09:05:00Z","lead":{"email":"Ada@Lab.example"}}',
        '',
        '{"id":"e3","type":"form.submitted","occurred_at":"2026-11-20T09:15:00Z","lead":{"email":"ada@lab.example"},"metadata":{"form_type":"demo"}}',
        '{"events":[{"id":"e4","type":"form.submitted","occurred_at":"2026-11-21T10:00:00Z","lead":{"email":"bob@corp.example"},"metadata":{"form_type":"demo"}},{"id":"e5","type":"page.viewed","occurred_at":"2026-11-21T10:05:00Z","lead":{"email":"bob@corp.example"}}]}',
        '{"id":"e3","type":"form.submitted","occurred_at":"2026-11-20T09:15:00Z","lead":{"email":"ada@lab.example"},"metadata":{"form_type":"demo"}}',
      ].join('\n') + '\n',
    );
    const result = npmRun('rules:explain', rules, events);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const below = (score: number) => [
      '  route: pool (below_threshold)',
      `    Score ${score} is below the routing threshold of 40, so the lead stays in the pool.`,
      `    Rule routing.threshold, ruleset ${version}.`,
    ];
    const routed = (deal: number) => [
      `  route: route → b2b, stage new (deal-${deal})`,
      '    Score 45 meets the routing threshold of 40.',
      '    Primary intent b2b at 100% confidence meets the minimum of 60% (research 0%).',
      '    Routed to B2B customers, stage New lead.',
      `    Rule pipelines.b2b, ruleset ${version}.`,
    ];
    expect(result.stdout.split('\n')).toEqual([
      'line 1 e1 page.viewed ada@lab.example',
      '  score 15 (+15) grade F: pricing-page +15',
      '  intents: none',
      ...below(15),
      'line 2 e2 page.viewed ada@lab.example',
      '  score 15 (+0) grade F: no points (no rule matched, or its cap is used up)',
      '  intents: none',
      ...below(15),
      'line 4 e3 form.submitted ada@lab.example',
      '  score 45 (+30) grade C: demo-form +30',
      '  intents: b2b 100%; signals DEMO_REQUEST CRITICAL',
      '  changes: CRITICAL signal DEMO_REQUEST (demo-request); grade F→C; intent none→b2b (100%)',
      ...routed(1),
      '  assignment: anna',
      '    Assigned to Anna: next in the round robin (owed 0.50 of a lead, share 50%).',
      '    Ben: tied with Anna, who goes first by member id.',
      'line 5 e4 form.submitted bob@corp.example',
      '  score 30 (+30) grade D: demo-form +30',
      '  intents: b2b 100%; signals DEMO_REQUEST CRITICAL',
      '  changes: CRITICAL signal DEMO_REQUEST (demo-request); grade F→D; intent none→b2b (100%)',
      ...below(30),
      'line 5 e5 page.viewed bob@corp.example',
      '  score 45 (+15) grade C: pricing-page +15',
      '  intents: b2b 100%',
      '  changes: grade D→C',
      ...routed(2),
      '  assignment: ben',
      '    Assigned to Ben: next in the round robin (owed 1.00 of a lead, share 50%).',
      '    Anna: even with their share; Ben was owed more.',
      'line 6 e3 form.submitted ada@lab.example',
      '  skipped: already applied',
      '  score 45 (+0) grade C',
      '  intents: b2b 100%',
      '  route: not decided again: the lead has an open deal in b2b',
      `ruleset dry-run-test (${version}): 6 events, 2 leads, 2 routed, 0 conflicts`,
      '',
    ]);
  });

  it('refuses a file with bad lines, naming each line, path and reason, and replays nothing', () => {
    const events = fixture(
      'bad.jsonl',
      [
        '{"id":"e1","type":"page.viewed","occurred_at":"2026-11-20T09:00:00Z","lead":{"email":"ada@lab.example"}}',
        '{"id":"e2","type":"page.viewed","occurred_at":"2026-11-20T09:05:00Z","lead":{"email":"not-an-email"}}',
        '{"id":"e3", "type":',
        '{"id":"e4","type":"page.viewed","lead":{"email":"ada@lab.example"}}',
      ].join('\n'),
    );
    const result = npmRun('rules:explain', rules, events);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n');
    expect(lines[0]).toBe(`${events}:2 lead.email: Invalid email address`);
    expect(lines[1]).toMatch(new RegExp(`^${events.replace(/[.\\]/g, '\\$&')}:3 \\(json\\): .+`));
    expect(lines.slice(2)).toEqual([
      `${events}:4 occurred_at: required here (each event's time is the replay's clock)`,
      `${events}: not replayed; fix the lines above`,
      '',
    ]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a broken ruleset with its located problems', () => {
    const file = fixture('broken-explain.yml', RULES.replace('      points: 30\n', '      points: 300\n'));
    const events = fixture('one.jsonl', '{"type":"page.viewed","occurred_at":"2026-11-20T09:00:00Z","lead":{"email":"a@b.example"}}\n');
    const result = npmRun('rules:explain', file, events);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${file}:18:7 scoring.rules.1.points: Too big: expected number to be <=100\n`);
  });
});
