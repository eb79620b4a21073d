import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileMatcher, type EventContext } from '../../src/engine/conditions.ts';
import { parseRuleset } from '../../src/engine/ruleset.ts';
import { LeadlineError } from '../../src/errors.ts';
import { storedEvent, T0 } from '../support/engine-rules.ts';

function issuesOf(yaml: string): { path: string; message: string }[] {
  try {
    parseRuleset(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(LeadlineError);
    expect((err as LeadlineError).code).toBe('ruleset_invalid');
    return [...(err as LeadlineError).issues];
  }
  throw new Error('expected the ruleset to be rejected');
}

const RULE = (extra: string) => `
scoring:
  rules:
    - id: opened
      event: email.opened
      points: 1
      category: engagement
    - id: demo
      event: form.submitted
      points: 30
      category: intent
${extra}`;

describe('parseRuleset', () => {
  it('parses the shipped rules/default.yml', () => {
    const text = readFileSync(new URL('../../rules/default.yml', import.meta.url), 'utf8');
    const ruleset = parseRuleset(text, { version: 'abc123' });
    expect(ruleset.version).toBe('abc123');
    expect(ruleset.label).toBe('2025-06');
    expect(ruleset.timezone).toBe('Europe/Berlin');
    expect(ruleset.pipelines.map((p) => p.id)).toEqual(['research', 'b2b', 'co_creation']);
    expect(ruleset.sources.map((s) => s.name)).toEqual([
      'website',
      'hubspot',
      'calendly',
      'typeform',
      'lemlist',
      'moco',
      'rb2b',
    ]);
    expect(ruleset.sources.find((s) => s.name === 'rb2b')).toMatchObject({
      scheme: 'url-token',
      format: 'native',
    });
    expect(ruleset.intent.rules.some((rule) => rule.tier === 'CRITICAL')).toBe(true);
    const opened = ruleset.scoring.rules.find((rule) => rule.id === 'email-opened');
    expect(opened?.caps).toEqual({ daily: 2, lifetime: 5 });
  });

  it('fills defaults for a minimal file', () => {
    const ruleset = parseRuleset('version: 3\n');
    expect(ruleset.label).toBe('3');
    expect(ruleset.version).toBe('3');
    expect(ruleset.timezone).toBe('Europe/Berlin');
    expect(ruleset.thresholds).toEqual([{ name: 'hot', score: 80 }]);
    expect(ruleset.intent.intents).toEqual(['research', 'b2b', 'co_creation']);
    expect(ruleset.routing).toEqual({
      threshold: 40,
      min_confidence: 60,
      conflict_margin: 10,
      manager_decides: [],
    });
  });

  it('defaults a source format from its scheme', () => {
    const ruleset = parseRuleset(`
sources:
  - { name: hs, scheme: hubspot-v3, secret_env: HS }
  - { name: site, scheme: standard, secret: 0123456789abcdef }
  - { name: legacy, scheme: standard, format: hubspot, secret_env: LEGACY }
`);
    expect(ruleset.sources.map((s) => s.format)).toEqual(['hubspot', 'native', 'hubspot']);
  });

  it('reports a wrong type at its exact path and line', () => {
    const issues = issuesOf(RULE('').replace('points: 30', 'points: lots'));
    expect(issues).toEqual([
      {
        path: 'scoring.rules.1.points',
        message: 'Invalid input: expected number, received string (line 10)',
      },
    ]);
  });

  it('reports each unknown key at the key', () => {
    const issues = issuesOf(RULE('').replace('points: 30', 'points: 30\n      pointz: 3\n      expires: 2'));
    expect(issues.map((i) => i.path)).toEqual(['scoring.rules.1.pointz', 'scoring.rules.1.expires']);
    expect(issues[0]!.message).toMatch(/unknown key .*line 11/);
  });

  it('reports a bad regex at its value', () => {
    const issues = issuesOf(`
scoring:
  rules:
    - id: title
      event: "*"
      when:
        - { field: lead.title, op: regex, value: "(director" }
      points: 5
      category: fit
`);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('scoring.rules.0.when.0.value');
    expect(issues[0]!.message).toMatch(/Invalid regular expression.*line 7/);
  });

  it('reports unknown condition fields and ops', () => {
    const issues = issuesOf(`
scoring:
  rules:
    - id: a
      event: "*"
      when:
        - { field: lead.shoe_size, op: equals, value: 42 }
        - { field: metadata.x, op: matches, value: y }
        - { field: metadata.n, op: gt, value: "ten" }
      points: 5
      category: fit
`);
    expect(issues.map((i) => i.path)).toEqual([
      'scoring.rules.0.when.0.field',
      'scoring.rules.0.when.1.op',
      'scoring.rules.0.when.2.value',
    ]);
  });

  it('reports an unknown intent', () => {
    const issues = issuesOf(`
intent:
  intents: [research, b2b]
  rules:
    - { id: x, event: form.submitted, intent: partnership, signal: X, weight: 5, tier: HIGH, decay_hours: 24 }
`);
    expect(issues).toEqual([
      { path: 'intent.rules.0.intent', message: 'unknown intent; expected one of research, b2b (line 5)' },
    ]);
  });

  it('reports duplicate rule ids', () => {
    const issues = issuesOf(RULE('').replace('id: demo', 'id: opened'));
    expect(issues).toEqual([{ path: 'scoring.rules.1.id', message: 'duplicate rule id "opened" (line 8)' }]);
  });

  it('reports unsorted thresholds, duplicate names and bad sources', () => {
    const issues = issuesOf(`
thresholds:
  - { name: hot, score: 80 }
  - { name: warm, score: 50 }
  - { name: hot, score: 90 }
sources:
  - { name: Web Site, scheme: standard, secret_env: X }
  - { name: hs, scheme: hubspot-v3 }
`);
    expect(issues.map((i) => i.path)).toEqual(['sources.0.name', 'sources.1.secret_env']);
    const cross = issuesOf(`
thresholds:
  - { name: hot, score: 80 }
  - { name: warm, score: 50 }
  - { name: hot, score: 90 }
sources:
  - { name: site, scheme: standard, secret_env: X }
  - { name: site, scheme: hubspot-v3, secret_env: Y }
`);
    expect(cross.map((i) => i.path)).toEqual(['thresholds.1.score', 'thresholds.2.name', 'sources.1.name']);
  });

  it('rejects zero points, negative points that expire and bad time zones', () => {
    expect(issuesOf(RULE('').replace('points: 30', 'points: 0')).map((i) => i.path)).toEqual([
      'scoring.rules.1.points',
    ]);
    const expiring = issuesOf(RULE('').replace('points: 30', 'points: -5\n      expires_days: 3'));
    expect(expiring.map((i) => i.path)).toEqual(['scoring.rules.1.expires_days']);
    expect(issuesOf('timezone: Mars/Olympus').map((i) => i.path)).toEqual(['timezone']);
  });

  it('reports YAML syntax errors with their line', () => {
    const issues = issuesOf('version: 1\nscoring:\n  rules: [\n    { id: a\nthresholds: []\n');
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]!.path).toBe('(yaml)');
    expect(issues[0]!.message).toMatch(/^line \d+, column \d+: /);
    const duplicate = issuesOf('version: 1\nversion: 2\n');
    expect(duplicate[0]!.message).toMatch(/^line 2, column 1: Map keys must be unique/);
  });

  it('rejects a file that is not a mapping', () => {
    expect(issuesOf('')[0]!.path).toBe('(root)');
    expect(issuesOf('- a\n- b\n')[0]!.path).toBe('(root)');
  });
});

