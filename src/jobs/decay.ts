import { z } from 'zod';
import { run, withTransaction } from '../db/pool.ts';
import { lockDueLeads } from '../db/sql/decay.ts';
import { leadTriggers, type TriggerInstance } from '../engine/automation.ts';
import { recomputeLead } from '../engine/lead-processor.ts';
import { runAutomation } from './automation-step.ts';
import { defineJob, type JobContext } from './job.ts';
import { loadLeadStates, OutcomeWriter } from './lead-store.ts';
import { DECAY_QUEUE } from './queues.ts';

export interface DecaySummary {
  leads: number;
  changes: number;
  chunks: number;
}

/**
 * Expires points and decays intent signals for every lead that has something due, in chunks of
 * `chunkSize` leads, each chunk its own short transaction, so no lock is held for long and event
 * processing carries on meanwhile. Grade, threshold and intent changes are recorded as lead changes
 * for routing and automation.
 */
export async function runDecay(ctx: JobContext, chunkSize = 2_000, slot?: string): Promise<DecaySummary> {
  const now = ctx.now();
  const causeId = `decay:${slot ?? now.toISOString()}`;
  const summary: DecaySummary = { leads: 0, changes: 0, chunks: 0 };
  let afterId = 0;
  for (;;) {
    const chunk = await withTransaction(ctx.pool, async (tx) => {
      const ids = (await run<{ id: number }>(tx, lockDueLeads(afterId, now, chunkSize))).map((row) => row.id);
      if (ids.length === 0) return null;
      const states = await loadLeadStates(tx, ids, now, { lock: false, awards: false });
      const writer = new OutcomeWriter();
      const triggered: { leadId: number; triggers: TriggerInstance[] }[] = [];
      for (const id of ids) {
        const before = states.get(id)!;
        const outcome = recomputeLead(before, ctx.ruleset, now);
        writer.add(id, outcome, null);
        // Crossings down and intent shifts from decay reach automation like any other change.
        const triggers = leadTriggers({
          leadId: String(id),
          causeId,
          changes: outcome.changes,
          before,
          after: outcome.state,
        });
        if (triggers.length > 0) triggered.push({ leadId: id, triggers });
      }
      await writer.write(tx, now);
      if (triggered.length > 0) await runAutomation(tx, ctx, triggered, now);
      return { lastId: ids.at(-1)!, leads: ids.length, changes: writer.changeCount };
    });
    if (chunk === null) break;
    // Let webhooks and Slack acks served by this process run between chunks.
    await new Promise((resolve) => setImmediate(resolve));
    afterId = chunk.lastId;
    summary.leads += chunk.leads;
    summary.changes += chunk.changes;
    summary.chunks += 1;
  }
  return summary;
}

export const decayJob = defineJob({
  name: DECAY_QUEUE,
  payload: z.object({ slot: z.string().min(1).optional() }),
  queue: { retryLimit: 3, retryDelay: 60, expireInSeconds: 3_600 },
  work: { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 5 },
  handler: async (jobs, ctx) => {
    const started = performance.now();
    const summary = await runDecay(ctx, 2_000, jobs[0]?.data.slot);
    ctx.log.info(
      { ...summary, slot: jobs[0]?.data.slot, ms: Math.round(performance.now() - started) },
      'decay run',
    );
  },
});
