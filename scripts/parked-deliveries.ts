// `npm run deliveries:parked -- list` shows the correctly signed deliveries Leadline could not read
// from sources set to `on_invalid: park`; `npm run deliveries:parked -- retry [id …]` reads them (all,
// or the ones named) again with the current ruleset's mappers and stores those that now read.
// Against DATABASE_URL or the embedded database.
import { listInvalidDeliveries, retryInvalidDeliveries } from '../src/app/intake/invalid-deliveries.ts';
import { IntakeWriter } from '../src/app/intake/intake-writer.ts';
import { loadConfig, loadDotEnv } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { loadRulesetFile } from '../src/ruleset-file.ts';
import { openToolDatabase } from './database.ts';

const USAGE = 'usage: npm run deliveries:parked -- list | retry [id …]';
const [command, ...ids] = process.argv.slice(2);
if (command !== 'list' && command !== 'retry') {
  console.error(USAGE);
  process.exit(1);
}
if (ids.some((id) => !/^[0-9]{1,18}$/.test(id))) {
  console.error('delivery ids are numbers, as `list` shows them');
  process.exit(1);
}

loadDotEnv();
const config = loadConfig();
const { ruleset } = await loadRulesetFile(config.rulesPath);
const database = await openToolDatabase(config, createLogger('warn'), 'leadline-parked-deliveries');
let exitCode = 0;
try {
  if (command === 'list') {
    const parked = await listInvalidDeliveries(database.pool, 1_000);
    if (parked.length === 0) console.log('no parked deliveries');
    for (const row of parked) {
      console.log(`${row.id}  ${row.received_at.toISOString()}  ${row.source}  ${row.reason}  ${row.body.length} bytes  sent ${row.attempts}×`);
      console.log(`    ${row.detail.split('\n')[0]}`);
    }
  } else {
    const intake = new IntakeWriter(database.pool, database.boss);
    const sources = new Map(ruleset.sources.map((source) => [source.name, source]));
    const result = await retryInvalidDeliveries({ pool: database.pool, intake, sources, now: () => new Date() }, ids.length === 0 ? null : ids);
    await intake.drain();
    if (result.stored.length + result.stillInvalid.length === 0) console.log('nothing to retry');
    if (result.stored.length > 0) console.log(`stored: ${result.stored.join(', ')}`);
    for (const still of result.stillInvalid) console.log(`still invalid: ${still.id}  ${still.detail.split('\n')[0]}`);
  }
} catch (err) {
  console.error(`deliveries:parked failed: ${err instanceof Error ? err.message : String(err)}`);
  exitCode = 2;
} finally {
  await database.close();
}
process.exit(exitCode);
