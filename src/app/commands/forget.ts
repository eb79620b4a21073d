import { run, runCount, withTransaction } from '../../db/pool.ts';
import {
  anonymizeLead,
  deleteEventsOf,
  deleteIdentifiersOf,
  deleteNotesOf,
  deleteOrphanOrganization,
  lockPersonalFields,
  type PersonalRow,
  redactOutbox,
  scrubColumn,
  selectScrubColumns,
} from '../../db/sql/forget.ts';
import type { AppContext } from '../context.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { insertAudit } from '../../db/sql/audit.ts';

/** What an erasure removed: counts only, never the data itself (this goes to the audit log). */
export interface ForgetSummary {
  leadId: number;
  alreadyErased: boolean;
  events: number;
  identifiers: number;
  notes: number;
  slackMessages: number;
  /** Rows overwritten per `table.column` in other tables that mentioned the person. */
  scrubbed: Record<string, number>;
}

/** Tables the erasure handles one by one; every other table with a `lead_id` is scrubbed generically. */
const HANDLED_TABLES = ['leads', 'intake_events', 'lead_identifiers', 'lead_notes', 'slack_outbox'];

/** What replaces a Slack message that named the person. */
export const ERASED_MESSAGE = {
  text: 'This message was removed: the lead’s data was erased on request.',
  blocks: [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: ':wastebasket: This message was removed: the lead’s data was erased on request.',
      },
    },
  ],
};
const ERASED_VIEW = {
  view: {
    type: 'home',
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Open the Home tab again to refresh it.' } }],
  },
};

const escapeRegex = (value: string) => value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/** A case-insensitive PostgreSQL regex matching `value` only where it is not part of a longer word. */
function wordPattern(value: string): string {
  return `(^|[^[:alnum:]_])${escapeRegex(value)}($|[^[:alnum:]_])`;
}

/**
 * The person's values as PostgreSQL regular expressions: `strong` ones identify the person anywhere
 * (email, phone, full name) and are searched across stored Slack messages; `all` adds single names,
 * company, title and website, searched only in rows that belong to the lead.
 *
 * @example
 * personalPatterns({ email: 'ada@lab.example', first_name: 'Ada', last_name: 'Lovelace', … }).strong
 * // ['(^|[^[:alnum:]_])ada@lab\\.example($|[^[:alnum:]_])', …]
 */
export function personalPatterns(row: Omit<PersonalRow, 'id' | 'organization_id' | 'erased_at'>): {
  strong: string[];
  all: string[];
} {
  const clean = (values: (string | null)[]) =>
    [...new Set(values.map((v) => v?.trim() ?? '').filter((v) => v.length >= 2))].map(wordPattern);
  const pair = row.first_name && row.last_name ? `${row.first_name} ${row.last_name}` : null;
  const strong = clean([row.email, row.phone, row.full_name, pair]);
  const all = clean([
    row.email,
    row.phone,
    row.full_name,
    pair,
    row.first_name,
    row.last_name,
    row.company,
    row.title,
    row.website,
  ]);
  return { strong, all };
}

/**
 * Erases a lead's personal data (GDPR), in one transaction: the lead row is anonymized in place
 * (score, grade and status stay, so totals add up), its events (and any event mentioning its email),
 * identifiers and notes are deleted, stored Slack messages naming it become a stub (posted ones are
 * edited in Slack too), other rows of the lead that mention the person are overwritten, an orphaned
 * organization goes, and the audit log records who erased which lead id, with counts only.
 * Null when there is no such lead.
 *
 * @example
 * const summary = await forgetLead(ctx, { leadId: 42, actor: 'U0ADMIN01' });
 * // { leadId: 42, events: 7, identifiers: 2, notes: 1, slackMessages: 3, scrubbed: {}, alreadyErased: false }
 */
export async function forgetLead(
  ctx: AppContext,
  input: { leadId: number; actor: string },
): Promise<ForgetSummary | null> {
  const now = ctx.now();
  const summary = await withTransaction(ctx.pool, async (tx) => {
    const [row] = await run(tx, lockPersonalFields(input.leadId));
    if (row === undefined) return null;
    const result: ForgetSummary = {
      leadId: row.id,
      alreadyErased: row.erased_at !== null,
      events: 0,
      identifiers: 0,
      notes: 0,
      slackMessages: 0,
      scrubbed: {},
    };
    const patterns = personalPatterns(row);
    const emailLike = row.email === null ? null : `%${row.email.replace(/[\\%_]/g, '\\$&')}%`;
    result.events = await runCount(tx, deleteEventsOf(row.id, emailLike));
    result.identifiers = await runCount(tx, deleteIdentifiersOf(row.id));
    result.notes = await runCount(tx, deleteNotesOf(row.id));
    const outbox = await run(tx, redactOutbox(row.id, patterns.strong, ERASED_MESSAGE, ERASED_VIEW, now));
    result.slackMessages = outbox.length;
    if (patterns.all.length > 0) {
      for (const column of await run(tx, selectScrubColumns(HANDLED_TABLES))) {
        const changed = await runCount(tx, scrubColumn(column, row.id, patterns.all));
        if (changed > 0) result.scrubbed[`${column.table_name}.${column.column_name}`] = changed;
      }
    }
    await run(tx, anonymizeLead(row.id, patterns.all, now));
    if (row.organization_id !== null) await run(tx, deleteOrphanOrganization(row.organization_id));
    const { events, identifiers, notes, slackMessages, scrubbed, alreadyErased } = result;
    const detail = { events, identifiers, notes, slackMessages, scrubbed, alreadyErased };
    await run(tx, insertAudit({ actor: input.actor, action: 'forget', leadId: row.id, detail, now }));
    if (result.slackMessages > 0) await kickSlackDelivery(ctx.queue, { db: tx });
    return result;
  });
  if (summary !== null) ctx.log.info({ ...summary }, 'lead erased');
  return summary;
}
