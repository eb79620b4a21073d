import { createHash } from 'node:crypto';
import type { MetadataValue } from '../../engine/event.ts';
import { mapNative } from '../../engine/mappers/native.ts';
import type { ErrorIssue } from '../../errors.ts';
import type { IntakeItem } from './intake-writer.ts';

// One CSV row → one intake item: which columns mean what, and how a row is validated and keyed.

export const ID_COLUMNS = ['hubspot_id', 'lemlist_id', 'linkedin_url', 'crm_id'];
const LEAD_COLUMNS = 'email first_name last_name name company title phone country region website'.split(' ');
const UTM_COLUMNS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
const KNOWN_COLUMNS: ReadonlySet<string> = new Set([
  ...['id', 'type', 'occurred_at'],
  ...LEAD_COLUMNS,
  ...ID_COLUMNS,
  ...UTM_COLUMNS,
]);
// Spellings spreadsheet and CRM exports use for the email column.
const ALIASES: Record<string, string> = { e_mail: 'email', email_address: 'email' };
const DEFAULT_TYPE = 'lead.imported';
export const NO_IDENTITY = `needs an email or one of ${ID_COLUMNS.join(', ')}`;
const NO_HEADERS = { get: () => null };

export type RowResult = { ok: true; item: IntakeItem } | { ok: false; line: number; issues: ErrorIssue[] };

/**
 * Maps one parsed CSV row (header → cell) to an intake item, validated like a native webhook
 * event. Known columns (`email`, `first_name`, …, `utm_*`, `hubspot_id`, …) match case-insensitively
 * with spaces or dashes for underscores; every other non-blank cell becomes `metadata.<header>`.
 * Without an `id` cell the idempotency key is a hash of the normalised row, so importing the same
 * file twice stores nothing new.
 *
 * @example
 * rowToEvent({ Email: 'Ada@Lab.example', Segment: 'pharma' }, 'csv', 2, new Date())
 * // { ok: true, item: { source: 'csv', scheme: 'csv', externalId: 'import:3f…', event: { type: 'lead.imported', metadata: { Segment: 'pharma' }, … }, … } }
 */
export function rowToEvent(
  row: Readonly<Record<string, string | undefined>>,
  source: string,
  lineNumber: number,
  receivedAt: Date = new Date(),
): RowResult {
  const lead: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const utm: Record<string, string> = {};
  const metadata: Record<string, MetadataValue> = {};
  const top: Record<string, string> = {};
  const normalized: [string, string][] = [];
  const refused: ErrorIssue[] = [];
  for (const [header, raw] of Object.entries(row)) {
    const value = typeof raw === 'string' ? raw.trim() : '';
    if (value === '') continue;
    const column = knownColumn(header);
    // PostgreSQL cannot store NUL in text: this row is refused, the file goes on.
    if (value.includes('\u0000')) {
      refused.push({ path: column ?? header.trim(), message: 'NUL characters are not accepted in values' });
      continue;
    }
    if (column === null) {
      metadata[header.trim()] = value;
      normalized.push([`metadata.${header.trim()}`, value]);
      continue;
    }
    const clean = column === 'email' ? value.toLowerCase() : value;
    normalized.push([column, clean]);
    if (LEAD_COLUMNS.includes(column)) lead[column] = clean;
    else if (ID_COLUMNS.includes(column)) ids[column] = clean;
    else if (column.startsWith('utm_')) utm[column.slice(4)] = clean;
    else top[column] = clean;
  }
  if (refused.length > 0) return { ok: false, line: lineNumber, issues: refused };
  const type = top['type'] ?? DEFAULT_TYPE;
  if (top['type'] === undefined) normalized.push(['type', type]);
  const wire = {
    ...(top['id'] === undefined ? {} : { id: top['id'] }),
    type,
    ...(top['occurred_at'] === undefined ? {} : { occurred_at: top['occurred_at'] }),
    lead: Object.keys(ids).length === 0 ? lead : { ...lead, ids },
    ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
    ...(Object.keys(utm).length === 0 ? {} : { utm }),
  };
  const mapped = mapNative(wire, { source, receivedAt, headers: NO_HEADERS });
  if (!mapped.ok) return { ok: false, line: lineNumber, issues: mapped.issues.map(toColumnIssue) };
  const event = mapped.events[0]!;
  normalized.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const externalId =
    event.id ?? `import:${createHash('sha256').update(JSON.stringify(normalized)).digest('hex')}`;
  return {
    ok: true,
    item: {
      source,
      scheme: 'csv',
      externalId,
      receivedAt,
      payload: row,
      event: { ...event, id: externalId },
      eventType: event.type,
      occurredAt: event.occurredAt,
    },
  };
}

const columnCache = new Map<string, string | null>();

// `E-Mail`/`First Name`/`UTM_Source` all name known columns; anything else is metadata.
export function knownColumn(header: string): string | null {
  const cached = columnCache.get(header);
  if (cached !== undefined) return cached;
  const canonical = header
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  // Own aliases only: a header named `constructor` must not find Object's.
  const column = KNOWN_COLUMNS.has(canonical) ? canonical : Object.hasOwn(ALIASES, canonical) ? ALIASES[canonical]! : null;
  // Headers come from uploads; bound the cache so a stream of odd files cannot grow it forever.
  if (columnCache.size >= 1_000) columnCache.clear();
  columnCache.set(header, column);
  return column;
}

// Issue paths of the native wire shape, renamed to the CSV columns the user wrote.
function toColumnIssue(issue: ErrorIssue): ErrorIssue {
  const { path } = issue;
  if (path === 'lead') return { path: '(row)', message: NO_IDENTITY };
  if (path.startsWith('lead.ids.')) return { ...issue, path: path.slice('lead.ids.'.length) };
  if (path.startsWith('lead.')) return { ...issue, path: path.slice('lead.'.length) };
  if (path.startsWith('utm.')) return { ...issue, path: `utm_${path.slice('utm.'.length)}` };
  if (path.startsWith('metadata.')) return { ...issue, path: path.slice('metadata.'.length) };
  return issue;
}
