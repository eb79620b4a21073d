// `npm run db:dump`: applies migrations/ to a scratch embedded PostgreSQL and writes schema.sql.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { dumpSchema } from '../src/db/schema-dump.ts';

const target = fileURLToPath(new URL('../schema.sql', import.meta.url));
const dir = await mkdtemp(path.join(tmpdir(), 'leadline-dump-'));
const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), ephemeral: true });
try {
  const pool = createPool(server.url, 2);
  await migrate(pool);
  await writeFile(target, await dumpSchema(pool));
  await pool.end();
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
