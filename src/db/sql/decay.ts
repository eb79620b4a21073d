import type { Sql } from '../pool.ts';
import type { LeadUpdate } from './leads.ts';

/** What the chunk statement needs from the ruleset and the engine's fixed grade bands. */
export interface DecayChunkRules {
  /** Thresholds sorted by score (the engine's order for reached thresholds and crossings). */
  thresholds: readonly { name: string; score: number }[];
  /** Grade bands best first, each with its lowest score. */
  grades: readonly { grade: string; min: number }[];
  minScore: number;
  maxScore: number;
  /** intent_weights of a lead without live signals: every configured intent at 0. */
  zeroWeights: Record<string, number>;
  rulesetVersion: string;
}

export interface DecayChunkRow {
  /** Lead changes the statement recorded for leads it finished itself. */
  changes: number;
  /** Leads it finished itself whose crossings start automation, with the crossings in recorded order. */
  crossings: { id: number; changes: { kind: 'threshold_crossed'; threshold: string; direction: 'up' | 'down'; score: number }[] }[];
  /** Leads with intent state, left to the engine: their summary before and their summed active points. */
  intent_leads: {
    id: number;
    score: number;
    grade: string;
    thresholds: string[];
    primary_intent: string | null;
    intent_confidence: number;
    raw_points: number;
    score_expires_at: string | null;
  }[];
}

/**
 * The next chunk of leads whose score has points due to expire or whose intent signals are still
 * decaying, after `afterId`, locked. Rows another worker holds are skipped: that worker is
 * recomputing them anyway.
 */
export function lockDueLeads(afterId: number, now: Date, limit: number): Sql<{ id: number }> {
  return {
    text: `SELECT id FROM leads
      WHERE id > $1 AND (score_expires_at <= $2 OR signals_active_until IS NOT NULL)
      ORDER BY id
      LIMIT $3
      FOR UPDATE SKIP LOCKED`,
    values: [afterId, now, limit],
  };
}

/**
 * Decays a chunk of locked leads in one statement. It runs after the locks are taken, so its
 * snapshot holds every score row committed for these leads. It sums each lead's active points
 * through score_rows_lead_idx and finishes the leads without intent state (no live signals, no
 * primary intent) right here: new score, grade, thresholds and next expiry, written only when
 * something differs, plus their threshold crossings and grade changes as lead changes. That is the
 * engine's `recomputeLead` for such leads, in SQL: the sum is of integers, grade bands and
 * thresholds come in from the engine, and changes are ordered as the engine orders them (crossings
 * up ascending, then down descending, then the grade change). Leads with intent state come back,
 * with their summed points, for the engine to finish.
 */
