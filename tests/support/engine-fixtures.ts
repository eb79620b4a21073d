import { randomUUID } from 'node:crypto';
import { type PoolClient, run } from '../../src/db/pool.ts';
import { insertIntakeRows } from '../../src/db/sql/intake.ts';
import type { LeadlineEvent } from '../../src/engine/event.ts';
import { parseRuleset, type Ruleset } from '../../src/engine/ruleset.ts';
import { type Boss, startBoss } from '../../src/jobs/boss.ts';
import type { AppContext } from '../../src/app/context.ts';
import { decideRoutes, openRoutes, type RoutingResult } from '../../src/app/processing/routing.ts';
import { createQueues } from '../../src/jobs/registry.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { TestDatabase } from './db.ts';

/** A small ruleset whose numbers the processing tests can reason about exactly. */
export const TEST_RULES_YAML = `
version: test
timezone: Europe/Berlin
sources:
  - { name: website, scheme: standard, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }
thresholds:
  - { name: warm, score: 50 }
  - { name: hot, score: 80 }
scoring:
  rules:
    - { id: email-opened, event: email.opened, points: 1, category: engagement, caps: { daily: 2, lifetime: 5 }, expires_days: 30 }
    - { id: demo-request, event: form.submitted, when: [{ field: metadata.form_type, op: equals, value: demo }], points: 30, category: behaviour, expires_days: 90 }
    - { id: pricing-page, event: page.viewed, when: [{ field: metadata.url, op: contains, value: pricing }], points: 10, category: behaviour, caps: { daily: 10 }, expires_days: 7 }
    - { id: bounced, event: email.bounced, points: -40, category: negative }
intent:
  intents: [research, b2b, co_creation]
  rules:
    - { id: demo-b2b, event: form.submitted, when: [{ field: metadata.form_type, op: equals, value: demo }], intent: b2b, signal: demo_request, weight: 40, tier: CRITICAL, decay_hours: 336 }
    - { id: pricing-b2b, event: page.viewed, when: [{ field: metadata.url, op: contains, value: pricing }], intent: b2b, signal: pricing_view, weight: 10, tier: MEDIUM, decay_hours: 168 }
`;

/** TEST_RULES_YAML plus a research intent: a demo and a protocol download make a 50/50 b2b/research tie. */
export const ROUTING_SCORING_YAML = TEST_RULES_YAML.replace(
  '    - { id: pricing-b2b,',
  `    - { id: protocol-research, event: content.downloaded, when: [{ field: metadata.content_type, op: equals, value: protocol }], intent: research, signal: protocol_download, weight: 40, tier: HIGH, decay_hours: 336 }
    - { id: pricing-b2b,`,
).replace(
  '    - { id: bounced,',
  `    - { id: protocol, event: content.downloaded, points: 15, category: behaviour }
    - { id: bounced,`,
);

/** ROUTING_SCORING_YAML with two pipelines (one manager-decided) and a team. */
export const ROUTING_YAML = `${ROUTING_SCORING_YAML}
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages: [{ id: new, name: New lead }, { id: discovery, name: Discovery }]
    assignment: { strategy: round_robin, members: [anna, ben, carla] }
  - id: research
    name: Research
    intent: research
    manager_decides: true
    stages: [{ id: new, name: New enquiry }]
    assignment: { strategy: round_robin }
routing: { threshold: 40, min_confidence: 60, conflict_margin: 10 }
team:
  members:
    - { id: anna, slack_user_id: U0ANNA001, name: Anna, role: rep }
    - { id: ben, slack_user_id: U0BEN0002, name: Ben, role: rep }
    - { id: carla, slack_user_id: U0CARLA03, name: Carla, role: rep }
    - { id: lena, slack_user_id: U0LENA004, name: Lena, role: manager }
  away: { status_emoji: [":palm_tree:"], status_text_patterns: ["vacation"] }
`;

/**
 * The ruleset with routing and alerting switched off (no pipelines, thresholds or CRITICAL tiers),
 * for tests that score leads first and then drive routing or Slack themselves.
 */
