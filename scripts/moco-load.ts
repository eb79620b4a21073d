// `npm run moco:load [-- --deals=200 --workers=4 --limit=120]`: how many MOCO requests one won deal
// costs, and how the shared rate budget paces a burst of wins. Real Leadline sync code against the
// local fake MOCO (which answers 429 like MOCO past its limit) on an embedded PostgreSQL; time is
// virtual (the limiter's and the fake's clock jump to each wake-up), so two minutes cost no wall time.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createMocoLimiter } from '../src/app/moco/rate-limit.ts';
import { syncToMoco } from '../src/app/moco/sync.ts';
import { createMocoClient } from '../src/clients/moco.ts';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { parseRuleset } from '../src/engine/ruleset.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics.ts';
import { startFakeMoco } from '../tests/support/fake-moco.ts';

const { values } = parseArgs({
  options: { deals: { type: 'string', default: '200' }, workers: { type: 'string', default: '4' }, limit: { type: 'string', default: '120' } },
});
const DEALS = Number(values.deals);
const WORKERS = Number(values.workers);
const LIMIT = Number(values.limit);
const WINDOW_MS = 120_000;

const RULES = `
version: moco-load
pipelines:
  - { id: b2b, name: B2B customers, intent: b2b, stages: [{ id: new, name: New }, { id: won, name: Won, won: true }] }
moco: { on_won: offer }
team:
  members: [{ id: anna, slack_user_id: U0ANNA001, name: Anna, role: rep, email: anna@leadline.example }]
`;

const dir = await mkdtemp(path.join(tmpdir(), 'leadline-moco-load-'));
const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), ephemeral: true });
const pool = createPool(await ensureDatabase(server.url, 'moco_load'), WORKERS + 4);
try {
  await migrate(pool);
  let virtual = Date.parse('2026-11-20T12:00:00Z');
  const now = () => new Date(virtual);
  // One clock for everyone: a waiting sync moves it to when it wakes, as a real wait would.
  const sleep = async (ms: number) => {
    virtual = Math.max(virtual, now().getTime() + ms);
  };
  const fake = await startFakeMoco({ rateLimit: { limit: LIMIT, windowMs: WINDOW_MS }, clock: now });
  fake.seed('users', { firstname: 'Anna', lastname: 'Becker', email: 'anna@leadline.example' });
  const limiter = createMocoLimiter({ pool, limit: LIMIT, now, sleep });
  const client = createMocoClient({ baseUrl: fake.baseUrl, apiKey: fake.apiKey, limiter, sleep, random: () => 0.5 });
  const ctx = {
    pool,
    queue: { send: async () => null, insert: async () => undefined, upsert: async () => null } as never,
    ruleset: parseRuleset(RULES, { version: 'moco-load' }),
    log: createLogger('silent'),
    metrics: createMetrics({ defaults: false }),
    now,
  };
  const ids: number[] = [];
  for (let i = 0; i < DEALS; i += 1) {
    const { rows } = await pool.query<{ id: number }>(
      `WITH l AS (INSERT INTO leads (email, full_name, company, created_at) VALUES ($1, $2, $3, now()) RETURNING id),
        d AS (INSERT INTO deals (lead_id, pipeline_id, stage_id, status, owner_member_id, value, currency, closed_at, ruleset_version)
          SELECT id, 'b2b', 'won', 'won', 'anna', 1000 + $4, 'EUR', now(), 'load' FROM l RETURNING id, lead_id)
      INSERT INTO moco_sync_requests (source_key, entity, lead_id, deal_id) SELECT 'load:' || id, 'deal', lead_id, id FROM d RETURNING id`,
      [`buyer${i}@company${i}.example`, `Buyer ${i}`, `Company ${i}`, i],
    );
    ids.push(rows[0]!.id);
  }
  const started = virtual;
  const wall = performance.now();
  const queue = [...ids];
  const outcomes: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const outcome = await syncToMoco(ctx, { client, webUrl: 'https://load.mocoapp.com' }, id).catch((err: Error) => ({ status: `error: ${err.message.slice(0, 60)}` }));
        outcomes[outcome.status] = (outcomes[outcome.status] ?? 0) + 1;
      }
    }),
  );
  const requests = fake.requests();
  const times = requests.map((r) => r.receivedAt.getTime()).sort((a, b) => a - b);
  let busiest = 0;
  for (let i = 0, j = 0; j < times.length; j += 1) {
    while (times[j]! - times[i]! >= WINDOW_MS) i += 1;
    busiest = Math.max(busiest, j - i + 1);
  }
  console.log(
    JSON.stringify(
      {
        deals: DEALS,
        workers: WORKERS,
        limit: `${LIMIT} per ${WINDOW_MS / 1000} s`,
        outcomes,
        mocoRequests: requests.length,
        requestsPerDeal: Math.round((requests.length / DEALS) * 100) / 100,
        rateLimited429: requests.filter((r) => r.status === 429).length,
        busiestWindow: busiest,
        virtualMinutes: Math.round(((virtual - started) / 60_000) * 10) / 10,
        wallSeconds: Math.round((performance.now() - wall) / 100) / 10,
        records: { companies: fake.records('companies').length, deals: fake.records('deals').length, offers: fake.records('offers').length },
      },
      null,
      2,
    ),
  );
  await fake.close();
} finally {
  await pool.end();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
