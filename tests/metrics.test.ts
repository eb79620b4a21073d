import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, registerDatabaseGauges } from '../src/metrics.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

// The Grafana dashboard in docs/ is only useful while every series it plots exists.
describe('the Grafana dashboard', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('plots only metrics Leadline registers', async () => {
    const metrics = createMetrics();
    registerDatabaseGauges(metrics, db.pool);
    const registered = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const dashboard = JSON.parse(await readFile(path.resolve(import.meta.dirname, '../docs/grafana-leadline.json'), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const plotted = new Set(
      dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/leadline_[a-z_]+/g) ?? [])).map((name) => name.replace(/_bucket$/, '')),
    );
    expect(plotted.size).toBeGreaterThan(10);
    expect([...plotted].filter((name) => !registered.has(name))).toEqual([]);
  });
});
