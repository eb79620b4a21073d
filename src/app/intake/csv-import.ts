import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CsvError, parse } from 'csv-parse';
import type { ErrorIssue } from '../../errors.ts';
import { LeadlineError } from '../../errors.ts';
import { ID_COLUMNS, knownColumn, NO_IDENTITY, rowToEvent } from './csv-row.ts';
import type { IntakeItem, IntakeWriter } from './intake-writer.ts';

/** Longest row (UTF-8 bytes of its CSV text) imported; longer rows are reported as bad rows. */
export const MAX_ROW_BYTES = 64 * 1024;
/**
 * Longest row the parser buffers at all. csv-parse cannot resume after its own size limit (it drops
 * the rest of the input), so this one stops the import; it is only reached by broken quoting.
 */
export const MAX_PARSER_RECORD_BYTES = 1024 * 1024;
/** Bad rows listed in a summary; the rest are only counted. */
export const MAX_REPORTED_ERRORS = 100;


/** One rejected row: its first line in the file and what is wrong with it, by column. */
export interface BadRow {
  line: number;
  issues: ErrorIssue[];
}

export interface ImportProgress {
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
}

export interface ImportSummary extends ImportProgress {
  /** The first {@link MAX_REPORTED_ERRORS} bad rows, by line. */
  errors: BadRow[];
  /** Bad rows beyond the listed ones. */
  errorsOmitted: number;
}

export interface ImportOptions {
  /** Source name stored on every row; `(source, id)` is the idempotency key. */
  source: string;
  intake: Pick<IntakeWriter, 'write'>;
  /** Rows per durable write; the parser is paused while one commits. */
  batchSize?: number;
  /** When the import arrived: `received_at`, and `occurred_at` for rows without one. */
  receivedAt?: Date;
  /** Called after every committed batch. */
  onProgress?: (progress: ImportProgress) => void;
  signal?: AbortSignal;
}

/**
 * The CSV itself is unusable (no header, bad header, runaway row). Batches committed before the
 * problem was found stay stored (`summary` counts them); a fixed re-upload skips them as duplicates.
 */
export class CsvImportError extends LeadlineError {
  readonly line: number | null;
  readonly summary: ImportSummary;

  constructor(message: string, line: number | null, summary: ImportSummary, cause?: unknown) {
    super('invalid_payload', line === null ? message : `line ${line}: ${message}`, {
      status: 400,
      issues: [{ path: line === null ? '(file)' : `line ${line}`, message }],
      cause,
    });
    this.name = 'CsvImportError';
    this.line = line;
    this.summary = summary;
  }
}

/** A Node stream, a web stream (a fetch body) or any (async) iterable of chunks. */
export type CsvInput =
  | Readable
  | WebReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

/**
 * Streams a CSV file (header row first) into intake: rows are validated one by one, written in
 * batches through the intake writer (each batch committed before the next is parsed), and bad rows
 * are reported by line without stopping the others. Resolves once every batch is committed.
 * Throws {@link CsvImportError} when the file itself is unusable; database errors propagate.
 *
 * @example
 * const summary = await importCsvStream(createReadStream('leads.csv'), { source: 'csv', intake });
 * // { rows: 3, accepted: 2, duplicates: 0, rejected: 1, errors: [{ line: 3, issues: [{ path: 'email', … }] }], errorsOmitted: 0 }
 */
export async function importCsvStream(input: CsvInput, options: ImportOptions): Promise<ImportSummary> {
  const tally = new ImportTally();
  const header = { seen: false, columns: 0 };
  try {
    await pipeline(
      toReadable(input),
      crlfToLf(),
      csvParser(tally, header),
      (records: AsyncIterable<ParsedRecord>) => writeRecords(records, tally, header, options),
      options.signal === undefined ? {} : { signal: options.signal },
    );
  } catch (err) {
    if (err instanceof CsvImportError) throw err;
    if (err instanceof CsvError) throw new CsvImportError(csvMessage(err), lineOf(err), tally.summary, err);
    throw err;
  }
  if (!header.seen) throw new CsvImportError('the file is empty; a header row is required', null, tally.summary);
  tally.summary.errors.sort((a, b) => a.line - b.line);
  return tally.summary;
}

