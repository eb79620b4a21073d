import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { formatIssues, LeadlineError } from './errors.ts';

/** The ruleset Leadline ships with; `LEADLINE_RULES` replaces it. */
export const DEFAULT_RULES_PATH = fileURLToPath(new URL('../rules/default.yml', import.meta.url));

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  // Worker processes serve /healthz, /readyz and /metrics only when given a port of their own, so
  // a worker beside a web process on one host never takes the web's PORT.
  LEADLINE_WORKER_PORT: port.optional(),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  LEADLINE_DATA_DIR: z.string().min(1).default('./.data'),
  LEADLINE_RULES: z.string().min(1).optional(),
  // 1: a change of the ruleset file reloads it, as SIGHUP does.
  LEADLINE_RULES_WATCH: z.enum(['0', '1']).default('0'),
  LEADLINE_ROLE: z.enum(['all', 'web', 'worker']).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LEADLINE_DECAY_CRON: z.string().min(1).default('0 2 * * *'),
  LEADLINE_SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  LEADLINE_DB_POOL_MAX: positiveInt.default(20),
  LEADLINE_WORKER_BATCH: positiveInt.max(1000).default(200),
  // A batch alternates between the engine's JavaScript and PostgreSQL round trips: with four in
  // flight, both cores stay busy while batches wait on each other.
  LEADLINE_WORKER_CONCURRENCY: positiveInt.max(32).default(4),
  // How long routing decisions, assignment history and the audit log are kept.
  LEADLINE_AUDIT_DAYS: positiveInt.max(3650).default(400),
  LEADLINE_IMPORT_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'must be a bot token (xoxb-…)').optional(),
  SLACK_SIGNING_SECRET: z.string().min(16, 'must be the app signing secret').optional(),
  SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'must be an app-level token (xapp-…)').optional(),
  SLACK_BOT_USER_ID: z
    .string()
    .regex(/^[UW][A-Z0-9]+$/, 'must be a Slack user id')
    .optional(),
  SLACK_API_URL: z.url({ protocol: /^https?$/ }).default('https://slack.com/api/'),
  SLACK_TIMEOUT_MS: positiveInt.default(10_000),
  OPENAI_API_KEY: z.string().min(20, 'must be an OpenAI API key (sk-…)').optional(),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.openai.com/v1'),
  OPENAI_MODEL: z.string().trim().min(1).max(100).default('gpt-4o-mini'),
  OPENAI_TIMEOUT_MS: positiveInt.max(120_000).default(20_000),
  MOCO_API_KEY: z.string().trim().min(16, 'must be a MOCO API key').optional(),
  MOCO_SUBDOMAIN: z
    .string()
    .trim()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i, 'must be the subdomain alone (acme for acme.mocoapp.com)')
    .optional(),
  MOCO_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  // Requests per two minutes for the whole MOCO account, shared by every Leadline process.
  MOCO_RATE_LIMIT: positiveInt.max(10_000).default(120),
  MOCO_TIMEOUT_MS: positiveInt.max(120_000).default(15_000),
});

export interface OpenAiConfig {
  apiKey: string;
  baseUrl: string;
  model: string;
  timeoutMs: number;
}

export interface MocoConfig {
  apiKey: string;
  /** `MOCO_API_URL`, else `https://{MOCO_SUBDOMAIN}.mocoapp.com/api/v1`; never ends with `/`. */
  baseUrl: string;
  /** Requests per two minutes for the account, shared by every Leadline process. */
  rateLimit: number;
  timeoutMs: number;
}

export interface SlackConfig {
  botToken: string;
  signingSecret: string;
  apiUrl: string;
  appToken?: string;
  botUserId?: string;
  timeoutMs: number;
}

export interface Config {
  port: number;
  host: string;
  /** Days decisions and the audit log are kept before the hourly upkeep deletes them. */
  auditDays: number;
  /** Where a `worker`-role process serves its probes and metrics; null: it serves no HTTP. */
  workerPort: number | null;
  databaseUrl: string | undefined;
  dataDir: string;
  rulesPath: string;
  /** Reload the ruleset when its file changes (SIGHUP always does). */
  rulesWatch: boolean;
  role: 'all' | 'web' | 'worker';
  logLevel: string;
  decayCron: string;
  shutdownTimeoutMs: number;
  dbPoolMax: number;
  workerBatch: number;
  workerConcurrency: number;
  importToken: string | null;
  /** Set when both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are; Leadline runs without Slack otherwise. */
  slack: SlackConfig | undefined;
  /** Set when OPENAI_API_KEY is; free text is not classified otherwise (it would leave the house). */
  openai: OpenAiConfig | undefined;
  /** Set when MOCO_API_KEY and MOCO_SUBDOMAIN (or MOCO_API_URL) are; nothing is sent to MOCO otherwise. */
  moco: MocoConfig | undefined;
}

