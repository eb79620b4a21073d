import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import { notifyAdmins } from '../app/commands/notify-admins.ts';
import { listen, notify } from '../db/listen.ts';
import { run, withTransaction } from '../db/pool.ts';
import { RULESET_CHANNEL, recordRuleset, selectRulesetBody } from '../db/sql/rulesets.ts';
import { parseRuleset, type Ruleset } from '../engine/ruleset.ts';
import { isLeadlineError } from '../errors.ts';
import { loadRulesetFile } from '../ruleset-file.ts';
import { escapeMrkdwn } from '../slack/render/mrkdwn.ts';
import type { Started } from './roles.ts';

export interface RulesetReload {
  /** Reads the ruleset file again: a valid one is announced to every process, a broken one refused. */
  fromFile(): Promise<'announced' | 'unchanged' | 'refused'>;
  stop(): Promise<void>;
}

/**
 * Reloading the ruleset without a restart. `SIGHUP` (and, with `LEADLINE_RULES_WATCH=1`, a change
 * of the file) reads the file; a valid new version is stored in `rulesets` and announced with a
 * NOTIFY, and every process of the deployment, this one included, loads that same text from the
 * database, so all run one version whatever their own copy of the file says. A broken file is
 * refused: its errors are logged and sent to the admins in Slack, and the running version stays.
 *
 * @example
 * const reload = await startRulesetReload(started, { rulesPath: config.rulesPath, watch: false });
 * process.kill(process.pid, 'SIGHUP'); // or: await reload.fromFile()
 */
export async function startRulesetReload(
  started: Started,
  options: { rulesPath: string; watch: boolean },
): Promise<RulesetReload> {
  const { ctx, log } = started;
  let applying = Promise.resolve();
  const adopt = (version: string) => {
    applying = applying.then(() => adoptVersion(started, version)).catch((err: unknown) => log.error({ err, version }, 'announced ruleset could not be loaded; the running one stays'));
  };
  const listener = await listen(started.url, RULESET_CHANNEL, (payload) => {
    // After a reconnect there is no payload: the next SIGHUP announces again.
    if (payload !== undefined && payload !== ctx.ruleset.version) adopt(payload);
  }, 'leadline-ruleset');

  const fromFile = async (): Promise<'announced' | 'unchanged' | 'refused'> => {
    let loaded: { ruleset: Ruleset; text: string };
    try {
      loaded = await loadRulesetFile(options.rulesPath);
    } catch (err) {
      await refuse(started, options.rulesPath, err);
      return 'refused';
    }
    if (loaded.ruleset.version === ctx.ruleset.version) return 'unchanged';
    await withTransaction(started.pool, async (tx) => {
      await run(tx, recordRuleset(loaded.ruleset.version, loaded.text));
      await notify(tx, RULESET_CHANNEL, loaded.ruleset.version);
    });
    log.info({ version: loaded.ruleset.version, file: options.rulesPath }, 'ruleset announced to every process');
    return 'announced';
  };
  const onSignal = () => {
    void fromFile().catch((err: unknown) => log.error({ err }, 'ruleset reload failed'));
  };
  process.on('SIGHUP', onSignal);
  let debounce: NodeJS.Timeout | undefined;
  // Editors save in several writes (or by renaming): one reload per burst.
  const watcher = options.watch
    ? watch(options.rulesPath, () => {
        clearTimeout(debounce);
        debounce = setTimeout(onSignal, 250);
      })
    : null;
  return {
    fromFile,
    stop: async () => {
      process.off('SIGHUP', onSignal);
      watcher?.close();
      clearTimeout(debounce);
      await listener.stop();
      await applying;
    },
  };
}

async function adoptVersion(started: Started, version: string): Promise<void> {
  const { ctx, log } = started;
  if (version === ctx.ruleset.version) return;
  const [row] = await run(started.pool, selectRulesetBody(version));
  if (row === undefined) throw new Error(`ruleset ${version} was announced but is not stored`);
  const previous = ctx.ruleset.version;
  ctx.ruleset = parseRuleset(row.body, { version });
  ctx.metrics.rulesetInfo.reset();
  ctx.metrics.rulesetInfo.set({ version }, 1);
  for (const listener of started.onRulesetChange) await listener(ctx.ruleset);
  log.info({ version, previous }, 'ruleset reloaded');
}

async function refuse(started: Started, file: string, err: unknown): Promise<void> {
  const { ctx, log } = started;
  const issues = isLeadlineError(err) ? err.issues.map((i) => `${i.path}: ${i.message}`) : [];
  const reason = err instanceof Error ? err.message : String(err);
  log.error({ file, reason, issues, running: ctx.ruleset.version }, 'ruleset refused; the running version stays');
  const shown = issues.slice(0, 8).map((line) => `• ${escapeMrkdwn(line)}`);
  const more = issues.length > shown.length ? [`• … and ${issues.length - shown.length} more`] : [];
  const text = [`⚠️ Leadline refused the new ruleset (${escapeMrkdwn(file)}): ${escapeMrkdwn(reason)}`, ...shown, ...more, `Still running ${ctx.ruleset.version}. \`npm run rules:check -- <file>\` shows each problem with its line.`].join('\n');
  // One message per broken text: saving the same mistake twice tells nobody twice.
  const key = `ruleset:refused:${createHash('sha256').update(reason + issues.join('\n')).digest('hex').slice(0, 16)}`;
  await notifyAdmins(ctx, { kind: 'ruleset', key, text }).catch((notifyErr: unknown) => log.warn({ err: notifyErr }, 'admins could not be told'));
}
