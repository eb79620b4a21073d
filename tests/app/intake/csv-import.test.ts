import { describe, expect, it } from 'vitest';
import type { LeadlineEvent } from '../../../src/engine/event.ts';
import { CsvImportError, type ImportSummary, importCsvStream, MAX_ROW_BYTES } from '../../../src/app/intake/csv-import.ts';
import { rowToEvent } from '../../../src/app/intake/csv-row.ts';
import type { IntakeItem, IntakeOutcome } from '../../../src/app/intake/intake-writer.ts';

const RECEIVED = new Date('2026-11-20T09:15:00Z');

/** An in-memory stand-in for the intake writer: the first item per key is new, repeats are duplicates. */
function memoryIntake() {
  const stored = new Map<string, IntakeItem>();
  const batches: number[] = [];
  return {
    stored,
    batches,
    events: () => [...stored.values()].map((item) => item.event as LeadlineEvent),
    write: async (items: IntakeItem[]): Promise<IntakeOutcome[]> => {
      batches.push(items.length);
      return items.map((item) => {
        const key = `${item.source}/${item.externalId}`;
        const duplicate = stored.has(key);
        if (!duplicate) stored.set(key, item);
        return { id: key, duplicate };
      });
    },
  };
}

function importText(text: string, intake = memoryIntake(), batchSize = 1000): Promise<ImportSummary> {
  return importCsvStream([Buffer.from(text)], { source: 'csv', intake, batchSize, receivedAt: RECEIVED });
}