/**
 * Reads Leadline's configuration from the environment, after loading `.env` when one exists.
 * A bad value throws `config_invalid` naming the variable and the reason; values are never echoed,
 * so a mistyped secret cannot leak into logs.
 *
 * @example
 * const config = loadConfig(process.env); // { port: 3000, dataDir: './.data', ... }
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const parsed = envSchema.safeParse(withoutBlanks(env));
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues);
    throw new LeadlineError(
      'config_invalid',
      `invalid configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      { issues },
    );
  }
  const e = parsed.data;
  const moco = mocoConfig(e);
  return {
    port: e.PORT,
    host: e.HOST,
    workerPort: e.LEADLINE_WORKER_PORT ?? null,
    auditDays: e.LEADLINE_AUDIT_DAYS,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(cwd, e.LEADLINE_DATA_DIR),
    rulesPath: e.LEADLINE_RULES === undefined ? DEFAULT_RULES_PATH : path.resolve(cwd, e.LEADLINE_RULES),
    rulesWatch: e.LEADLINE_RULES_WATCH === '1',
    role: e.LEADLINE_ROLE,
    logLevel: e.LOG_LEVEL,
    decayCron: e.LEADLINE_DECAY_CRON,
    shutdownTimeoutMs: e.LEADLINE_SHUTDOWN_TIMEOUT_MS,
    dbPoolMax: e.LEADLINE_DB_POOL_MAX,
    workerBatch: e.LEADLINE_WORKER_BATCH,
    workerConcurrency: e.LEADLINE_WORKER_CONCURRENCY,
    importToken: e.LEADLINE_IMPORT_TOKEN ?? null,
    openai:
      e.OPENAI_API_KEY === undefined
        ? undefined
        : { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL, model: e.OPENAI_MODEL, timeoutMs: e.OPENAI_TIMEOUT_MS },
    moco,
    slack:
      e.SLACK_BOT_TOKEN === undefined || e.SLACK_SIGNING_SECRET === undefined
        ? undefined
        : {
            botToken: e.SLACK_BOT_TOKEN,
            signingSecret: e.SLACK_SIGNING_SECRET,
            apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
            ...(e.SLACK_APP_TOKEN === undefined ? {} : { appToken: e.SLACK_APP_TOKEN }),
            ...(e.SLACK_BOT_USER_ID === undefined ? {} : { botUserId: e.SLACK_BOT_USER_ID }),
            timeoutMs: e.SLACK_TIMEOUT_MS,
          },
  };
}

// A key with nowhere to send it is a mistake worth stopping for: the admin meant to switch MOCO on.
function mocoConfig(e: z.infer<typeof envSchema>): MocoConfig | undefined {
  if (e.MOCO_API_KEY === undefined) return undefined;
  const apiUrl =
    e.MOCO_API_URL ??
    (e.MOCO_SUBDOMAIN === undefined ? undefined : `https://${e.MOCO_SUBDOMAIN}.mocoapp.com/api/v1`);
  if (apiUrl === undefined) {
    const issue = { path: 'MOCO_SUBDOMAIN', message: 'required with MOCO_API_KEY (or set MOCO_API_URL)' };
    throw new LeadlineError('config_invalid', `invalid configuration: ${issue.path}: ${issue.message}`, {
      issues: [issue],
    });
  }
  return {
    apiKey: e.MOCO_API_KEY,
    baseUrl: apiUrl.replace(/\/+$/, ''),
    rateLimit: e.MOCO_RATE_LIMIT,
    timeoutMs: e.MOCO_TIMEOUT_MS,
  };
}

/** Loads `.env` from `cwd` into `process.env` when present; real environment variables win. */
export function loadDotEnv(cwd = process.cwd()): void {
  const file = path.join(cwd, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

// An empty variable (`PORT=`) means "use the default", as most twelve-factor tools treat it.
function withoutBlanks(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') out[key] = value;
  }
  return out;
}
