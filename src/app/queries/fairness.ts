import { type Queryable, run } from '../../db/pool.ts';
import { selectRotationCounts } from '../../db/sql/digest.ts';
import { fairness, type FairnessRow } from '../../engine/fairness.ts';
import type { Ruleset } from '../../engine/ruleset.ts';

/**
 * Rotation fairness over `[from, to)`: for the Home tab (this week) and the digest (the day).
 *
 * @example
 * const rows = await loadFairness(pool, ruleset, weekStart, now);
 */
export async function loadFairness(
  db: Queryable,
  ruleset: Ruleset,
  from: Date,
  to: Date,
): Promise<FairnessRow[]> {
  const counts = await run(
    db,
    selectRotationCounts(from, to),
  );
  return fairness(ruleset, counts);
}
