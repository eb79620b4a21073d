/** The results table on stdout and the JSON file under bench/results/. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ScenarioResult } from './context.ts';
import { formatNumber } from './stats.ts';

export function formatTable(results: readonly ScenarioResult[]): string {
  const header = ['figure', 'value', 'unit', 'baseline', 'ratio', 'target', 'met', 'notes'];
  const rows = results.map((r) => [
    r.name,
    formatNumber(r.figure),
    r.unit,
    r.baseline === undefined ? '—' : formatNumber(r.baseline),
    r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`,
    r.target,
    r.met === null ? '—' : r.met ? 'met' : 'NOT MET',
    r.notes ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const numeric = new Set([1, 3, 4]);
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const width = i === cells.length - 1 ? 0 : (widths[i] ?? 0);
        return numeric.has(i) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

export async function writeResults(dir: string, payload: Record<string, unknown>): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${stamp}.json`);
  await writeFile(file, `${JSON.stringify(payload, null, 2)}\n`);
  return file;
}