function eventOf(result: ReturnType<typeof rowToEvent>): LeadlineEvent {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.issues)}`);
  return result.item.event as LeadlineEvent;
}

describe('rowToEvent', () => {
  it('maps known columns to the lead, utm and ids, and everything else to metadata', () => {
    const row = {
      Email: ' Ada@Genomics-Lab.example ',
      'First Name': 'Ada',
      company: 'Genomics Lab',
      'utm-source': 'fair',
      hubspot_id: '1001',
      Segment: 'pharma',
      'Booth visit': 'yes',
      notes: '',
    };
    const result = rowToEvent(row, 'csv', 2, RECEIVED);
    const event = eventOf(result);
    expect(event).toMatchObject({
      type: 'lead.imported',
      source: 'csv',
      occurredAt: RECEIVED.toISOString(),
      lead: {
        email: 'ada@genomics-lab.example',
        firstName: 'Ada',
        company: 'Genomics Lab',
        ids: { hubspot_id: '1001' },
      },
      utm: { source: 'fair' },
    });
    expect(event.metadata).toEqual({ Segment: 'pharma', 'Booth visit': 'yes' });
    expect(result.ok && result.item).toMatchObject({
      scheme: 'csv',
      payload: row,
      eventType: 'lead.imported',
    });
  });

  it('uses the id column as the idempotency key, else a hash of the normalised row', () => {
    const withId = rowToEvent({ id: 'row-7', email: 'a@lab.example' }, 'csv', 2, RECEIVED);
    expect(withId.ok && withId.item.externalId).toBe('row-7');
    expect(eventOf(withId).id).toBe('row-7');

    const a = rowToEvent({ email: 'A@Lab.example ', company: 'Lab' }, 'csv', 2, RECEIVED);
    const b = rowToEvent({ company: ' Lab', email: 'a@lab.example', notes: '' }, 'csv', 9, new Date());
    const c = rowToEvent({ email: 'a@lab.example', company: 'Other Lab' }, 'csv', 2, RECEIVED);
    expect(a.ok && a.item.externalId).toMatch(/^import:[0-9a-f]{64}$/);
    expect(a.ok && a.item.externalId).toBe(b.ok && b.item.externalId);
    expect(a.ok && a.item.externalId).not.toBe(c.ok && c.item.externalId);
  });

  it('keeps type and occurred_at when given', () => {
    const event = eventOf(
      rowToEvent(
        { email: 'a@lab.example', type: 'event.attended', occurred_at: '2026-10-01T08:00:00+02:00' },
        'fair',
        2,
        RECEIVED,
      ),
    );
    expect(event).toMatchObject({
      type: 'event.attended',
      source: 'fair',
      occurredAt: '2026-10-01T06:00:00.000Z',
    });
  });

  it('reports problems by CSV column and line', () => {
    expect(rowToEvent({ email: 'not-an-email', first_name: 'Bob' }, 'csv', 3, RECEIVED)).toEqual({
      ok: false,
      line: 3,
      issues: [{ path: 'email', message: 'Invalid email address' }],
    });
    const noIdentity = rowToEvent({ first_name: 'Bob', company: 'Lab' }, 'csv', 5, RECEIVED);
    expect(noIdentity).toMatchObject({ ok: false, line: 5, issues: [{ path: '(row)' }] });
    const badType = rowToEvent({ email: 'a@lab.example', type: 'Imported Lead' }, 'csv', 4, RECEIVED);
    expect(badType).toMatchObject({ ok: false, issues: [{ path: 'type' }] });
    const badUtm = rowToEvent({ email: 'a@lab.example', utm_campaign: 'x'.repeat(501) }, 'csv', 6, RECEIVED);
    expect(badUtm).toMatchObject({ ok: false, issues: [{ path: 'utm_campaign' }] });
  });

  it('accepts an id column alone as identity', () => {
    const event = eventOf(rowToEvent({ crm_id: 'C-42', name: 'Grace Hopper' }, 'csv', 2, RECEIVED));
    expect(event.lead).toEqual({ fullName: 'Grace Hopper', ids: { crm_id: 'C-42' } });
  });

  it('strips a BOM left on the first header by another parser', () => {
    const event = eventOf(rowToEvent({ '\uFEFFemail': 'a@lab.example' }, 'csv', 2, RECEIVED));
    expect(event.lead.email).toBe('a@lab.example');
    expect(event.metadata).toEqual({});
  });
});

describe('importCsvStream parsing', () => {
  it('handles quoted commas, quotes, a BOM, CRLF and blank lines, with editor line numbers', async () => {
    const intake = memoryIntake();
    const text = [
      '\uFEFFemail,name,company,notes',
      'ada@lab.example,"Lovelace, Ada","Genomics, Inc.","said ""call me"""',
      '',
      'bad-email,Bob,,',
      'cy@lab.example,Cy,,"two',
      'lines"',
      ',,,',
      'dan@lab.example,Dwayne "The Rock" Johnson,,',
      'eve@lab.example,Eve,,,extra',
      '',
    ].join('\r\n');
    const summary = await importText(text, intake);
    expect(summary).toMatchObject({ rows: 5, accepted: 3, duplicates: 0, rejected: 2, errorsOmitted: 0 });
    expect(summary.errors).toEqual([
      { line: 4, issues: [{ path: 'email', message: 'Invalid email address' }] },
      { line: 9, issues: [{ path: '(row)', message: 'has 5 fields but the header has 4' }] },
    ]);
    const byEmail = new Map(intake.events().map((e) => [e.lead.email, e]));
    expect(byEmail.get('ada@lab.example')).toMatchObject({
      lead: { fullName: 'Lovelace, Ada', company: 'Genomics, Inc.' },
      metadata: { notes: 'said "call me"' },
    });
    expect(byEmail.get('cy@lab.example')?.metadata).toEqual({ notes: 'two\nlines' });
    expect(byEmail.get('dan@lab.example')?.lead.fullName).toBe('Dwayne "The Rock" Johnson');
  });

  it('writes in batches and reports progress after each', async () => {
    const intake = memoryIntake();
    const lines = ['email,segment', ...Array.from({ length: 25 }, (_, i) => `u${i}@lab.example,s${i % 3}`)];
    const seen: number[] = [];
    const summary = await importCsvStream([lines.join('\n')], {
      source: 'csv',
      intake,
      batchSize: 10,
      onProgress: (p) => seen.push(p.accepted),
    });
    expect(intake.batches).toEqual([10, 10, 5]);
    expect(seen).toEqual([10, 20, 25]);
    expect(summary).toMatchObject({ rows: 25, accepted: 25, rejected: 0 });
  });

  it('pauses reading while a batch commits instead of buffering the file', async () => {
    const total = 50_000;
    let produced = 0;
    async function* file() {
      yield 'email,segment\n';
      while (produced < total) {
        let chunk = '';
        for (let i = 0; i < 100; i++, produced++) chunk += `r${produced}@lab.example,s\n`;
        yield chunk;
      }
    }
    let written = 0;
    let maxAhead = 0;
    const memory = memoryIntake();
    const intake = {
      write: async (items: IntakeItem[]) => {
        // Give the reader every chance to run ahead while this "commit" is pending.
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
        maxAhead = Math.max(maxAhead, produced - written);
        written += items.length;
        return memory.write(items);
      },
    };
    const summary = await importCsvStream(file(), { source: 'csv', intake, batchSize: 1000 });
    expect(summary.accepted).toBe(total);
    // Stream buffers (a few 16 KiB / 16-chunk high-water marks) plus the batch: constant, not the file.
    expect(maxAhead).toBeLessThan(15_000);
  });

  it('is idempotent: the same file again is all duplicates', async () => {
    const intake = memoryIntake();
    const text = 'email,company\na@lab.example,Lab\nb@lab.example,Lab\na@lab.example,Lab\n';
    expect(await importText(text, intake)).toMatchObject({ accepted: 2, duplicates: 1 });
    expect(await importText(text, intake)).toMatchObject({ accepted: 0, duplicates: 3 });
  });

  it('reports an oversize row as a bad row and keeps going', async () => {
    const intake = memoryIntake();
    const big = 'x'.repeat(MAX_ROW_BYTES + 10);
    const summary = await importText(`email,notes\na@lab.example,"${big}"\nb@lab.example,ok\n`, intake);
    expect(summary).toMatchObject({ rows: 2, accepted: 1, rejected: 1 });
    expect(summary.errors[0]).toMatchObject({ line: 2, issues: [{ path: '(row)' }] });
  });

  it('caps the listed bad rows at 100 and counts the rest', async () => {
    const lines = ['email', ...Array.from({ length: 130 }, (_, i) => `bad-${i}`)];
    const summary = await importText(lines.join('\n'));
    expect(summary).toMatchObject({ rows: 130, rejected: 130, errorsOmitted: 30 });
    expect(summary.errors).toHaveLength(100);
    expect(summary.errors[0]?.line).toBe(2);
  });

  it('rejects files without a usable header before storing anything', async () => {
    for (const [text, message] of [
      ['', /header row is required/],
      ['\n\n', /header row is required/],
      ['first_name,company\nAda,Lab\n', /needs an email or one of/],
      ['email,E-Mail\na@lab.example,b@lab.example\n', /appears twice/],
    ] as const) {
      const intake = memoryIntake();
      const error = await importText(text, intake).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(CsvImportError);
      expect((error as CsvImportError).message).toMatch(message);
      expect(intake.stored.size).toBe(0);
    }
  });

  it('accepts a header-only file as an empty import', async () => {
    expect(await importText('email,name\n')).toMatchObject({ rows: 0, accepted: 0, rejected: 0 });
  });

  it('stops on a runaway row (unclosed quote) instead of buffering the rest of the file', async () => {
    const intake = memoryIntake();
    const runaway = `b@lab.example,"${'y'.repeat(1_100_000)}`;
    const error = await importText(
      `email,notes\na@lab.example,ok\n${runaway}\nc@lab.example,ok\n`,
      intake,
      1,
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CsvImportError);
    expect((error as CsvImportError).line).toBe(3);
    // The parser may run ahead of the last commit; the summary counts exactly what was stored.
    expect((error as CsvImportError).summary.accepted).toBe(intake.stored.size);
    expect(intake.events().map((e) => e.lead.email)).not.toContain('c@lab.example');
  });
});
