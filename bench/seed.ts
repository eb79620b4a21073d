/**
 * Set-based seeding: leads, their email identifiers, organizations, score rows and signals are
 * generated inside PostgreSQL with generate_series, so 10M score rows take minutes, not hours. Every
 * value derives from the row number (no random()), so the data is the same on every run.
 */
import type pg from 'pg';
import type { Ruleset } from '../src/engine/ruleset.ts';
import { DOMAINS, leadEmailSql, TITLES } from './dataset.ts';

export interface SeedOptions {
  leads: number;
  scoreRowsPerLead: number;
  /** Score rows happen up to this many days before `now` (older rows have expired). */
  maxAgeDays: number;
  /** Share of leads whose score has points due to expire now (the decay job's work). */
  dueShare: number;
  /** Every n-th lead has one intent signal still decaying. */
  signalEvery: number;
  now: Date;
  ruleset: Ruleset;
}

export type SeedTimings = Record<string, number>;

const COMPANY_BY_DOMAIN: Record<string, string | null> = {
  'uni-heidelberg.de': 'Universität Heidelberg',
  'genomics-lab.example': 'Genomics Lab',
  'embl.de': 'EMBL',
  'acme-bio.example': 'Acme Bio',
  'gmail.com': null,
  'biotech-partners.example': 'Biotech Partners',
  'mpg.de': 'Max Planck Society',
};

async function timed(timings: SeedTimings, name: string, work: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await work();
  timings[name] = Math.round(performance.now() - started);
}

/**
 * Runs `work` with the table's secondary indexes, unique and foreign-key constraints dropped, then
 * recreates them from their catalog definitions: one sorted index build beats ten million random
 * B-tree inserts. The primary key stays (other tables' foreign keys depend on it).
 */
