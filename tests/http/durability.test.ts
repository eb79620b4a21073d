import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestApp, TEST_SECRETS, type TestApp } from '../support/app.ts';
import { signStandard } from '../support/signers.ts';

describe('durable before acknowledged', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.stop());

  it('stores every event it answered 202 for while connections are being killed', async () => {
    const admin = new pg.Client({ connectionString: inject('pgServerUrl') });
    await admin.connect();
    const send = (i: number) => {
      const body = JSON.stringify({
        id: `evt_outage_${i}`,
        type: 'page.visited',
        lead: { email: `visitor${i}@outage.example` },
        metadata: { url: '/pricing' },
      });
      const headers = signStandard({
        secret: TEST_SECRETS.website,
        id: `msg_outage_${i}`,
        timestamp: Math.floor(Date.now() / 1000),
        body,
      });
      return t.app.request('http://leadline.test/webhooks/website', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
    };

    const answered: { i: number; status: number; id?: string }[] = [];
    const killAll = async () => {
      const { rowCount } = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [t.db.name],
      );
      return rowCount ?? 0;
    };
    let kills = 0;
    for (let wave = 0; wave < 10; wave++) {
      const indexes = Array.from({ length: 30 }, (_, k) => wave * 30 + k);
      const pending = indexes.map(send);
      // Every other wave, cut every connection while its requests are in flight.
      if (wave % 2 === 1) kills += await killAll();
      const responses = await Promise.all(pending);
      for (const [k, res] of responses.entries()) {
        const body = (await res.json()) as { ids?: string[] };
        answered.push({ i: indexes[k]!, status: res.status, id: body.ids?.[0] });
      }
    }
    await admin.end();

    expect(kills).toBeGreaterThan(0);
    // Only two answers are allowed: stored (202) or "retry later" (503) — never a 500.
    for (const a of answered) expect([202, 503]).toContain(a.status);
    const acknowledged = answered.filter((a) => a.status === 202);
    expect(acknowledged.length).toBeGreaterThan(0);

    const { rows } = await t.db.pool.query<{ id: string; job: string | null }>(
      `SELECT e.id, j.id AS job FROM intake_events e
       LEFT JOIN pgboss.job j ON j.name = 'process-events' AND j.id = e.id
       WHERE e.id = ANY($1::uuid[])`,
      [acknowledged.map((a) => a.id)],
    );
    expect(rows).toHaveLength(acknowledged.length);
    expect(rows.every((row) => row.job !== null)).toBe(true);

    // A sender retrying what got 503 is accepted once the database is back.
    const refused = answered.filter((a) => a.status === 503).map((a) => a.i);
    for (const i of refused) expect([200, 202]).toContain((await send(i)).status);
    const { rows: all } = await t.db.pool.query('SELECT count(*)::int AS n FROM intake_events');
    expect(all[0].n).toBe(300);
  });
});
