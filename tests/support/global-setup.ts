import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { databaseUrl, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import { startBoss } from '../../src/jobs/boss.ts';
import { createLogger } from '../../src/log.ts';

export const TEMPLATE_DB = 'leadline_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
  }
}

/**
 * One real PostgreSQL server per test run, with a migrated template database (Leadline's schema and
 * pg-boss's) that each test file clones in milliseconds.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'leadline-test-pg-'));
  const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), ephemeral: true });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();

  const templateUrl = databaseUrl(server.url, TEMPLATE_DB);
  const pool = createPool(templateUrl, 2);
  await migrate(pool);
  await pool.end();
  const boss = await startBoss(templateUrl, createLogger('silent'), { supervise: false });
  await boss.stop({ graceful: false, close: true });

  project.provide('pgServerUrl', server.url);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
