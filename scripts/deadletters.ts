// `npm run deadletters -- list` shows every dead letter (failed Slack deliveries, failed MOCO syncs,
// parked events, parked signed deliveries, jobs that used up their retries) in one list;
// `retry <kind>:<id>` gives one another go through its own retry, `discard <kind>:<id>` sets it
// aside for good (see app/dead-letters.ts). Against DATABASE_URL or the embedded database.
// Exit codes: 0 done (or nothing to do), 1 usage, 2 failure (including a delivery still unreadable).
import {
  DEAD_LETTER_KINDS,
  describeOutcome,
  discardDeadLetter,
  formatDeadLetterRef,
  listDeadLetters,
  parseDeadLetterRef,
  retryDeadLetter,
} from '../src/app/dead-letters.ts';
import type { AppContext } from '../src/app/context.ts';
import { loadConfig, loadDotEnv } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics.ts';
import { loadRulesetFile } from '../src/ruleset-file.ts';
import { openToolDatabase } from './database.ts';

const USAGE = `usage: npm run deadletters -- list | retry <kind>:<id> | discard <kind>:<id>   (kinds: ${DEAD_LETTER_KINDS.join(', ')})`;
const [command, target, ...rest] = process.argv.slice(2);
const isList = command === 'list' && target === undefined;
const isAction = (command === 'retry' || command === 'discard') && target !== undefined && rest.length === 0;
if (!isList && !isAction) {
  console.error(USAGE);
  process.exit(1);
}
const ref = target === undefined ? null : parseDeadLetterRef(target);
if (isAction && ref === null) {
  console.error(`not a dead letter id: ${target ?? ''} (write <kind>:<id> as \`list\` shows it)`);
  process.exit(1);
}

loadDotEnv();
const config = loadConfig();
const log = createLogger('warn');
// The ruleset's sources are what a parked delivery is read with again.
const { ruleset } = await loadRulesetFile(config.rulesPath);
const database = await openToolDatabase(config, log, 'leadline-deadletters');
let exitCode = 0;
try {
  const ctx: AppContext = { pool: database.pool, queue: database.boss, ruleset, log, metrics: createMetrics({ defaults: false }), now: () => new Date() };
  if (ref === null) {
    const { total, items } = await listDeadLetters(ctx, 1_000);
    if (total === 0) console.log('no dead letters');
    for (const item of items) {
      console.log(`${formatDeadLetterRef(item)}  ${item.when.toISOString()}  ${item.what}  tries ${item.tries}`);
      if (item.error !== null) console.log(`    ${item.error.split('\n')[0]}`);
    }
    if (total > items.length) console.log(`…and ${total - items.length} more`);
  } else {
    const outcome = command === 'retry' ? await retryDeadLetter(ctx, ref) : await discardDeadLetter(ctx, ref);
    console.log(describeOutcome(ref, outcome));
    if (outcome.status === 'still_failing') exitCode = 2;
  }
} catch (err) {
  console.error(`deadletters failed: ${err instanceof Error ? err.message : String(err)}`);
  exitCode = 2;
} finally {
  await database.close();
}
// The queue and pool may keep timers; the tool is done.
process.exit(exitCode);
