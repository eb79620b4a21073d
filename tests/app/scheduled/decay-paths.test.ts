import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recomputeLead } from '../../../src/engine/lead-processor.ts';
import { runDecay } from '../../../src/app/scheduled/decay.ts';
import { loadLeadStates } from '../../../src/app/processing/lead-store.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { fixedClock, jobContext, testRuleset, TEST_RULES_YAML } from '../../support/engine-fixtures.ts';

/**
 * The decay job finishes leads without intent state inside PostgreSQL and leads with live signals
 * in the engine. Both must give exactly what the engine's `recomputeLead` gives for the same rows.
 */
const NOW = new Date('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const YAML = `${TEST_RULES_YAML}
automation:
  - id: cooled-down
    trigger: { type: score_threshold, threshold: warm, direction: down }
    actions: [{ type: update_field, field: lead.title, value: Cooled down }]
  - id: hot-again
    trigger: { type: score_threshold, threshold: hot }
    actions: [{ type: update_field, field: lead.region, value: Hot }]
`;

interface LeadSpec {
  rows: { points: number; expiresInHours: number | null; ageHours: number }[];
  signals: { weight: number; decayHours: number; ageHours: number; intent: string }[];
  stored: { score: number; grade: string; thresholds: string[]; intent: string | null; confidence: number };
  /** Whether the stored expiry says points are due (the job's own selection, as the engine left it). */
  due: boolean;
}

const leadArb: fc.Arbitrary<LeadSpec> = fc.record({
  rows: fc.array(
    fc.record({
      // Round amounts so sums often land right on a grade band or threshold edge.
      points: fc.oneof(fc.constantFrom(10, 20, 30, 40, 50, 80, -10, -20), fc.integer({ min: -50, max: 45 }).filter((n) => n !== 0)),
      expiresInHours: fc.option(fc.integer({ min: -100, max: 100 }), { nil: null }),
      ageHours: fc.integer({ min: 1, max: 2_000 }),
    }),
    { maxLength: 6 },
  ),
  signals: fc.array(
    fc.record({
      weight: fc.integer({ min: 1, max: 60 }),
      decayHours: fc.constantFrom(24, 168, 336),
      ageHours: fc.integer({ min: 0, max: 400 }),
      intent: fc.constantFrom('research', 'b2b', 'co_creation'),
    }),
    { maxLength: 3 },
  ),
  // Stored summaries need not match the rows (an older ruleset decided them): decay must still agree
  // with the engine on what changed.
  stored: fc.record({
    score: fc.integer({ min: 0, max: 100 }),
    grade: fc.constantFrom('A', 'B', 'C', 'D', 'F'),
    thresholds: fc.constantFrom([], ['warm'], ['warm', 'hot'], ['hot'], ['gone']),
    intent: fc.constantFrom(null, null, 'b2b', 'research'),
    confidence: fc.constantFrom(0, 0, 60, 100),
  }),
  due: fc.boolean(),
});

async function insertLead(db: TestDatabase, id: number, spec: LeadSpec): Promise<void> {
  const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR);
  const liveUntil = spec.signals
    .map((s) => at(s.ageHours).getTime() + s.decayHours * HOUR)
    .filter((end) => end > NOW.getTime());
  await db.pool.query(
    `INSERT INTO leads (id, email, score, grade, thresholds, score_expires_at, primary_intent, intent_confidence,
       signals_active_until, ruleset_version)
     OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'older')`,
    [
      id,
      `lead${id}@decay.example`,
      spec.stored.score,
      spec.stored.grade,
      spec.stored.thresholds,
      spec.due ? new Date(NOW.getTime() - HOUR) : new Date(NOW.getTime() + DAY),
      spec.stored.intent,
      spec.stored.intent === null ? 0 : spec.stored.confidence,
      liveUntil.length === 0 ? null : new Date(Math.max(...liveUntil)),
    ],
  );
  for (const [i, row] of spec.rows.entries()) {
    const occurred = at(row.ageHours);
    await db.pool.query(
      `INSERT INTO score_rows (lead_id, event_id, rule_id, category, points, occurred_at, day_key, expires_at, ruleset_version)
       VALUES ($1, gen_random_uuid(), $2, 'behaviour', $3, $4, ($4::timestamptz)::date, $5, 'older')`,
      [
        id,
        `rule-${i}`,
        row.points,
        occurred,
        row.points > 0 && row.expiresInHours !== null ? new Date(NOW.getTime() + row.expiresInHours * HOUR) : null,
      ],
    );
  }
  for (const [i, signal] of spec.signals.entries()) {
    await db.pool.query(
      `INSERT INTO signals (lead_id, event_id, rule_id, intent, signal, weight, tier, occurred_at, decay_hours, ruleset_version)
       VALUES ($1, gen_random_uuid(), $2, $3, 'seen', $4, 'MEDIUM', $5, $6, 'older')`,
      [id, `signal-${i}`, signal.intent, signal.weight, at(signal.ageHours), signal.decayHours],
    );
  }
}

const LEAD_COLUMNS = `id, score, grade, thresholds, score_expires_at, primary_intent, intent_confidence, intent_weights,
  signals_active_until, ruleset_version, updated_at`;

describe('decay paths', () => {
  let db: TestDatabase;
  const ruleset = testRuleset(YAML);

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  /** Seeds the leads, decays them in chunks of `chunkSize` and compares with the engine lead by lead. */
  async function expectEngineAgreement(specs: readonly LeadSpec[], chunkSize: number): Promise<void> {
    await db.reset();
    for (const [i, spec] of specs.entries()) await insertLead(db, i + 1, spec);
    const { rows: due } = await db.pool.query<{ id: number }>(
      `SELECT id FROM leads WHERE score_expires_at <= $1 OR signals_active_until IS NOT NULL ORDER BY id`,
      [NOW],
    );
    const ids = due.map((row) => Number(row.id));
    const states = await loadLeadStates(db.pool, ids, NOW, { lock: false, awards: false });
    const { rows: before } = await db.pool.query(`SELECT ${LEAD_COLUMNS} FROM leads ORDER BY id`);

    const summary = await runDecay(jobContext(db, ruleset, () => NOW), chunkSize, 'slot-1');

    const { rows: after } = await db.pool.query(`SELECT ${LEAD_COLUMNS} FROM leads ORDER BY id`);
    const { rows: changes } = await db.pool.query<{ lead_id: number; detail: unknown }>(
      'SELECT lead_id, detail FROM lead_changes ORDER BY id',
    );
    let expectedChanges = 0;
    for (const [index, row] of after.entries()) {
      const id = Number(row.id);
      const state = states.get(id);
      if (state === undefined) {
        expect(row).toEqual(before[index]);
        continue;
      }
      const outcome = recomputeLead(state, ruleset, NOW);
      expect({ ...row, updated_at: undefined }).toEqual({
        id: row.id,
        score: outcome.state.score,
        grade: outcome.state.grade,
        thresholds: outcome.state.thresholds,
        score_expires_at: outcome.scoreExpiresAt,
        primary_intent: outcome.state.primaryIntent,
        intent_confidence: outcome.state.intentConfidence,
        intent_weights: outcome.intentWeights,
        signals_active_until: outcome.signalsActiveUntil,
        ruleset_version: ruleset.version,
        updated_at: undefined,
      });
      expect(changes.filter((c) => Number(c.lead_id) === id).map((c) => c.detail)).toEqual(outcome.changes);
      expectedChanges += outcome.changes.length;
    }
    expect(summary).toMatchObject({ leads: ids.length, changes: expectedChanges });
  }

  it('gives what the engine gives for every due lead, in SQL or in the engine, across chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(leadArb, { minLength: 1, maxLength: 8 }), (specs) =>
        expectEngineAgreement(specs, 3),
      ),
      { numRuns: 25 },
    );
  });

  it('agrees with the engine on every grade band and threshold edge', async () => {
    const edges = [-5, 0, 19, 20, 39, 40, 49, 50, 59, 60, 79, 80, 99, 100, 130];
    const stored = [
      { score: 100, grade: 'A', thresholds: ['warm', 'hot'], intent: null, confidence: 0 },
      { score: 0, grade: 'F', thresholds: [], intent: null, confidence: 0 },
      { score: 50, grade: 'C', thresholds: ['warm'], intent: null, confidence: 0 },
    ];
    const specs = edges.flatMap((points) =>
      stored.map((summary) => ({
        rows: [
          { points, expiresInHours: null, ageHours: 10 },
          { points: 30, expiresInHours: -1, ageHours: 500 },
        ],
        signals: [],
        stored: summary,
        due: true,
      })),
    );
    await expectEngineAgreement(specs, 7);
  });

  it('records a lead change and starts automation when decay in SQL drops a lead below a threshold', async () => {
    await db.reset();
    // 30 lasting points and 25 that expire an hour ago: 55 (warm, grade C) falls to 30 (grade D).
    await insertLead(db, 1, {
      rows: [
        { points: 30, expiresInHours: null, ageHours: 100 },
        { points: 25, expiresInHours: -1, ageHours: 200 },
      ],
      signals: [],
      stored: { score: 55, grade: 'C', thresholds: ['warm'], intent: null, confidence: 0 },
      due: true,
    });
    const clock = fixedClock(NOW.toISOString());
    const first = await runDecay(jobContext(db, ruleset, clock.now), 100, '2026-11-20T12:00');
    expect(first).toEqual({ leads: 1, changes: 2, chunks: 1 });
    const { rows: lead } = await db.pool.query('SELECT score, grade, thresholds, score_expires_at FROM leads');
    expect(lead).toEqual([{ score: 30, grade: 'D', thresholds: [], score_expires_at: null }]);
    const { rows: changes } = await db.pool.query('SELECT kind, detail, event_id FROM lead_changes ORDER BY id');
    expect(changes).toEqual([
      {
        kind: 'threshold_crossed',
        detail: { kind: 'threshold_crossed', threshold: 'warm', direction: 'down', score: 30 },
        event_id: null,
      },
      { kind: 'grade_changed', detail: { kind: 'grade_changed', from: 'C', to: 'D' }, event_id: null },
    ]);
    const { rows: actions } = await db.pool.query(
      'SELECT rule_id, trigger_type, trigger_instance_id, status FROM automation_actions',
    );
    expect(actions).toEqual([
      {
        rule_id: 'cooled-down',
        trigger_type: 'score_threshold',
        trigger_instance_id: 'threshold:warm:down:decay:2026-11-20T12:00',
        status: 'done',
      },
    ]);
    const { rows: titles } = await db.pool.query('SELECT title FROM leads');
    expect(titles).toEqual([{ title: 'Cooled down' }]);
  });

  it('changes nothing when a slot runs again', async () => {
    await db.reset();
    await insertLead(db, 1, {
      rows: [{ points: 40, expiresInHours: -2, ageHours: 300 }, { points: 45, expiresInHours: 5, ageHours: 10 }],
      signals: [],
      stored: { score: 85, grade: 'A', thresholds: ['warm', 'hot'], intent: null, confidence: 0 },
      due: true,
    });
    await insertLead(db, 2, {
      rows: [{ points: 45, expiresInHours: -3, ageHours: 300 }, { points: 10, expiresInHours: 40, ageHours: 5 }],
      signals: [{ weight: 40, decayHours: 336, ageHours: 30, intent: 'b2b' }],
      stored: { score: 55, grade: 'C', thresholds: ['warm'], intent: 'b2b', confidence: 100 },
      due: true,
    });
    const ctx = jobContext(db, ruleset, () => NOW);
    const first = await runDecay(ctx, 1, 'again');
    expect(first.changes).toBeGreaterThan(0);
    const snapshot = async () => ({
      leads: (await db.pool.query(`SELECT ${LEAD_COLUMNS} FROM leads ORDER BY id`)).rows,
      changes: (await db.pool.query('SELECT * FROM lead_changes ORDER BY id')).rows,
      actions: (await db.pool.query('SELECT * FROM automation_actions ORDER BY idempotency_key')).rows,
    });
    const before = await snapshot();
    // The lead with live signals is still due; the other one is not until its next expiry.
    expect(await runDecay(ctx, 1, 'again')).toEqual({ leads: 1, changes: 0, chunks: 1 });
    expect(await snapshot()).toEqual(before);
  });
});
