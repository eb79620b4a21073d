import { type Queryable, run, withTransaction } from '../../db/pool.ts';
import { insertAudit } from '../../db/sql/audit.ts';
import { selectLeadExport } from '../../db/sql/forget.ts';
import type { AppContext } from '../context.ts';
import { exportMessages } from '../../slack/render/lead-lists.ts';
import { kickSlackDelivery } from '../../slack/outbox/kick.ts';
import { enqueueSlack } from '../../slack/outbox/enqueue.ts';

const EXPORT_PARTS = 10;

/**
 * Everything stored about a lead as one JSON document (lead, identifiers, events with payloads,
 * score rows, signals, changes, deals, notes, alerts, routing, tasks, audit), for a data subject
 * access request. Null when there is no such lead.
 *
 * @example
 * const data = await exportLead(pool, 42); // { lead: { id: 42, email: … }, events: [ … ], … }
 */
async function exportLead(db: Queryable, leadId: number): Promise<Record<string, unknown> | null> {
  const [row] = await run(db, selectLeadExport(leadId));
  return row === undefined || row.data.lead === null ? null : row.data;
}

/**
 * `/lead export <email>`: DMs the lead's stored data as JSON to the admin who asked (several
 * messages when it is long), plus an audit entry. The messages are keyed by the command that asked,
 * so a command Slack delivers twice sends one export. Null when there is no such lead.
 *
 * @example
 * await sendExport(ctx, { leadId: 42, toSlackUser: 'U0SAMADM5', interaction: 'command:1337.4242.d1e2f3' }) // { messages: 2 }
 */
export async function sendExport(
  ctx: AppContext,
  input: { leadId: number; toSlackUser: string; interaction: string },
): Promise<{ messages: number } | null> {
  const { leadId } = input;
  const data = await exportLead(ctx.pool, leadId);
  if (data === null) return null;
  const messages = exportMessages(JSON.stringify(data, null, 2), leadId, EXPORT_PARTS);
  const now = ctx.now();
  await withTransaction(ctx.pool, async (tx) => {
    for (const [i, message] of messages.entries()) {
      const entry = {
        key: `export:${leadId}:${input.interaction}:${i + 1}`,
        kind: 'lead.export',
        leadId,
        method: 'chat.postMessage' as const,
        channel: input.toSlackUser,
        payload: { text: message.text },
      };
      await enqueueSlack(tx, entry, now);
    }
    const detail = { messages: messages.length };
    await run(tx, insertAudit({ actor: input.toSlackUser, action: 'export', leadId, detail, now }));
  });
  await kickSlackDelivery(ctx.queue);
  return { messages: messages.length };
}