describe('conditions', () => {
  const ctx = (metadata: Record<string, string | number | boolean | null>, title?: string): EventContext => ({
    eventId: 'e1',
    occurredAt: T0,
    event: storedEvent({ type: 'form.submitted', metadata }),
    lead: { email: 'a@gmail.com', emailDomain: 'gmail.com', freeMail: true, profile: { title } },
  });
  const matches = (yamlCondition: string, subject: EventContext) => {
    const ruleset = parseRuleset(
      `scoring:\n  rules:\n    - { id: r, event: form.submitted, points: 1, category: fit, when: [${yamlCondition}] }\n`,
    );
    return ruleset.scoring.rules[0]!.matches(subject);
  };

  it('compares text case-insensitively and numbers numerically', () => {
    expect(
      matches('{ field: metadata.form_type, op: equals, value: Demo }', ctx({ form_type: 'demo ' })),
    ).toBe(true);
    expect(matches('{ field: metadata.n, op: equals, value: 5 }', ctx({ n: '5.0' }))).toBe(true);
    expect(matches('{ field: metadata.n, op: gte, value: 5 }', ctx({ n: '7' }))).toBe(true);
    expect(matches('{ field: metadata.n, op: gt, value: 5 }', ctx({ n: 'seven' }))).toBe(false);
    expect(matches('{ field: metadata.n, op: lt, value: 5 }', ctx({ n: true }))).toBe(false);
    expect(matches('{ field: lead.title, op: contains, value: DIRECTOR }', ctx({}, 'Lab director'))).toBe(
      true,
    );
    expect(matches('{ field: lead.free_mail, op: equals, value: true }', ctx({}))).toBe(true);
    expect(matches('{ field: metadata.t, op: in, value: [a, B] }', ctx({ t: 'b' }))).toBe(true);
  });

  it('never matches missing fields except not_equals and exists: false', () => {
    const none = ctx({ blank: '  ', nothing: null });
    for (const field of [
      'metadata.absent',
      'metadata.blank',
      'metadata.nothing',
      'lead.title',
      'utm.campaign',
    ]) {
      expect(matches(`{ field: ${field}, op: equals, value: x }`, none)).toBe(false);
      expect(matches(`{ field: ${field}, op: contains, value: x }`, none)).toBe(false);
      expect(matches(`{ field: ${field}, op: regex, value: "." }`, none)).toBe(false);
      expect(matches(`{ field: ${field}, op: lte, value: 1 }`, none)).toBe(false);
      expect(matches(`{ field: ${field}, op: in, value: [x] }`, none)).toBe(false);
      expect(matches(`{ field: ${field}, op: exists }`, none)).toBe(false);
      expect(matches(`{ field: ${field}, op: not_equals, value: x }`, none)).toBe(true);
      expect(matches(`{ field: ${field}, op: exists, value: false }`, none)).toBe(true);
    }
  });

  it('does not read inherited metadata keys', () => {
    expect(matches('{ field: metadata.constructor, op: exists }', ctx({}))).toBe(false);
  });

  it('matches any event type with *', () => {
    const match = compileMatcher('*', []);
    expect(match(ctx({}))).toBe(true);
    expect(compileMatcher('email.opened', [])(ctx({}))).toBe(false);
  });
});
