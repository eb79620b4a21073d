import { createHash, randomUUID } from 'node:crypto';
import type { Pool, Sql } from '../../db/pool.ts';
import { run, runPrepared, withTransaction } from '../../db/pool.ts';
import { captureJobInsert, jobInsertCtes } from '../../db/boss-insert.ts';
import {
  type IntakeRowInput,
  insertIntakeRows,
  intakeCommitStatement,
  selectIntakeIds,
} from '../../db/sql/intake.ts';
import type { JobQueue } from '../../db/job-queue.ts';
import { inTransaction } from '../../db/job-queue.ts';
import { LeadlineError } from '../../errors.ts';
import { PROCESS_EVENTS_QUEUE, PROCESS_URGENT_EVENTS_QUEUE } from '../queues.ts';

// A value the database refuses (SQLSTATE class 22/23), or a row that could not even be built (a
// value JSON.stringify cannot write): a fault of one request, not of the database.
export function isRequestFault(err: unknown): boolean {
  if (err instanceof RangeError || err instanceof TypeError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Lane 0 is the ordinary queue, lane 1 the urgent one (see `isUrgentEvent`).
const LANES = [PROCESS_EVENTS_QUEUE, PROCESS_URGENT_EVENTS_QUEUE] as const;

type LaneRow = IntakeRowInput & { lane: number };

interface CommitStatement {
  name: string;
  build: (rows: readonly LaneRow[]) => Sql;
}

interface Stored {
  insertedIds: Set<string>;
  existing: { id: string; source: string; external_id: string }[];
}

export type IntakeItem = Omit<IntakeRowInput, 'id'>;

export interface IntakeOutcome {
  id: string;
  duplicate: boolean;
}

interface PendingRequest {
  items: IntakeItem[];
  resolve: (outcomes: IntakeOutcome[]) => void;
  reject: (err: unknown) => void;
}

export interface IntakeWriterOptions {
  /** Most rows one commit carries. */
  maxBatchRows?: number;
  /** Commits in flight at once; requests arriving meanwhile wait and share the next commit. */
  maxInFlight?: number;
  /** Rows waiting before a commit starts alongside one already running. */
  minRowsForParallel?: number;
  /** Events to process in the urgent lane (see `isUrgentEvent`); none by default. */
  urgent?: (item: IntakeItem) => boolean;
}

/**
 * Durable intake with group commit. Every request's rows and their processing jobs are committed
 * before its promise resolves, so a 202 is only ever sent for stored events. Requests arriving while
 * a commit is in flight share the next one: under load, one fsync acknowledges many webhooks.
 *
 * @example
 * const [outcome] = await writer.write([{ source: 'website', externalId: 'evt_1', ... }]);
 * outcome.duplicate // false the first time, true for every repeat of evt_1
 */
export class IntakeWriter {
  readonly #pool: Pool;
  readonly #boss: JobQueue;
  readonly #maxBatchRows: number;
  readonly #maxInFlight: number;
  readonly #minRowsForParallel: number;
  readonly #urgent: (item: IntakeItem) => boolean;
  #pending: PendingRequest[] = [];
  #inFlight = 0;
  #idle: (() => void)[] = [];
  #statement: Promise<CommitStatement | null> | null = null;

  constructor(pool: Pool, boss: JobQueue, options: IntakeWriterOptions = {}) {
    this.#pool = pool;
    this.#boss = boss;
    this.#maxBatchRows = options.maxBatchRows ?? 5_000;
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#minRowsForParallel = options.minRowsForParallel ?? 32;
    this.#urgent = options.urgent ?? (() => false);
  }

  /** Stores `items` (one request's events) and resolves with one outcome per item, in order. */
  write(items: IntakeItem[]): Promise<IntakeOutcome[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#pending.push({ items, resolve, reject });
      this.#pump();
    });
  }

  /** Resolves once nothing is pending or in flight (used by graceful shutdown). */
  drain(): Promise<void> {
    if (this.#inFlight === 0 && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#pending.length > 0) {
      // A second commit alongside a running one only pays off for a real backlog; for a few rows
      // it would split the batch the running commit's followers are about to share.
      if (this.#inFlight > 0 && this.#pendingRows() < this.#minRowsForParallel) return;
      const batch: PendingRequest[] = [];
      let rows = 0;
      while (this.#pending.length > 0) {
        const next = this.#pending[0]!;
        if (batch.length > 0 && rows + next.items.length > this.#maxBatchRows) break;
        batch.push(next);
        rows += next.items.length;
        this.#pending.shift();
      }
      this.#inFlight += 1;
      void this.#commit(batch).finally(() => {
        this.#inFlight -= 1;
        this.#pump();
        if (this.#inFlight === 0 && this.#pending.length === 0) {
          for (const resolve of this.#idle.splice(0)) resolve();
        }
      });
    }
  }

  #pendingRows(): number {
    let rows = 0;
    for (const request of this.#pending) rows += request.items.length;
    return rows;
  }

  async #commit(batch: PendingRequest[]): Promise<void> {
    try {
      const outcomes = await this.#store(batch.flatMap((request) => request.items));
      let offset = 0;
      for (const request of batch) {
        request.resolve(outcomes.slice(offset, offset + request.items.length));
        offset += request.items.length;
      }
    } catch (err) {
      // What one request brought (a date out of range, a value that cannot be written) must fail
      // only that request, not every request that happened to share its commit.
      if (batch.length > 1 && isRequestFault(err)) {
        for (const request of batch) await this.#commit([request]);
        return;
      }
      for (const request of batch) request.reject(err);
    }
  }

  async #store(items: IntakeItem[]): Promise<IntakeOutcome[]> {
    // The first occurrence of a key in this commit is the one inserted; later ones are duplicates of it.
    const firstByKey = new Map<string, LaneRow>();
    const rows: LaneRow[] = [];
    const keyOf = (source: string, externalId: string) => `${source}\u0000${externalId}`;
    for (const item of items) {
      const key = keyOf(item.source, item.externalId);
      if (!firstByKey.has(key)) {
        const row = { ...item, id: randomUUID(), lane: 0 };
        row.lane = this.#urgent(row) ? 1 : 0;
        firstByKey.set(key, row);
        rows.push(row);
      }
    }
    // Key order, so two commits holding overlapping keys never wait on each other in a cycle.
    rows.sort((a, b) => (a.source === b.source ? cmp(a.externalId, b.externalId) : cmp(a.source, b.source)));
    const statement = await this.#commitStatement();
    const stored = statement === null ? await this.#storeInSteps(rows) : await this.#storeInOne(statement, rows);
    const idByKey = new Map(stored.existing.map((r) => [keyOf(r.source, r.external_id), r.id]));
    const unknown = rows.filter((row) => !stored.insertedIds.has(row.id) && !idByKey.has(keyOf(row.source, row.externalId)));
    if (unknown.length > 0) {
      // Stored by a commit that ran alongside this one: visible now that both have committed.
      for (const r of await run(this.#pool, selectIntakeIds(unknown))) {
        idByKey.set(keyOf(r.source, r.external_id), r.id);
      }
    }
    const claimed = new Set<string>();
    return items.map((item) => {
      const key = keyOf(item.source, item.externalId);
      const row = firstByKey.get(key)!;
      if (stored.insertedIds.has(row.id) && !claimed.has(key)) {
        claimed.add(key);
        return { id: row.id, duplicate: false };
      }
      const original = idByKey.get(key) ?? (claimed.has(key) ? row.id : undefined);
      if (original === undefined)
        throw new LeadlineError('invariant_broken', `intake row for ${item.source}/${item.externalId} vanished`);
      return { id: original, duplicate: true };
    });
  }

  // Statements cost round trips, and on a busy machine each round trip waits for the scheduler:
  // one statement (its own transaction) instead of BEGIN, two inserts, a lookup and COMMIT keeps
  // commits short, and short commits are what lets more of them share each fsync.
  async #storeInOne(statement: CommitStatement, rows: LaneRow[]): Promise<Stored> {
    const sql = statement.build(rows);
    const result = await runPrepared<{
      id: string;
      inserted: boolean;
      source: string | null;
      external_id: string | null;
    }>(this.#pool, statement.name, sql);
    const insertedIds = new Set<string>();
    const existing: Stored['existing'] = [];
    for (const r of result) {
      if (r.inserted) insertedIds.add(r.id);
      else existing.push({ id: r.id, source: r.source ?? '', external_id: r.external_id ?? '' });
    }
    return { insertedIds, existing };
  }

  // The general path, for a pg-boss whose insert statement `jobInsertCtes` cannot reshape.
  async #storeInSteps(rows: LaneRow[]): Promise<Stored> {
    return withTransaction(this.#pool, async (tx) => {
      const inserted = await run(tx, insertIntakeRows(rows));
      const insertedIds = new Set(inserted.map((r) => r.id));
      const known = rows.filter((row) => !insertedIds.has(row.id));
      const existing =
        known.length === 0 ? [] : await run(tx, selectIntakeIds(known));
      for (const [lane, queue] of LANES.entries()) {
        const jobs = rows
          .filter((row) => row.lane === lane && insertedIds.has(row.id))
          .map((row) => ({ id: row.id, data: { eventId: row.id } }));
        if (jobs.length > 0) await this.#boss.insert(queue, jobs, { db: inTransaction(tx) });
      }
      return { insertedIds, existing };
    });
  }

  /** The one-statement commit, built once from the statements pg-boss itself would run. */
  #commitStatement(): Promise<CommitStatement | null> {
    this.#statement ??= this.#buildCommitStatement().catch((err: unknown) => {
      // Building asks pg-boss for its queue settings; a database hiccup must not pin the slow path.
      this.#statement = null;
      throw err;
    });
    return this.#statement;
  }

  async #buildCommitStatement(): Promise<CommitStatement | null> {
    const lanes: ((jobsJson: string) => ReturnType<typeof jobInsertCtes>)[] = [];
    for (const [lane, queue] of LANES.entries()) {
      const bossSql = await captureJobInsert(this.#boss, queue);
      if (bossSql === null) return null;
      lanes.push((jobsJson) => jobInsertCtes(bossSql, `lane${lane}`, jobsJson));
    }
    const build = intakeCommitStatement(lanes);
    if (build === null) return null;
    const { text } = build([]);
    return { name: `leadline-intake-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`, build };
  }
}
