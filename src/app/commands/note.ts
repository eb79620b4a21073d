import { run, withTransaction } from '../../db/pool.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import { insertNote } from '../../db/sql/lookup.ts';
import type { AppContext } from '../context.ts';

/**
 * Adds a note to a lead (`/lead note`, the Note modal) with an audit row naming the author; the
 * audit row holds the note's id only, never its text.
 *
 * @example
 * await addNote(ctx, { leadId: 42, authorSlackUser: 'U0ANNA001', text: 'Call back on Friday' }) // { noteId: 5 }
 */
export async function addNote(
  ctx: AppContext,
  input: { leadId: number; authorSlackUser: string; text: string },
): Promise<{ noteId: number | null }> {
  const now = ctx.now();
  return withTransaction(ctx.pool, async (tx) => {
    const [note] = await run(tx, insertNote(input.leadId, input.authorSlackUser, input.text, now));
    const noteId = note?.id ?? null;
    const entry = { actor: input.authorSlackUser, action: 'note', leadId: input.leadId, detail: { noteId }, now };
    await run(tx, insertAudit(entry));
    return { noteId };
  });
}