/** What an import has counted so far, with the first {@link MAX_REPORTED_ERRORS} bad rows. */
class ImportTally {
  readonly summary: ImportSummary = { rows: 0, accepted: 0, duplicates: 0, rejected: 0, errors: [], errorsOmitted: 0 };
  #lastSkipped: BadRow | null = null;

  reject(line: number, issues: ErrorIssue[]): BadRow {
    this.summary.rows += 1;
    this.summary.rejected += 1;
    const bad = { line, issues };
    if (this.summary.errors.length < MAX_REPORTED_ERRORS) this.summary.errors.push(bad);
    else this.summary.errorsOmitted += 1;
    return bad;
  }

  /** A record the parser skipped: one broken record can report several problems; it is one bad row. */
  skipped(line: number, issue: ErrorIssue): void {
    if (this.#lastSkipped?.line === line) this.#lastSkipped.issues.push(issue);
    else this.#lastSkipped = this.reject(line, [issue]);
  }
}

function csvParser(tally: ImportTally, header: { seen: boolean; columns: number }) {
  return parse({
    bom: true,
    columns: (names: string[]) => {
      header.seen = true;
      header.columns = names.length;
      return checkHeader(names, tally.summary);
    },
    skip_empty_lines: true,
    // Stray quotes inside fields (`Dwayne "The Rock" Johnson`) are literal text, not a broken file.
    relax_quotes: true,
    skip_records_with_empty_values: true,
    // Short rows are common (trailing blanks dropped by spreadsheets); long ones are caught below.
    relax_column_count: true,
    skip_records_with_error: true,
    max_record_size: MAX_PARSER_RECORD_BYTES,
    raw: true,
    // Called synchronously while parsing, so bookkeeping stays in file order.
    on_skip: (err: CsvError | undefined, raw: string | undefined) => {
      const line = startLine(lineOf(err) ?? 0, raw ?? '');
      if (err?.code === 'CSV_MAX_RECORD_SIZE') {
        // Thrown from here, csv-parse fails the stream instead of silently dropping what follows.
        throw new CsvImportError(`row exceeds ${MAX_PARSER_RECORD_BYTES} bytes (unclosed quote?)`, line, tally.summary);
      }
      tally.skipped(line, { path: '(row)', message: csvMessage(err) });
      return undefined;
    },
    on_record: ({ record, raw }: { record: Record<string, string>; raw: string }, info) => ({
      record,
      line: startLine(info.lines, raw),
      bytes: Buffer.byteLength(raw),
      fields: info.index,
    }),
  });
}

// Validates each record and writes the good ones through the intake writer a batch at a time; the
// parser waits (back-pressure) while a batch commits.
async function writeRecords(
  records: AsyncIterable<ParsedRecord>,
  tally: ImportTally,
  header: { columns: number },
  options: ImportOptions,
): Promise<void> {
  const batchSize = Math.max(1, options.batchSize ?? 1_000);
  const receivedAt = options.receivedAt ?? new Date();
  const { summary } = tally;
  let batch: IntakeItem[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const outcomes = await options.intake.write(batch);
    batch = [];
    for (const outcome of outcomes) {
      if (outcome.duplicate) summary.duplicates += 1;
      else summary.accepted += 1;
    }
    const { rows, accepted, duplicates, rejected } = summary;
    options.onProgress?.({ rows, accepted, duplicates, rejected });
  };
  for await (const { record, line, bytes, fields } of records) {
    if (bytes > MAX_ROW_BYTES) {
      tally.reject(line, [{ path: '(row)', message: `row is ${bytes} bytes; at most ${MAX_ROW_BYTES}` }]);
      continue;
    }
    if (fields > header.columns) {
      tally.reject(line, [{ path: '(row)', message: `has ${fields} fields but the header has ${header.columns}` }]);
      continue;
    }
    const result = rowToEvent(record, options.source, line, receivedAt);
    if (!result.ok) {
      tally.reject(result.line, result.issues);
      continue;
    }
    summary.rows += 1;
    batch.push(result.item);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
}

interface ParsedRecord {
  record: Record<string, string>;
  line: number;
  bytes: number;
  fields: number;
}

// Header names as written (trimmed); blank ones are dropped. Problems that would fail every row are
// reported once, before anything is stored (the header may follow blank lines, so no line number).
function checkHeader(header: string[], summary: ImportSummary): (string | false)[] {
  const seen = new Set<string>();
  const names = header.map((raw) => {
    const name = String(raw)
      .replace(/^\uFEFF/, '')
      .trim();
    if (name === '') return false;
    // The parser names each row's fields by header: this one would replace the row's prototype.
    if (name === '__proto__') throw new CsvImportError('header: "__proto__" is not a usable column name', null, summary);
    const key = knownColumn(name) ?? `metadata:${name}`;
    if (seen.has(key)) throw new CsvImportError(`header: column "${cut(name)}" appears twice`, null, summary);
    if (name.length > 100)
      throw new CsvImportError(`header: column "${cut(name)}…" is too long`, null, summary);
    seen.add(key);
    return name;
  });
  if (!seen.has('email') && !ID_COLUMNS.some((id) => seen.has(id))) {
    throw new CsvImportError(`header: ${NO_IDENTITY} column`, null, summary);
  }
  return names;
}

function cut(name: string): string {
  return name.slice(0, 40);
}

function lineOf(err: CsvError | undefined): number | null {
  return typeof err?.lines === 'number' ? err.lines : null;
}

function csvMessage(err: CsvError | undefined): string {
  if (err === undefined) return 'unreadable row';
  // csv-parse messages name its internal line counter; the line is reported separately.
  return err.message.replace(/\s*(at|on) line \d+/, '');
}

/**
 * The line a record starts on: csv-parse reports the line it ends on, and the record's raw text
 * holds its inner line breaks (plus, sometimes, blank lines skipped before it and its delimiter).
 */
function startLine(endLine: number, raw: string): number {
  const inner = raw.replace(/^[\r\n]+|[\r\n]+$/g, '');
  const breaks = inner.match(/\r\n|\r|\n/g)?.length ?? 0;
  return Math.max(1, endLine - breaks);
}

function toReadable(
  input: CsvInput,
): Readable | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> {
  if (input instanceof Readable) return input;
  // A string is iterable too, but one character at a time.
  if (typeof input === 'string') return [input];
  if (typeof (input as WebReadableStream).getReader === 'function') {
    return Readable.fromWeb(input as WebReadableStream<Uint8Array>);
  }
  return input as AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
}

const CR = Buffer.from('\r');

// csv-parse counts a CRLF inside a quoted field as two lines, which would shift every later line
// number; with LF only, its line counter matches what an editor shows.
function crlfToLf(): Transform {
  let heldCr = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      let buf = heldCr ? Buffer.concat([CR, chunk]) : chunk;
      heldCr = buf.length > 0 && buf[buf.length - 1] === 0x0d;
      if (heldCr) buf = buf.subarray(0, -1);
      callback(null, dropCrBeforeLf(buf));
    },
    flush(callback) {
      callback(null, heldCr ? CR : undefined);
    },
  });
}

function dropCrBeforeLf(buf: Buffer): Buffer {
  let at = buf.indexOf('\r\n');
  if (at === -1) return buf;
  const parts: Buffer[] = [];
  let start = 0;
  while (at !== -1) {
    parts.push(buf.subarray(start, at));
    start = at + 1;
    at = buf.indexOf('\r\n', start);
  }
  parts.push(buf.subarray(start));
  return Buffer.concat(parts);
}
