import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { CsvImportError, importCsvStream } from '../app/intake/csv-import.ts';
import type { IntakeWriter } from '../app/intake/intake-writer.ts';
import type { AppEnv } from './env.ts';
import { errorBody } from './errors.ts';

export interface ImportDeps {
  intake: IntakeWriter;
  now: () => Date;
  /** Bearer token import clients must send; null turns imports off. */
  importToken: string | null;
}

/** Rows per durable write: large enough to amortise a commit, small enough to keep webhooks flowing. */
export const IMPORT_BATCH_ROWS = 1_000;

const SOURCE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
// Media types spreadsheets, curl and browsers use for CSV uploads; anything else is a mistake.
const CSV_MEDIA_TYPES = new Set([
  'text/csv',
  'text/plain',
  'application/csv',
  'application/vnd.ms-excel',
  'application/octet-stream',
]);

/**
 * `POST /imports?source=<name>`: a CSV file (header row first) streamed into the same durable intake
 * as webhooks, in batches, with bad rows reported by line. Answers only after every batch committed:
 * 202 when anything new was stored, else 200.
 *
 * @example
 * mountImports(app, { intake, now: () => new Date(), importToken: process.env.LEADLINE_IMPORT_TOKEN ?? null });
 * // curl -H 'Authorization: Bearer …' -H 'Content-Type: text/csv' --data-binary @leads.csv 'https://…/imports?source=fair-2026'
 */
export function mountImports(app: Hono<AppEnv>, deps: ImportDeps): void {
  app.post('/imports', (c) => receive(c, deps));
}

async function receive(c: Context<AppEnv>, deps: ImportDeps): Promise<Response> {
  if (deps.importToken === null || deps.importToken === '') {
    c.header('Retry-After', '300');
    return c.json(
      errorBody('imports_not_configured', 'CSV imports are off: no import token is configured'),
      503,
    );
  }
  if (!bearerMatches(c.req.header('authorization'), deps.importToken)) {
    c.header('WWW-Authenticate', 'Bearer realm="leadline-imports"');
    return c.json(
      errorBody('unauthorized', 'a valid "Authorization: Bearer <token>" header is required'),
      401,
    );
  }
  const source = c.req.query('source') ?? 'csv';
  if (!SOURCE_NAME.test(source)) {
    return c.json(
      errorBody('invalid_source', 'source must be lowercase letters, digits, "-" or "_" (at most 63)'),
      400,
    );
  }
  const mediaType = (c.req.header('content-type') ?? 'text/csv').split(';')[0]!.trim().toLowerCase();
  if (!CSV_MEDIA_TYPES.has(mediaType)) {
    return c.json(
      errorBody('unsupported_media_type', `expected text/csv, got ${mediaType.slice(0, 80)}`),
      415,
    );
  }

  const body = c.req.raw.body ?? [];
  try {
    const summary = await importCsvStream(body, {
      source,
      intake: deps.intake,
      batchSize: IMPORT_BATCH_ROWS,
      receivedAt: deps.now(),
    });
    return c.json(summary, summary.accepted > 0 ? 202 : 200);
  } catch (err) {
    // The file itself is unusable; batches committed before that stay stored, and a fixed re-upload
    // skips them as duplicates.
    if (err instanceof CsvImportError) {
      return c.json({ ...errorBody('invalid_csv', err.message, err.issues), ...err.summary }, 400);
    }
    throw err;
  }
}

// Both sides are hashed first, so the comparison takes the same time whatever the token's length.
function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  if (match === null) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(expected));
}
