import type { Hono } from 'hono';
import { createApp } from '../../src/http/app.ts';
import type { AppEnv } from '../../src/http/env.ts';
import type { WebhookSource } from '../../src/http/sources.ts';
import { type Boss, startBoss } from '../../src/jobs/boss.ts';
import { IntakeWriter, type IntakeWriterOptions } from '../../src/app/intake/intake-writer.ts';
import { createQueues } from '../../src/jobs/registry.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export const TEST_SECRETS = {
  website: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  hubspot: 'hubspot-client-secret-7f3a',
  calendly: 'calendly-signing-key-91b2',
  typeform: 'typeform-secret-55c1',
  lemlist: 'lemlist-shared-secret-0d9e',
  moco: '0123456789abcdef0123456789abcdef',
  rb2b: 'rb2b-url-token-3e7f9a1c',
} as const;

/** One source per signing scheme, with known secrets. */
export function testSources(): Map<string, WebhookSource> {
  const open = { rateLimit: null, onInvalid: 'refuse' } as const;
  const list: WebhookSource[] = [
    { name: 'website', scheme: 'standard', format: 'native', secret: TEST_SECRETS.website, secretEnv: null, ...open },
    { name: 'hubspot', scheme: 'hubspot-v3', format: 'hubspot', secret: TEST_SECRETS.hubspot, secretEnv: null, ...open },
    { name: 'calendly', scheme: 'calendly', format: 'calendly', secret: TEST_SECRETS.calendly, secretEnv: null, ...open },
    { name: 'typeform', scheme: 'typeform', format: 'typeform', secret: TEST_SECRETS.typeform, secretEnv: null, ...open },
    { name: 'lemlist', scheme: 'lemlist', format: 'lemlist', secret: TEST_SECRETS.lemlist, secretEnv: null, ...open },
    { name: 'moco', scheme: 'moco', format: 'moco', secret: TEST_SECRETS.moco, secretEnv: null, ...open },
    // RB2B switches an integration off after one 4xx: what it sends and Leadline cannot read is parked.
    { name: 'rb2b', scheme: 'url-token', format: 'native', secret: TEST_SECRETS.rb2b, secretEnv: null, rateLimit: null, onInvalid: 'park' },
    { name: 'unconfigured', scheme: 'standard', format: 'native', secret: null, secretEnv: 'NOT_SET', ...open },
  ];
  return new Map(list.map((source) => [source.name, source]));
}

export interface TestApp {
  app: Hono<AppEnv>;
  db: TestDatabase;
  boss: Boss;
  intake: IntakeWriter;
  /** Jobs waiting in the processing queue (no worker runs in these tests). */
  queuedJobs(): Promise<number>;
  intakeRows(): Promise<number>;
  stop(): Promise<void>;
}

/** The HTTP app on a fresh database with a real job queue and no workers. */
export async function createTestApp(
  options: { now?: () => Date; intake?: IntakeWriterOptions; sources?: Map<string, WebhookSource> } = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const log = createLogger('silent');
  const boss = await startBoss(db.url, log, { supervise: false });
  await createQueues(boss);
  const intake = new IntakeWriter(db.pool, boss, options.intake);
  const app = createApp({
    pool: db.pool,
    probeQueue: () => boss.getDb().executeSql('SELECT 1'),
    intake,
    sources: options.sources ?? testSources(),
    log,
    metrics: createMetrics({ defaults: false }),
    importToken: 'test-import-token-0123456789',
    now: options.now ?? (() => new Date()),
    isShuttingDown: () => false,
  });
  const count = async (sql: string) => (await db.pool.query<{ n: number }>(sql)).rows[0]!.n;
  return {
    app,
    db,
    boss,
    intake,
    queuedJobs: () => count(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'process-events'`),
    intakeRows: () => count('SELECT count(*)::int AS n FROM intake_events'),
    stop: async () => {
      await boss.stop({ graceful: false, close: true });
      await db.drop();
    },
  };
}