export async function withBulkLoad(
  db: pg.Client,
  table: string,
  work: () => Promise<void>,
  timings?: SeedTimings,
): Promise<void> {
  const constraints = (
    await db.query<{ name: string; def: string; type: string }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS def, contype::text AS type
       FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('u', 'f') ORDER BY contype DESC`,
      [table],
    )
  ).rows;
  const indexes = (
    await db.query<{ name: string; def: string }>(
      `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE i.indrelid = $1::regclass AND NOT i.indisprimary
         AND i.indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conrelid = $1::regclass)`,
      [table],
    )
  ).rows;
  const ident = (name: string) => db.escapeIdentifier(name);
  for (const c of [...constraints].reverse())
    await db.query(`ALTER TABLE ${table} DROP CONSTRAINT ${ident(c.name)}`);
  for (const index of indexes) await db.query(`DROP INDEX ${ident(index.name)}`);
  await work();
  const rebuilt = performance.now();
  for (const index of indexes) await db.query(index.def);
  // Unique constraints first ('u' sorts after 'f' descending), foreign keys last.
  for (const c of constraints)
    await db.query(`ALTER TABLE ${table} ADD CONSTRAINT ${ident(c.name)} ${c.def}`);
  if (timings !== undefined) timings[`${table}Indexes`] = Math.round(performance.now() - rebuilt);
}

/**
 * Seeds leads with identifiers, organizations, score rows and signals; returns ms per phase.
 *
 * Lead rows are consistent with their score rows as of the previous nightly run (`now` − 1 day):
 * score = sum of the points active then, score_expires_at = the earliest expiry among them. For a
 * `dueShare` of leads, one row expired since then, so tonight's decay has real work for them.
 */
export async function seedLeads(db: pg.Client, options: SeedOptions): Promise<SeedTimings> {
  const timings: SeedTimings = {};
  const { ruleset, now } = options;
  const expiring = ruleset.scoring.rules.filter((rule) => rule.expires_days !== undefined && rule.points > 0);
  const signalRule = ruleset.intent.rules[0];
  if (expiring.length === 0 || signalRule === undefined) throw new Error('ruleset lacks expiring rules');
  const lastRun = new Date(now.getTime() - 86_400_000);
  const thresholds = [...ruleset.thresholds].sort((a, b) => a.score - b.score);
  await db.query(`SET maintenance_work_mem = '512MB'`);
  await db.query(`SET work_mem = '256MB'`);
  await db.query('SET synchronous_commit = off');

  await timed(timings, 'organizations', () =>
    db.query(
      `INSERT INTO organizations (domain, name) SELECT d, c FROM unnest($1::text[], $2::text[]) AS u(d, c)
       WHERE c IS NOT NULL ON CONFLICT (domain) DO NOTHING`,
      [DOMAINS, DOMAINS.map((d) => COMPANY_BY_DOMAIN[d] ?? null)],
    ),
  );
  // Score rows first (their foreign key is dropped meanwhile), so lead rows can be derived from them.
  await withBulkLoad(
    db,
    'score_rows',
    async () => {
      await timed(timings, 'scoreRows', () =>
        db.query(
          `INSERT INTO score_rows (lead_id, event_id, rule_id, category, points, occurred_at, day_key, expires_at,
           ruleset_version, created_at)
         SELECT x.lead_id, md5('sr' || i)::uuid, ($3::text[])[x.r], ($4::text[])[x.r], ($5::int[])[x.r], x.at,
           (x.at AT TIME ZONE $9)::date, x.at + ($6::int[])[x.r] * interval '1 day', $8, x.at
         FROM generate_series(1::bigint, $1::bigint * $2::bigint) AS i
         CROSS JOIN LATERAL (SELECT (i - 1) / $2 + 1 AS lead_id, (1 + (i * 31) % cardinality($3::text[]))::int AS r) y
         CROSS JOIN LATERAL (SELECT y.lead_id, y.r,
           CASE WHEN (i - 1) % $2 = 0 AND y.lead_id % 1000 < $11
             -- the lead's due row: it expires between the last run and now
             THEN $7::timestamptz - ($6::int[])[y.r] * interval '1 day' - (1 + i % 1200) * interval '1 minute'
             ELSE $7::timestamptz - ((i * 7919) % ($10::bigint * 1440)) * interval '1 minute' END AS at) x`,
          [
            options.leads,
            options.scoreRowsPerLead,
            expiring.map((rule) => rule.id),
            expiring.map((rule) => rule.category),
            expiring.map((rule) => rule.points),
            expiring.map((rule) => rule.expires_days ?? 0),
            now,
            ruleset.version,
            ruleset.timezone,
            options.maxAgeDays,
            Math.round(options.dueShare * 1000),
          ],
        ),
      );
      await timed(timings, 'leads', () =>
        withBulkLoad(
          db,
          'leads',
          async () => {
            await db.query(
              `INSERT INTO leads (id, email, first_name, last_name, company, title, organization_id, score, grade,
             thresholds, score_expires_at, primary_intent, intent_confidence, signals_active_until,
             first_touch_source, first_touch_at, last_touch_source, last_touch_at, last_activity_at,
             ruleset_version, created_at, updated_at)
           OVERRIDING SYSTEM VALUE
           SELECT i, ${leadEmailSql('i', '$2')}, 'Lead', 'Number ' || i, ($3::text[])[1 + i % $4],
             ($5::text[])[1 + i % cardinality($5::text[])], o.id, s.score,
             CASE WHEN s.score >= 80 THEN 'A' WHEN s.score >= 60 THEN 'B' WHEN s.score >= 40 THEN 'C'
                  WHEN s.score >= 20 THEN 'D' ELSE 'F' END,
             ARRAY(SELECT t.name FROM unnest($11::text[], $12::int[]) AS t(name, at_score)
                   WHERE s.score >= t.at_score ORDER BY t.at_score),
             s.expires_at,
             CASE WHEN i % $6 = 0 THEN $7 END, CASE WHEN i % $6 = 0 THEN 100 ELSE 0 END,
             CASE WHEN i % $6 = 0 THEN $8::timestamptz + interval '5 days' END,
             'google', $8::timestamptz - interval '120 days', 'website', $9::timestamptz, $9::timestamptz,
             $10, $8::timestamptz - interval '120 days', $9::timestamptz
           FROM generate_series(1::bigint, $1::bigint) AS i
           LEFT JOIN (
             SELECT lead_id, least(100, greatest(0, coalesce(sum(points), 0)))::int AS score,
               min(expires_at) AS expires_at
             FROM score_rows WHERE expires_at > $9 GROUP BY lead_id
           ) agg ON agg.lead_id = i
           CROSS JOIN LATERAL (SELECT coalesce(agg.score, 0) AS score, agg.expires_at) s
           LEFT JOIN organizations o ON o.domain = ($2::text[])[1 + i % $4]`,
              [
                options.leads,
                DOMAINS,
                DOMAINS.map((d) => COMPANY_BY_DOMAIN[d] ?? null),
                DOMAINS.length,
                TITLES,
                options.signalEvery,
                signalRule.intent,
                now,
                lastRun,
                ruleset.version,
                thresholds.map((t) => t.name),
                thresholds.map((t) => t.score),
              ],
            );
          },
          timings,
        ),
      );
    },
    timings,
  );
  await db.query(`SELECT setval(pg_get_serial_sequence('leads', 'id'), $1)`, [options.leads]);
  await timed(timings, 'identifiers', () =>
    db.query(`INSERT INTO lead_identifiers (kind, value, lead_id, created_at)
      SELECT 'email', email, id, created_at FROM leads ORDER BY email`),
  );
  await timed(timings, 'signals', () =>
    db.query(
      `INSERT INTO signals (lead_id, event_id, rule_id, intent, signal, weight, tier, occurred_at, decay_hours,
         ruleset_version)
       SELECT i, md5('sg' || i)::uuid, $3, $4, $5, $6, $7, $8::timestamptz - interval '2 days', $9, $10
       FROM generate_series($2::bigint, $1::bigint, $2::bigint) AS i`,
      [
        options.leads,
        options.signalEvery,
        signalRule.id,
        signalRule.intent,
        signalRule.signal,
        signalRule.weight,
        signalRule.tier,
        now,
        // Still decaying at `now`, so the lead's signals_active_until (now + 5 days) is honest.
        Math.max(signalRule.decay_hours, 24 * 7),
        ruleset.version,
      ],
    ),
  );
  // Autovacuum would otherwise wake up on the fresh rows in the middle of a measurement.
  await timed(timings, 'vacuumAnalyze', () =>
    db.query('VACUUM (ANALYZE) leads, lead_identifiers, organizations, score_rows, signals'),
  );
  return timings;
}
