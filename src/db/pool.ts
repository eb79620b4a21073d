import pg from 'pg';

/**
 * A statement as data: SQL text plus its parameters. Every module's SQL is built this way; a builder
 * that returns rows says which (`Sql<LeadRow>`), so `run` infers them.
 */
export interface Sql<Row extends pg.QueryResultRow = pg.QueryResultRow> {
  text: string;
  values: unknown[];
  /**
   * Never set: carries the type of the rows the statement returns. Method syntax keeps it bivariant,
   * so a builder without a row type still runs where the caller names one.
   */
  __row?(row: Row): void;
}

/** The one tiny interface SQL runs through: a pool, a client, or a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

/**
 * Runs one statement built as `{text, values}`.
 *
 * @example
 * const leads = await run(tx, lockLeads([42])); // LeadRow[]: the builder's row type
 */
export async function run<R extends pg.QueryResultRow = pg.QueryResultRow>(
  db: Queryable,
  sql: Sql<R>,
): Promise<R[]> {
  const result = await db.query<R>(sql.text, sql.values);
  return result.rows;
}

/**
 * Runs one statement as a named prepared statement: PostgreSQL plans it once per connection.
 * The name must always stand for the same text.
 */
export async function runPrepared<R extends pg.QueryResultRow = pg.QueryResultRow>(
  db: pg.Pool | pg.PoolClient,
  name: string,
  sql: Sql,
): Promise<R[]> {
  return (await db.query<R>({ name, text: sql.text, values: sql.values })).rows;
}

/**
 * Runs one statement and answers how many rows it touched (for statements without RETURNING).
 *
 * @example
 * const deleted = await runCount(tx, deleteNotesOf(42));
 */
export async function runCount(db: Queryable, sql: Sql): Promise<number> {
  return (await db.query(sql.text, sql.values)).rowCount ?? 0;
}

/** Answers when the database does (readiness probes). */
export async function ping(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}

/**
 * Runs `work` inside a SAVEPOINT of the open transaction: released when `work` resolves, rolled back
 * to (then released) when it throws, and the error goes on to the caller. A failed rollback (the
 * connection is gone) leaves the original error to report.
 *
 * @example
 * try { await withSavepoint(tx, 'automation_action', () => execute(action)); } catch { ... }
 */
export async function withSavepoint<T>(tx: Queryable, name: string, work: () => Promise<T>): Promise<T> {
  await tx.query(`SAVEPOINT ${name}`);
  let result: T;
  try {
    result = await work();
  } catch (err) {
    try {
      await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
      await tx.query(`RELEASE SAVEPOINT ${name}`);
    } catch {
      // the transaction is lost anyway; the caller sees why it failed in the first place
    }
    throw err;
  }
  await tx.query(`RELEASE SAVEPOINT ${name}`);
  return result;
}

// timestamptz arrives as Date (pg default); bigint (int8) as string would surprise callers
// counting rows, and ids above 2^53 never occur in Leadline's sequences.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number.parseFloat(value));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** Creates the process's connection pool. */
export function createPool(connectionString: string, max = 20, applicationName = 'leadline'): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: applicationName,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (server restart) must not crash the process;
  // the pool drops it and the next checkout reconnects.
  pool.on('error', () => {});
  return pool;
}

const guarded = new WeakSet<pg.PoolClient>();

// A connection that drops while checked out (or while being discarded) is reported as an 'error'
// event on the client. The statement in flight fails with it anyway, so the event itself must not
// crash the process. Attached once per client, which the pool reuses.
function guardClient(client: pg.PoolClient): void {
  if (guarded.has(client)) return;
  guarded.add(client);
  client.on('error', () => {});
}

/**
 * Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws.
 *
 * @example
 * await withTransaction(pool, async (tx) => { await run(tx, insertA); await run(tx, insertB); });
 */
export async function withTransaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  guardClient(client);
  let broken = false;
  try {
    await client.query('BEGIN');
    notes.set(client, new Map());
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    notes.delete(client);
    // A connection whose rollback failed is in an unknown state: destroy it instead of reusing it.
    client.release(broken);
  }
}

// What the transaction running on a connection has taken so far; dropped when it ends.
const notes = new WeakMap<pg.PoolClient, Map<string, unknown>>();

/**
 * A value kept for the rest of `tx`'s transaction (made by `init` on first use), such as the
 * assignment ledgers it has locked. Outside withTransaction it lives only for this call.
 *
 * @example
 * const held = transactionNote(tx, 'ledgers', () => new Set<string>());
 */
export function transactionNote<T>(tx: pg.PoolClient, key: string, init: () => T): T {
  const map = notes.get(tx);
  if (map === undefined) return init();
  if (!map.has(key)) map.set(key, init());
  return map.get(key) as T;
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  '57P01', // admin_shutdown (server terminated the connection)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

// Serialization failure, deadlock, lock timeout: the work was right, its moment was not.
const LOCK_CONFLICT_CODES = new Set(['40001', '40P01', '55P03']);

/** True when `err` is a transaction that lost a lock conflict (try it again later, as it was). */
export function isLockConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && LOCK_CONFLICT_CODES.has(code);
}

/** True when `err` means the database could not be reached, as opposed to a bad statement. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(
    err.message,
  );
}
