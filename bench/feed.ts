/**
 * Feeds events straight into intake (no HTTP): wire events are mapped and keyed exactly as the
 * webhook route does (mapPayload + toIntakeItems) and stored through Leadline's IntakeWriter, so
 * the engine sees the same rows and jobs a real delivery produces.
 */
import type { Pool } from '../src/db/pool.ts';
import { mapPayload } from '../src/engine/mappers/index.ts';
import { toIntakeItems } from '../src/app/intake/read-delivery.ts';
import type { Boss } from '../src/jobs/boss.ts';
import { type IntakeItem, IntakeWriter } from '../src/app/intake/intake-writer.ts';
import { wireEvent } from './dataset.ts';
import { deriveSeed, intBetween, mulberry32 } from './rng.ts';

const SOURCE = { name: 'website', scheme: 'standard' as const };
const NO_HEADERS = { get: () => null };
const WRITE_SIZE = 1_000;

export interface FeedPlan {
  seed: number;
  tag: string;
  /** Existing lead numbers are 1..leadRange; `newLeadShare` of events name a lead never seen. */
  leadRange: number;
  newLeadShare: number;
}

export function intakeItems(plan: FeedPlan, from: number, count: number, now: Date): IntakeItem[] {
  const rng = mulberry32(deriveSeed(plan.seed, plan.tag, from));
  const items: IntakeItem[] = [];
  for (let i = from; i < from + count; i++) {
    const id = `${plan.tag}-${i}`;
    const n = rng() < plan.newLeadShare ? plan.leadRange + 1 + i : intBetween(rng, 1, plan.leadRange + 1);
    const body = wireEvent(rng, id, n, now, intBetween(rng, 0, 3_600_000));
    const raw = Buffer.from(JSON.stringify(body));
    const mapped = mapPayload('native', body, { source: SOURCE.name, receivedAt: now, headers: NO_HEADERS });
    if (!mapped.ok) throw new Error(`generated event does not map: ${JSON.stringify(mapped.issues)}`);
    items.push(...toIntakeItems(SOURCE, mapped.events, body, raw, id, now));
  }
  return items;
}

/** Stores `count` events (numbered from `from`) with a few writes in flight; resolves when committed. */
export async function feedEvents(
  pool: Pool,
  boss: Boss,
  plan: FeedPlan,
  from: number,
  count: number,
): Promise<void> {
  const writer = new IntakeWriter(pool, boss);
  const writes: Promise<unknown>[] = [];
  for (let offset = 0; offset < count; offset += WRITE_SIZE) {
    writes.push(
      writer.write(intakeItems(plan, from + offset, Math.min(WRITE_SIZE, count - offset), new Date())),
    );
    // Bounded memory: at most four chunks generated ahead of the commits.
    if (writes.length >= 4) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
}
