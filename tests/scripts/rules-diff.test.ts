import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { run } from '../../src/db/pool.ts';
import { insertIntakeRows } from '../../src/db/sql/intake.ts';
import { recordRuleset } from '../../src/db/sql/rulesets.ts';
import { rulesetVersion } from '../../src/ruleset-file.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };

// The running rules: a demo request scores 60 and alerts; a pricing view 15.
const RUNNING = `version: diff-running
sources:
  - { name: website, scheme: standard, secret_env: LEADLINE_SECRET_WEBSITE }
thresholds:
  - { name: hot, score: 50 }
scoring:
  rules:
    - { id: pricing, event: page.viewed, points: 15, category: behaviour }
    - { id: demo, event: form.submitted, points: 60, category: intent }
intent:
  intents: [research, b2b]
  rules:
    - { id: demo-b2b, event: form.submitted, intent: b2b, signal: DEMO_REQUEST, weight: 40, tier: HIGH, decay_hours: 336 }
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages: [{ id: new, name: New lead }]
    assignment: { strategy: round_robin }
routing: { threshold: 40, min_confidence: 60, conflict_margin: 10 }
team:
  members:
    - { id: anna, slack_user_id: U0AAAA001, name: Anna, role: rep }
    - { id: ben, slack_user_id: U0AAAA002, name: Ben, role: rep }
`;

describe('npm run rules:diff', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'leadline-rules-diff-'));
  beforeAll(async () => {
    db = await createTestDatabase();
    await run(db.pool, recordRuleset(rulesetVersion(RUNNING), RUNNING));
    const events = [
      { email: 'ada@lab.example', type: 'form.submitted' },
      { email: 'grace@lab.example', type: 'page.viewed' },
      { email: 'alan@lab.example', type: 'form.submitted' },
    ].map(({ email, type }, i) => {
      const occurredAt = new Date(Date.now() - 3_600_000 + i * 1_000).toISOString();
      const event = { id: `diff-${i}`, type, source: 'website', occurredAt, lead: { email, ids: {} }, metadata: {}, utm: {} };
      return { id: randomUUID(), source: 'website', externalId: `diff-${i}`, scheme: 'standard', receivedAt: new Date(occurredAt), payload: {}, event, eventType: type, occurredAt };
    });
    await run(db.pool, insertIntakeRows(events));
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const diff = (text: string, ...args: string[]) => {
    const file = path.join(dir, 'new.yml');
    writeFileSync(file, text);
    const [, ...argv] = pkg.scripts['rules:diff']!.split(' ');
    const child = spawnSync(process.execPath, [...argv, file, ...args], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: db.url } });
    return { code: child.status, stdout: child.stdout, stderr: child.stderr };
  };

  it('shows the leads whose grade, route or alert would change, per-route counts and owner shares', () => {
    // Demo requests worth 30 instead of 60: below the hot threshold and the routing threshold.
    const result = diff(RUNNING.replace('points: 60', 'points: 30'), '--days', '7');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^replayed 3 events of the last 7 days: running \w+ vs \w+$/);
    expect(lines).toContain('2 of 3 leads would differ');
    expect(lines).toContain('  ada@lab.example: grade B → D, route b2b → pool, would no longer alert');
    expect(lines).toContain('  b2b: 2 → 0');
    expect(lines.some((l) => /^ {2}b2b: anna 50% → 0%, ben 50% → 0%$/.test(l))).toBe(true);
  });

  it('reports a moved hot threshold exactly: the same routes and owners, two alerts fewer', () => {
    const moved = RUNNING.replace('{ name: hot, score: 50 }', '{ name: hot, score: 70 }');
    const result = diff(moved, '--days', '7');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `replayed 3 events of the last 7 days: running ${rulesetVersion(RUNNING)} vs ${rulesetVersion(moved)}`,
        '2 of 3 leads would differ',
        '  ada@lab.example: would no longer alert',
        '  alan@lab.example: would no longer alert',
        'leads per route (running → new):',
        '  b2b: 2 → 2',
        '  pool: 1 → 1',
        'owner shares per pipeline (running → new):',
        '  b2b: anna 50% → 50%, ben 50% → 50%',
        '',
      ].join('\n'),
    );
  });

  it('refuses a broken ruleset with its line, changing nothing', () => {
    const result = diff(RUNNING.replace('points: 60', 'points: 600'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/new\.yml:\d+:\d+ scoring\.rules\.1\.points: Too big/);
  });
});
