/**
 * The admins' "Dead letters" section of App Home: what gave up (a Slack delivery, a MOCO sync, a
 * parked event or delivery, a job out of retries) with Retry and Discard per item. Pure; every
 * text but the ids enters through `plain`.
 */
import type { types } from '@slack/bolt';
import { actions, button, context, divider, header, plain, section } from './mrkdwn.ts';
import { relativeTime } from './time.ts';

/**
 * Button action ids. Slack wants an action id once per view, so each button carries the dead
 * letter after the prefix (`deadletter.retry:slack:12`), as `lead.pick:<id>` does; listeners match
 * the prefix and read the dead letter from the value (`slack:12`).
 */
export const DEAD_LETTER_ACTIONS = { retry: 'deadletter.retry', discard: 'deadletter.discard' } as const;

export interface DeadLetterLine {
  kind: string;
  id: string;
  when: Date;
  what: string;
  error: string | null;
  tries: number;
}

export interface HomeDeadLetters {
  total: number;
  items: readonly DeadLetterLine[];
  /** What the admin's last press did, shown once above the list. */
  notice?: string | null;
}

export const MAX_HOME_DEAD_LETTERS = 10;

/**
 * The section's blocks: a header, the last press's outcome, and per dead letter a line and its
 * two buttons.
 *
 * @example
 * deadLetterBlocks({ total: 1, items: [{ kind: 'moco', id: '12', what: 'MOCO deal sync for Ada', … }] }, now)
 */
export function deadLetterBlocks(letters: HomeDeadLetters, now: Date): types.KnownBlock[] {
  const blocks: types.KnownBlock[] = [divider(), header(`Dead letters (${letters.total})`)];
  if (letters.notice != null && letters.notice !== '') blocks.push(context([plain(letters.notice, 500)]));
  if (letters.items.length === 0) {
    blocks.push(section('Nothing gave up: every delivery, sync, event and job went through.', { blockId: 'home-dead-letters' }));
    return blocks;
  }
  for (const item of letters.items.slice(0, MAX_HOME_DEAD_LETTERS)) {
    const ref = `${item.kind}:${item.id}`;
    const tries = `${item.tries} ${item.tries === 1 ? 'try' : 'tries'}`;
    const why = item.error === null ? '' : `\n${plain(item.error.split('\n')[0] ?? '', 300)}`;
    blocks.push(
      section(`*${plain(item.what, 200)}* · \`${plain(ref, 60)}\` · ${tries} · ${relativeTime(item.when, now)}${why}`),
      actions(`deadletter:${ref}`, [
        button({ text: 'Retry', actionId: `${DEAD_LETTER_ACTIONS.retry}:${ref}`, value: ref, style: 'primary' }),
        button({ text: 'Discard', actionId: `${DEAD_LETTER_ACTIONS.discard}:${ref}`, value: ref, style: 'danger' }),
      ]),
    );
  }
  const shown = Math.min(letters.items.length, MAX_HOME_DEAD_LETTERS);
  if (letters.total > shown) blocks.push(context([`…and ${letters.total - shown} more: \`npm run deadletters -- list\``]));
  return blocks;
}