export function scoringOnly(ruleset: Ruleset): Ruleset {
  return {
    ...ruleset,
    pipelines: [],
    thresholds: [],
    intent: {
      ...ruleset.intent,
      rules: ruleset.intent.rules.map((rule) =>
        rule.tier === 'CRITICAL' ? { ...rule, tier: 'HIGH' } : rule,
      ),
    },
  };
}

export function testRuleset(yaml = TEST_RULES_YAML): Ruleset {
  return parseRuleset(yaml, { version: 'test-rules' });
}

/** A fixed, adjustable clock for jobs. */
export function fixedClock(start: string) {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    set: (iso: string) => {
      current = new Date(iso);
    },
  };
}

const queues = new WeakMap<TestDatabase, Boss>();

/**
 * A real pg-boss on the test database, started on first use and stopped when the database is
 * dropped. Jobs only ever enqueue or wake queues through it; nothing works them in these tests.
 */
function queueFor(db: TestDatabase): Boss {
  const known = queues.get(db);
  if (known !== undefined) return known;
  let started: Promise<Boss> | null = null;
  const start = () => {
    started ??= startBoss(db.url, createLogger('silent'), { supervise: false }).then(async (boss) => {
      await createQueues(boss);
      db.onDrop(() => boss.stop({ graceful: false, close: true }));
      return boss;
    });
    return started;
  };
  const lazy = new Proxy({} as Boss, {
    get: (_target, property) => {
      if (property === 'then') return undefined;
      return async (...args: unknown[]) => {
        const boss = await start();
        const method = (boss as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>)[property];
        if (typeof method !== 'function') throw new Error(`pg-boss has no method ${String(property)}`);
        return method.apply(boss, args);
      };
    },
  });
  queues.set(db, lazy);
  return lazy;
}

export function jobContext(db: TestDatabase, ruleset: Ruleset, now: () => Date): AppContext {
  return {
    pool: db.pool,
    queue: queueFor(db),
    ruleset,
    log: createLogger('silent'),
    metrics: createMetrics({ defaults: false }),
    now,
  };
}

let counter = 0;

/** An event as a sender would describe it; `email` defaults to one shared test lead. */
export function event(
  type: string,
  overrides: Partial<LeadlineEvent> & { email?: string } = {},
): LeadlineEvent {
  counter += 1;
  const { email, ...rest } = overrides;
  return {
    id: `evt_${counter}_${randomUUID().slice(0, 8)}`,
    type,
    source: 'website',
    occurredAt: '2026-11-20T10:00:00.000Z',
    lead: { email: email ?? 'ada@genomics-lab.example', ids: {} },
    metadata: {},
    utm: {},
    ...rest,
  };
}

/** Stores events as intake rows (no jobs) and returns their row ids, in order. */
export async function storeEvents(db: TestDatabase, events: readonly LeadlineEvent[]): Promise<string[]> {
  const rows = events.map((e) => ({
    id: randomUUID(),
    source: e.source,
    externalId: e.id ?? randomUUID(),
    scheme: 'standard',
    receivedAt: new Date(e.occurredAt),
    payload: e,
    event: e,
    eventType: e.type,
    occurredAt: e.occurredAt,
  }));
  await run(db.pool, insertIntakeRows(rows));
  return rows.map((r) => r.id);
}

export async function leadByEmail(db: TestDatabase, email: string) {
  const { rows } = await db.pool.query(
    `SELECT l.*, o.domain AS organization_domain FROM leads l
     LEFT JOIN organizations o ON o.id = l.organization_id WHERE l.email = $1`,
    [email],
  );
  return rows[0] as Record<string, unknown> | undefined;
}

/**
 * Routes leads the way a processing batch does (both halves, one after the other), for tests that
 * route leads without processing events.
 */
export async function routeLeads(
  tx: PoolClient,
  ctx: AppContext,
  leadIds: readonly number[],
  now: Date,
): Promise<RoutingResult[]> {
  const pending = await decideRoutes(tx, ctx, leadIds, now);
  return [...pending.results, ...(await openRoutes(tx, ctx, pending, now))];
}
