import type { MocoSubjectRow } from '../../db/sql/moco-sync.ts';
import { postToDeals } from '../changes/deal-notices.ts';
import { renderMocoSync } from '../../slack/render/deals.ts';
import type { AppContext } from '../context.ts';
import { personView } from '../queries/lead-card.ts';

/** What one sync did. */
export type MocoSyncOutcome =
  | { status: 'synced'; companyId: number; personId: number; dealId: number | null; offerId: number | null; invoiceId: number | null }
  | { status: 'already_synced' | 'gone' }
  | { status: 'failed'; error: string };

/**
 * Tells the deal's thread (see `postToDeals`) what a MOCO sync did: the records created, linked to MOCO, or MOCO's
 * reason for refusing. One message per request, updated in place when a retry succeeds.
 *
 * @example
 * await announceSync(ctx, subject, { status: 'synced', companyId: 4, personId: 9, dealId: 31, offerId: 77, invoiceId: null }, 'https://acme.mocoapp.com');
 */
export async function announceSync(
  ctx: AppContext,
  subject: MocoSubjectRow,
  outcome: MocoSyncOutcome,
  webUrl: string | null,
): Promise<void> {
  if (outcome.status !== 'synced' && outcome.status !== 'failed') return;
  const message = renderMocoSync({
    requestId: subject.request_id,
    dealId: subject.deal_id,
    lead: { ...personView(subject.lead_id, subject), score: 0 },
    entity: subject.entity,
    outcome,
    webUrl,
  });
  const post = { key: `moco:${subject.request_id}`, kind: 'moco', leadId: subject.lead_id, message };
  await postToDeals(ctx.pool, ctx, post, ctx.now());
}