export function decayChunk(ids: readonly number[], now: Date, rules: DecayChunkRules): Sql<DecayChunkRow> {
  return {
    text: `WITH calc AS MATERIALIZED (
        SELECT d.id, d.score, d.grade, d.thresholds, d.score_expires_at, d.primary_intent, d.intent_confidence,
          d.intent_weights, d.ruleset_version, coalesce(a.raw, 0) AS raw_points, a.expires_at AS new_expires_at,
          s.score AS new_score,
          coalesce((SELECT b.grade FROM unnest($5::text[], $6::int[]) WITH ORDINALITY AS b(grade, min, ord)
            WHERE s.score >= b.min ORDER BY b.ord LIMIT 1), 'F') AS new_grade,
          ARRAY(SELECT t.name FROM unnest($3::text[], $4::int[]) WITH ORDINALITY AS t(name, at_score, ord)
            WHERE t.at_score <= s.score ORDER BY t.ord) AS new_thresholds,
          (d.signals_active_until IS NULL AND d.primary_intent IS NULL AND d.intent_confidence = 0) AS plain
        FROM leads d
        CROSS JOIN LATERAL (
          SELECT sum(r.points)::bigint AS raw, min(r.expires_at) AS expires_at
          FROM score_rows r
          WHERE r.lead_id = d.id AND (r.expires_at IS NULL OR r.expires_at > $2)
        ) a
        CROSS JOIN LATERAL (SELECT least($8::int, greatest($7::int, coalesce(a.raw, 0)))::int AS score) s
        WHERE d.id = ANY ($1::bigint[])
      ), changes AS MATERIALIZED (
        SELECT c.id AS lead_id, x.seq, x.kind, x.detail
        FROM calc c
        CROSS JOIN LATERAL (
          SELECT t.ord AS seq, 'threshold_crossed' AS kind,
            jsonb_build_object('kind', 'threshold_crossed', 'threshold', t.name, 'direction', 'up', 'score', c.new_score) AS detail
          FROM unnest($3::text[]) WITH ORDINALITY AS t(name, ord)
          WHERE t.name = ANY (c.new_thresholds) AND NOT t.name = ANY (c.thresholds)
          UNION ALL
          SELECT 1000 - t.ord, 'threshold_crossed',
            jsonb_build_object('kind', 'threshold_crossed', 'threshold', t.name, 'direction', 'down', 'score', c.new_score)
          FROM unnest($3::text[]) WITH ORDINALITY AS t(name, ord)
          WHERE t.name = ANY (c.thresholds) AND NOT t.name = ANY (c.new_thresholds)
          UNION ALL
          SELECT 2000, 'grade_changed', jsonb_build_object('kind', 'grade_changed', 'from', c.grade, 'to', c.new_grade)
          WHERE c.new_grade <> c.grade
        ) x
        WHERE c.plain
      ), updated AS (
        UPDATE leads l SET score = c.new_score, grade = c.new_grade, thresholds = c.new_thresholds,
          score_expires_at = c.new_expires_at, intent_weights = $9::jsonb, ruleset_version = $10, updated_at = $2
        FROM calc c
        WHERE l.id = ANY ($1::bigint[]) AND l.id = c.id AND c.plain
          AND (c.score, c.grade, c.thresholds, c.score_expires_at, c.intent_weights, c.ruleset_version)
            IS DISTINCT FROM (c.new_score, c.new_grade, c.new_thresholds, c.new_expires_at, $9::jsonb, $10)
        RETURNING l.id
      ), recorded AS (
        INSERT INTO lead_changes (lead_id, kind, detail, event_id, ruleset_version, created_at)
        SELECT lead_id, kind, detail, NULL, $10, $2 FROM changes ORDER BY lead_id, seq
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM recorded)::int AS changes,
        (SELECT coalesce(json_agg(json_build_object('id', lead_id, 'changes', crossed) ORDER BY lead_id), '[]')
          FROM (SELECT lead_id, json_agg(detail ORDER BY seq) AS crossed FROM changes
                WHERE kind = 'threshold_crossed' GROUP BY lead_id) g) AS crossings,
        (SELECT coalesce(json_agg(json_build_object('id', id, 'score', score, 'grade', grade, 'thresholds', thresholds,
            'primary_intent', primary_intent, 'intent_confidence', intent_confidence, 'raw_points', raw_points,
            'score_expires_at', new_expires_at) ORDER BY id), '[]')
          FROM calc WHERE NOT plain) AS intent_leads`,
    values: [
      ids,
      now,
      rules.thresholds.map((t) => t.name),
      rules.thresholds.map((t) => t.score),
      rules.grades.map((g) => g.grade),
      rules.grades.map((g) => g.min),
      rules.minScore,
      rules.maxScore,
      JSON.stringify(rules.zeroWeights),
      rules.rulesetVersion,
    ],
  };
}

/** `score_expires_at` as PostgreSQL summed it (full precision), or null when no point is left to expire. */
export type DecayedLeadUpdate = Pick<
  LeadUpdate,
  | 'id'
  | 'score'
  | 'grade'
  | 'thresholds'
  | 'score_expires_at'
  | 'primary_intent'
  | 'intent_confidence'
  | 'intent_weights'
  | 'signals_active_until'
  | 'ruleset_version'
>;

/**
 * Writes the engine's decay results for leads with intent state: only the columns decay changes,
 * and only rows where one of them differs (re-running a slot writes nothing).
 */
export function updateDecayedLeads(rows: readonly DecayedLeadUpdate[], at: Date): Sql {
  return {
    text: `UPDATE leads l SET score = u.score, grade = u.grade, thresholds = u.thresholds,
        score_expires_at = u.score_expires_at, primary_intent = u.primary_intent,
        intent_confidence = u.intent_confidence, intent_weights = u.intent_weights,
        signals_active_until = u.signals_active_until, ruleset_version = u.ruleset_version, updated_at = $2
      FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, score int, grade text, thresholds text[],
        score_expires_at timestamptz, primary_intent text, intent_confidence int, intent_weights jsonb,
        signals_active_until timestamptz, ruleset_version text)
      WHERE l.id = u.id
        AND (l.score, l.grade, l.thresholds, l.score_expires_at, l.primary_intent, l.intent_confidence,
          l.intent_weights, l.signals_active_until, l.ruleset_version)
        IS DISTINCT FROM (u.score, u.grade, u.thresholds, u.score_expires_at, u.primary_intent, u.intent_confidence,
          u.intent_weights, u.signals_active_until, u.ruleset_version)`,
    values: [JSON.stringify(rows), at],
  };
}
