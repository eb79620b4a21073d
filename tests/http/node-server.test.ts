import { createServer, request, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_SECRETS, type TestApp } from '../support/app.ts';
import { signMoco, signStandard } from '../support/signers.ts';

// Under Node the webhook body is read from the request stream itself rather than through the web
// Request (see readBody in src/http/webhooks.ts); these go through a real server to cover that path.

function send(
  port: number,
  body: string,
  headers: Record<string, string>,
  chunked = false,
  path = '/webhooks/website',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    if (chunked) {
      // Written in pieces without a length, so the limit is enforced while reading.
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.slice(at, at + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}

function delivery(id: string, type: string, extra: Record<string, unknown> = {}) {
  const body = JSON.stringify({
    id,
    type,
    occurred_at: new Date().toISOString(),
    lead: { email: `${id}@genomics-lab.example` },
    ...extra,
  });
  const headers = signStandard({
    secret: TEST_SECRETS.website,
    id: `msg_${id}`,
    timestamp: Math.floor(Date.now() / 1000),
    body,
  });
  return { body, headers };
}

describe('webhooks over a Node HTTP server', () => {
  let t: TestApp;
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    t = await createTestApp({ intake: { urgent: (item) => item.eventType === 'meeting.booked' } });
    server = createServer(getRequestListener(t.app.fetch));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await t.stop();
  });

  it('stores signed deliveries with one job each, urgent ones in the urgent lane', async () => {
    const ordinary = delivery('evt_node_1', 'page.viewed');
    const urgent = delivery('evt_node_2', 'meeting.booked');
    const [a, b] = await Promise.all([send(port, ordinary.body, ordinary.headers), send(port, urgent.body, urgent.headers)]);
    expect([a.status, b.status]).toEqual([202, 202]);
    const { rows } = await t.db.pool.query<{ name: string; n: number }>(
      `SELECT name, count(*)::int AS n FROM pgboss.job WHERE name LIKE 'process-events%' GROUP BY name ORDER BY name`,
    );
    expect(rows).toEqual([
      { name: 'process-events', n: 1 },
      { name: 'process-events-urgent', n: 1 },
    ]);
    const again = await send(port, ordinary.body, ordinary.headers);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({ accepted: 0, duplicates: 1, ids: JSON.parse(a.body).ids });
  });

  it('reads the headers a mapper needs, whatever their case on the wire', async () => {
    const body = JSON.stringify({ id: 4242, firstname: 'Rosalind', work_email: 'rosalind@structures.example' });
    const headers = { ...signMoco({ secret: TEST_SECRETS.moco, body }), 'X-Moco-Target': 'Contact', 'X-MOCO-EVENT': 'create' };
    const res = await send(port, body, headers, false, '/webhooks/moco');
    expect(res.status).toBe(202);
    const { 'X-MOCO-EVENT': _event, ...withoutEvent } = headers;
    const bad = await send(port, body, withoutEvent, false, '/webhooks/moco');
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('headers.X-Moco-Event');
  });

  it('refuses a tampered body with 401', async () => {
    const signed = delivery('evt_node_3', 'page.viewed');
    const res = await send(port, signed.body.replace('page.viewed', 'form.submitted'), signed.headers);
    expect(res.status).toBe(401);
  });

  it('answers 413 over 1 MiB, with or without a declared length, and stores nothing', async () => {
    const big = delivery('evt_node_big', 'page.viewed', { metadata: { note: 'x'.repeat(1024 * 1024) } });
    const before = await t.intakeRows();
    expect((await send(port, big.body, big.headers)).status).toBe(413);
    expect((await send(port, big.body, big.headers, true)).status).toBe(413);
    expect(await t.intakeRows()).toBe(before);
  });
});
