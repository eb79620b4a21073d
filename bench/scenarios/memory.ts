/**
 * Memory: the peak resident set of this process over the whole run (Leadline's runtimes plus the
 * small harness; the load generator runs in its own process and PostgreSQL in its own). Runs last,
 * so the peak covers every scenario before it.
 */
import type { Scenario, ScenarioResult } from '../context.ts';

const TARGET_MB = 250;

export const memory: Scenario = {
  name: 'memory',
  title: 'Memory: peak RSS of the Leadline process',
  run: async (ctx): Promise<ScenarioResult[]> => {
    const peakMb = process.resourceUsage().maxRSS / 1024;
    const heap = process.memoryUsage();
    // Where the peak came from: the scenario whose V8 heap grew most.
    const [worst, peak] =
      Object.entries(ctx.memoryPeaks).sort((a, b) => b[1].heapTotalMb - a[1].heapTotalMb)[0] ?? [];
    return [
      {
        name: 'peak RSS',
        figure: peakMb,
        unit: 'MB',
        target: `≤ ${TARGET_MB} MB`,
        met: peakMb <= TARGET_MB,
        notes:
          `now: rss ${Math.round(heap.rss / 1_048_576)} MB, heap used ${Math.round(heap.heapUsed / 1_048_576)} MB` +
          (peak === undefined
            ? ''
            : `; largest during ${worst}: rss ${peak.rssMb} MB, V8 heap total ${peak.heapTotalMb} MB (used ≤ ${peak.heapUsedMb} MB)`),
        details: { peaks: ctx.memoryPeaks },
      },
    ];
  },
};
