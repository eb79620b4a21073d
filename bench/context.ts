/**
 * What every scenario gets: run sizes, the benchmark's PostgreSQL server, a way to create a fresh
 * database and start Leadline on it, and the results so far (later scenarios read baselines from
 * earlier ones). Scenario files depend on this module only, so adding one means one new file plus a
 * line in scenarios/index.ts.
 */
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { databaseUrl } from '../src/db/embedded.ts';
import type { Ruleset } from '../src/engine/ruleset.ts';
import type { Logger } from '../src/log.ts';
import { type Runtime, startRuntime } from '../src/runtime.ts';
import type { MemoryPeak } from './machine.ts';
import { SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET } from './slack-side.ts';

export interface ScenarioResult {
  name: string;
  figure: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  /** Human-readable target, e.g. "≥ 1.5× baseline"; "reference" for baselines. */
  target: string;
  /** null for reference figures that have no target. */
  met: boolean | null;
  notes?: string;
  details?: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<ScenarioResult[]>;
}

/** Every size and duration in one place; `--quick` shrinks them to finish in under two minutes. */
export interface Sizes {
  senders: number;
  requestsPerSender: number;
  insertSeconds: number;
  bossJobs: number;
  engineLeads: number;
  engineWarmupSeconds: number;
  engineSeconds: number;
  decayLeads: number;
  decayRowsPerLead: number;
  decayIdleSeconds: number;
  decayMaxSeconds: number;
  decayIngestRate: number;
  /** Speed to lead: hot leads sent one at a time, this far apart, under a paced ordinary load. */
  hotLeads: number;
  hotSpacingMs: number;
  hotBackgroundRate: number;
  /** Slack acknowledgement: seeded leads, requests per kind and concurrent senders. */
  ackLeads: number;
  ackRequests: number;
  ackConcurrency: number;
  /** Bulk: CSV rows imported, and how long to wait for them to be processed before extrapolating. */
  bulkRows: number;
  bulkMaxSeconds: number;
}

export function sizesFor(quick: boolean): Sizes {
  return quick
    ? {
        senders: 50,
        requestsPerSender: 60,
        insertSeconds: 5,
        bossJobs: 20_000,
        engineLeads: 10_000,
        engineWarmupSeconds: 2,
        engineSeconds: 10,
        decayLeads: 100_000,
        decayRowsPerLead: 10,
        decayIdleSeconds: 5,
        decayMaxSeconds: 60,
        decayIngestRate: 200,
        hotLeads: 50,
        hotSpacingMs: 1_200,
        hotBackgroundRate: 200,
        ackLeads: 100_000,
        ackRequests: 300,
        ackConcurrency: 10,
        bulkRows: 20_000,
        bulkMaxSeconds: 90,
      }
    : {
        senders: 50,
        requestsPerSender: 300,
        insertSeconds: 10,
        bossJobs: 60_000,
        engineLeads: 100_000,
        engineWarmupSeconds: 5,
        engineSeconds: 60,
        decayLeads: 1_000_000,
        decayRowsPerLead: 10,
        decayIdleSeconds: 10,
        decayMaxSeconds: 120,
        decayIngestRate: 200,
        hotLeads: 200,
        hotSpacingMs: 1_200,
        hotBackgroundRate: 200,
        ackLeads: 1_000_000,
        ackRequests: 500,
        ackConcurrency: 10,
        bulkRows: 100_000,
        bulkMaxSeconds: 180,
      };
}

export interface BenchContext {
  quick: boolean;
  seed: number;
  sizes: Sizes;
  /** Connection string of the server's `postgres` database. */
  serverUrl: string;
  tmpDir: string;
  /** Leadline's own log lines (info level, as in production) go here instead of stdout. */
  logFile: string;
  log: Logger;
  ruleset: Ruleset;
  rulesetText: string;
  /** The `website` source's Standard Webhooks secret. */
  secret: string;
  results: ScenarioResult[];
  /** Peak memory components per scenario run so far (filled by run.ts). */
  memoryPeaks: Record<string, MemoryPeak>;
  progress(message: string): void;
  /** A figure measured earlier in this run, by result name. */
  figure(name: string): number | undefined;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  startLeadline(options: LeadlineOptions): Promise<Runtime>;
}

export interface LeadlineOptions {
  databaseUrl: string;
  role: 'all' | 'web' | 'worker';
  /** Turns Slack on against this Web API base (a fake on 127.0.0.1), with the bench's token and secret. */
  slackApiUrl?: string;
  /** Turns `POST /imports` on with this bearer token. */
  importToken?: string;
}


export const WEBSITE_SECRET = `whsec_${Buffer.from('leadline-benchmark-website-key!').toString('base64')}`;

/** Same options as src/log.ts (level, redaction), written asynchronously to a file. */
export function fileLogger(file: string): Logger {
  return pino(
    {
      level: 'info',
      base: { service: 'leadline' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['secret', '*.secret', 'password', '*.password', 'databaseUrl'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: file, sync: false, mkdir: true }),
  );
}

const TUNABLE = /^LEADLINE_(WORKER_|DB_POOL_MAX$|SHUTDOWN_TIMEOUT_MS$)/;

/** The LEADLINE_* tuning variables set in this process's environment. */
export function tuningEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => {
      const [key, value] = entry;
      return TUNABLE.test(key) && value !== undefined;
    }),
  );
}

export function createContext(input: {
  quick: boolean;
  seed: number;
  serverUrl: string;
  tmpDir: string;
  logFile: string;
  ruleset: Ruleset;
  rulesetText: string;
}): BenchContext {
  const started = performance.now();
  const log = fileLogger(input.logFile);
  const results: ScenarioResult[] = [];
  return {
    ...input,
    sizes: sizesFor(input.quick),
    log,
    secret: WEBSITE_SECRET,
    results,
    memoryPeaks: {},
    progress: (message) => {
      const at = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
      console.log(`[${at}s] ${message}`);
    },
    figure: (name) => results.find((result) => result.name === name)?.figure,
    createDatabase: async (name) => {
      const client = new pg.Client({ connectionString: input.serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return databaseUrl(input.serverUrl, name);
    },
    startLeadline: ({ databaseUrl: url, role, slackApiUrl, importToken }) => {
      const config = loadConfig(
        {
          // Tuning knobs from the caller's environment (LEADLINE_WORKER_CONCURRENCY=4 npm run bench …),
          // so configurations can be compared; what the benchmark controls is set after them.
          ...tuningEnv(),
          DATABASE_URL: url,
          HOST: '127.0.0.1',
          PORT: '0',
          LEADLINE_ROLE: role,
          LEADLINE_DATA_DIR: input.tmpDir,
          LOG_LEVEL: 'info',
          ...(slackApiUrl === undefined
            ? {}
            : {
                SLACK_BOT_TOKEN,
                SLACK_SIGNING_SECRET,
                SLACK_API_URL: slackApiUrl,
                SLACK_TIMEOUT_MS: '5000',
              }),
          ...(importToken === undefined ? {} : { LEADLINE_IMPORT_TOKEN: importToken }),
        },
        input.tmpDir,
      );
      return startRuntime({
        config,
        ruleset: input.ruleset,
        rulesetText: input.rulesetText,
        log,
        env: { LEADLINE_SECRET_WEBSITE: WEBSITE_SECRET },
        // Cron would fire a decay run in the middle of a measurement; the decay scenario runs it itself.
        schedules: false,
      });
    },
  };
}
