// `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database.
import path from 'node:path';
import pg from 'pg';
import { loadConfig, loadDotEnv } from '../src/config.ts';
import { databaseUrl, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';

loadDotEnv();
const config = loadConfig();
const embedded =
  config.databaseUrl === undefined
    ? await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'pg') })
    : null;
try {
  let url = config.databaseUrl ?? databaseUrl(embedded!.url, 'leadline');
  if (embedded !== null) {
    const admin = new pg.Client({ connectionString: embedded.url });
    await admin.connect();
    const { rowCount } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'leadline'`);
    if (rowCount === 0) await admin.query('CREATE DATABASE leadline');
    await admin.end();
    url = databaseUrl(embedded.url, 'leadline');
  }
  const pool = createPool(url, 2);
  const applied = await migrate(pool);
  await pool.end();
  console.log(applied.length === 0 ? 'nothing to apply' : `applied ${applied.join(', ')}`);
} finally {
  await embedded?.stop();
}
