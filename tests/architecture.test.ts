import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ENGINE = path.resolve(import.meta.dirname, '../src/engine');

// dependency-cruiser (`npm run deps`) guards imports; this guards what imports cannot show:
// the engine reads no clock and no randomness of its own, so every decision is reproducible.
const FORBIDDEN: [RegExp, string][] = [
  [/\bDate\.now\s*\(/, 'Date.now()'],
  [/new Date\(\s*\)/, 'new Date() without an argument'],
  [/\bMath\.random\s*\(/, 'Math.random()'],
  [/\bperformance\.now\s*\(/, 'performance.now()'],
  [/\bfetch\s*\(/, 'fetch()'],
  [/\bprocess\.(env|argv|exit)\b/, 'process globals'],
  [/\bsetTimeout\s*\(|\bsetInterval\s*\(/, 'timers'],
];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(full);
      return Promise.resolve(entry.name.endsWith('.ts') ? [full] : []);
    }),
  );
  return nested.flat();
}

describe('src/engine stays pure', () => {
  it('calls no clock, randomness, network, timers or process globals', async () => {
    const offences: string[] = [];
    for (const file of await sourceFiles(ENGINE)) {
      const text = (await readFile(file, 'utf8')).replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
      for (const [pattern, what] of FORBIDDEN) {
        if (pattern.test(text)) offences.push(`${path.relative(ENGINE, file)}: ${what}`);
      }
    }
    expect(offences).toEqual([]);
  });
});
