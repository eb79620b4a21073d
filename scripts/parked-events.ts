// `npm run events:parked -- list` shows the events whose processing failed on their own (see
// app/processing/poison.ts); `npm run events:parked -- retry [event-id …]` sends them (all, or the
// ones named) back to processing after a fix. Against DATABASE_URL or the embedded database.
import { listParkedEvents, retryParkedEvents } from '../src/app/processing/poison.ts';
import { loadConfig, loadDotEnv } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { openToolDatabase } from './database.ts';

const USAGE = 'usage: npm run events:parked -- list | retry [event-id …]';
const [command, ...ids] = process.argv.slice(2);
if (command !== 'list' && command !== 'retry') {
  console.error(USAGE);
  process.exit(1);
}
if (ids.some((id) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))) {
  console.error('event ids are UUIDs, as `list` shows them');
  process.exit(1);
}

loadDotEnv();
const database = await openToolDatabase(loadConfig(), createLogger('warn'), 'leadline-parked-events');
let exitCode = 0;
try {
  const ctx = { pool: database.pool, queue: database.boss, now: () => new Date() };
  if (command === 'list') {
    const parked = await listParkedEvents(ctx, 1_000);
    if (parked.length === 0) console.log('no parked events');
    for (const row of parked) {
      console.log(`${row.event_id}  ${row.parked_at.toISOString()}  ${row.source} ${row.event_type}  ruleset ${row.ruleset_version}  tries ${row.attempts}`);
      console.log(`    ${row.error.split('\n')[0]}`);
    }
  } else {
    const retried = await retryParkedEvents(ctx, ids.length === 0 ? null : ids);
    console.log(retried.length === 0 ? 'nothing to retry' : `sent back to processing: ${retried.join(', ')}`);
  }
} catch (err) {
  console.error(`events:parked failed: ${err instanceof Error ? err.message : String(err)}`);
  exitCode = 2;
} finally {
  await database.close();
}
// The queue and pool may keep timers; the tool is done.
process.exit(exitCode);
