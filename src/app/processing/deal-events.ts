import type { PoolClient } from '../../db/pool.ts';
import { run } from '../../db/pool.ts';
import { markOfferAccepted, selectDealToClose } from '../../db/sql/deals.ts';
import { dealCloseOf, offerAcceptedOf } from '../../engine/deals.ts';
import { closeDeal } from '../changes/deal.ts';
import { announceOfferAccepted } from '../changes/deal-notices.ts';
import type { AppContext } from '../context.ts';
import type { ScoredLead } from './follow-up.ts';

/**
 * Records MOCO's accepted offers and closes the deals that events of the batch say were won or lost elsewhere (HubSpot's deal
 * workflow, MOCO's deal updates, native `deal.won` / `deal.lost`), after routing so a deal the
 * batch opened can close too. The close goes through closeDeal, so its rules fire like any other;
 * a deal closed already stays as it is (MOCO repeats and reorders its webhooks). A close MOCO
 * reported is recorded as MOCO's and never synced back to it.
 *
 * @example
 * await closeDealsFromEvents(tx, ctx, scored, now) // 1
 */
export async function closeDealsFromEvents(
  tx: PoolClient,
  ctx: AppContext,
  scored: readonly ScoredLead[],
  now: Date,
): Promise<number> {
  let closed = 0;
  for (const { leadId, events } of scored) {
    for (const event of events) {
      const accepted = offerAcceptedOf(event);
      if (accepted !== null) {
        for (const { id } of await run(tx, markOfferAccepted(leadId, accepted, now))) {
          await announceOfferAccepted(tx, ctx, { dealId: id, now });
        }
        continue;
      }
      const signal = dealCloseOf(event);
      if (signal === null) continue;
      const [deal] = await run(tx, selectDealToClose(leadId, signal.mocoDealId));
      if (deal === undefined || deal.status !== 'open') {
        ctx.log.info({ leadId, event: event.id, outcome: signal.outcome }, 'deal close event found no open deal');
        continue;
      }
      const close = {
        value: signal.value,
        currency: signal.currency,
        fromMoco: signal.fromMoco,
        ...(signal.outcome === 'lost' ? { lostReason: signal.reason } : {}),
      };
      const result = await closeDeal(tx, ctx, { dealId: deal.id, outcome: signal.outcome, actor: signal.closedBy, now, close });
      if (result.closed) closed += 1;
    }
  }
  return closed;
}
