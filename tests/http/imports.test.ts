import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/env.ts';
import { mountImports } from '../../src/http/imports.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

const BASE = 'http://leadline.test';
const TOKEN = 'test-token';
const now = () => new Date('2026-11-20T09:15:00Z');

interface Answer {
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  errors: { line: number; issues: { path: string; message: string }[] }[];
  errorsOmitted: number;
  error?: string;
}

describe('POST /imports', () => {
  let t: TestApp;
  let app: Hono<AppEnv>;

  beforeAll(async () => {
    t = await createTestApp({ now });
    app = new Hono<AppEnv>();
    mountImports(app, { intake: t.intake, now, importToken: TOKEN });
  });
  afterAll(() => t.stop());

  const post = (
    body: string | ReadableStream<Uint8Array>,
    options: { source?: string; token?: string | null; type?: string } = {},
  ) => {
    const headers: Record<string, string> = { 'content-type': options.type ?? 'text/csv' };
    if (options.token !== null) headers['authorization'] = `Bearer ${options.token ?? TOKEN}`;
    const query = options.source === undefined ? '' : `?source=${options.source}`;
    return app.request(`${BASE}/imports${query}`, {
      method: 'POST',
      body,
      headers,
      // A stream body must say it is sent while the response may already start.
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  };

  const stored = async (source: string) =>
    (
      await t.db.pool.query<{ rows: number; jobs: number }>(
        `SELECT count(*)::int AS rows, count(j.id)::int AS jobs
         FROM intake_events e LEFT JOIN pgboss.job j ON j.id = e.id AND j.name = 'process-events'
         WHERE e.source = $1`,
        [source],
      )
    ).rows[0]!;

  const fairFile = [
    'email,first_name,last_name,company,title,utm_source,Booth,Interest',
    'ada@genomics-lab.example,Ada,Lovelace,Genomics Lab,Head of Sequencing,fair,B12,sequencing',
    'grace@navy-labs.example,Grace,Hopper,"Navy Labs, Inc.",CTO,fair,B12,imaging',
    'rosalind@helix-bio.example,Rosalind,Franklin,Helix Bio,Lab Director,fair,C3,',
  ].join('\n');

  it('stores every row of a valid file with one processing job each, then answers 202', async () => {
    const res = await post(fairFile, { source: 'fair-2026' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      rows: 3,
      accepted: 3,
      duplicates: 0,
      rejected: 0,
      errors: [],
      errorsOmitted: 0,
    });
    expect(await stored('fair-2026')).toEqual({ rows: 3, jobs: 3 });
  });

  it('puts unknown columns into event.metadata and stores the raw row as payload', async () => {
    const { rows } = await t.db.pool.query<{
      event: Record<string, unknown>;
      payload: unknown;
      scheme: string;
    }>(
      `SELECT event, payload, scheme FROM intake_events WHERE source = 'fair-2026' AND event->'lead'->>'email' = $1`,
      ['grace@navy-labs.example'],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.scheme).toBe('csv');
    expect(rows[0]!.event).toMatchObject({
      type: 'lead.imported',
      source: 'fair-2026',
      occurredAt: now().toISOString(),
      lead: { email: 'grace@navy-labs.example', company: 'Navy Labs, Inc.', title: 'CTO' },
      metadata: { Booth: 'B12', Interest: 'imaging' },
      utm: { source: 'fair' },
    });
    expect(rows[0]!.payload).toMatchObject({ email: 'grace@navy-labs.example', Booth: 'B12' });
  });

  it('changes nothing when the same file is imported again (200, all duplicates)', async () => {
    const res = await post(fairFile, { source: 'fair-2026' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ rows: 3, accepted: 0, duplicates: 3, rejected: 0 });
    expect(await stored('fair-2026')).toEqual({ rows: 3, jobs: 3 });
  });

  it('reports bad rows by line and stores the others', async () => {
    const file = [
      'email,name,crm_id',
      'one@lab.example,One,',
      'not-an-email,Two,',
      ',Three,C-3',
      ',Nobody,',
      'five@lab.example,Five,',
    ].join('\n');
    const res = await post(file, { source: 'with-errors' });
    expect(res.status).toBe(202);
    const answer = (await res.json()) as Answer;
    expect(answer).toMatchObject({ rows: 5, accepted: 3, duplicates: 0, rejected: 2 });
    expect(answer.errors).toEqual([
      { line: 3, issues: [{ path: 'email', message: 'Invalid email address' }] },
      { line: 5, issues: [{ path: '(row)', message: expect.stringMatching(/needs an email/) }] },
    ]);
    expect(await stored('with-errors')).toEqual({ rows: 3, jobs: 3 });
  });

  it('refuses hostile rows by line and stores the rest: a NUL byte, a time out of range', async () => {
    const file = [
      'email,name,occurred_at,constructor,toString',
      'ok1@lab.example,One,2026-11-20T09:00:00Z,x,y',
      'nul@lab.example,Nul\u0000Byte,2026-11-20T09:00:00Z,,',
      'old@lab.example,Old,0000-01-01T00:00:00Z,,',
      'ok2@lab.example,Two,,z,',
    ].join('\n');
    const res = await post(file, { source: 'hostile' });
    expect(res.status).toBe(202);
    const answer = (await res.json()) as Answer;
    expect(answer).toMatchObject({ rows: 4, accepted: 2, rejected: 2 });
    expect(answer.errors.map((e) => [e.line, e.issues[0]?.path])).toEqual([
      [3, 'name'],
      [4, 'occurred_at'],
    ]);
    const { rows } = await t.db.pool.query(`SELECT event->'metadata' AS metadata FROM intake_events WHERE source = 'hostile' ORDER BY event->'lead'->>'email'`);
    expect(rows.map((r) => JSON.stringify(r.metadata))).toEqual(['{"toString": "y", "constructor": "x"}', '{"constructor": "z"}'].map((j) => JSON.stringify(JSON.parse(j))));
  });

  it('refuses a __proto__ column with a 400 that names it', async () => {
    const res = await post('email,__proto__\nok@lab.example,polluted', { source: 'proto' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: expect.stringContaining('"__proto__" is not a usable column name') });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('answers 401 for a missing or wrong token and stores nothing', async () => {
    for (const token of [null, 'wrong-token', `${TOKEN}x`, '']) {
      const res = await post(fairFile, { source: 'unauthorised', token });
      expect(res.status).toBe(401);
      expect(((await res.json()) as Answer).error).toBe('unauthorized');
    }
    const basic = await app.request(`${BASE}/imports?source=unauthorised`, {
      method: 'POST',
      body: fairFile,
      headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
    expect(await stored('unauthorised')).toEqual({ rows: 0, jobs: 0 });
  });

  it('answers 503 when no import token is configured', async () => {
    const off = new Hono<AppEnv>();
    mountImports(off, { intake: t.intake, now, importToken: null });
    const res = await off.request(`${BASE}/imports`, {
      method: 'POST',
      body: fairFile,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv' },
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as Answer).error).toBe('imports_not_configured');
  });

  it('rejects an unusable file, a bad source name and a non-CSV body with 4xx', async () => {
    const noIdentity = await post('first_name,company\nAda,Lab\n', { source: 'bad-header' });
    expect(noIdentity.status).toBe(400);
    expect(((await noIdentity.json()) as Answer).error).toBe('invalid_csv');
    const empty = await post('', { source: 'bad-header' });
    expect(empty.status).toBe(400);
    expect((await post(fairFile, { source: 'Not Valid!' })).status).toBe(400);
    expect((await post('{"email":"a@lab.example"}', { type: 'application/json' })).status).toBe(415);
    expect(await stored('bad-header')).toEqual({ rows: 0, jobs: 0 });
  });

  it('defaults the source to csv', async () => {
    const res = await post('email\ndefault-source@lab.example\n');
    expect(res.status).toBe(202);
    expect(await stored('csv')).toEqual({ rows: 1, jobs: 1 });
  });

  it('streams a 20,000-row file sent as a ReadableStream', async () => {
    const total = 20_000;
    const perChunk = 500;
    let next = 0;
    const encoder = new TextEncoder();
    // Rows are produced as the parser asks for them; the file never exists as one string.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next === 0) controller.enqueue(encoder.encode('email,first_name,company,segment\n'));
        if (next >= total) {
          controller.close();
          return;
        }
        let chunk = '';
        for (let i = 0; i < perChunk && next < total; i++, next++) {
          chunk += `lead${next}@bulk-${next % 97}.example,Lead ${next},"Bulk ${next % 97}, Ltd",s${next % 5}\n`;
        }
        controller.enqueue(encoder.encode(chunk));
      },
    });
    const res = await post(body, { source: 'bulk' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ rows: total, accepted: total, rejected: 0 });
    expect(await stored('bulk')).toEqual({ rows: total, jobs: total });
  });
});
