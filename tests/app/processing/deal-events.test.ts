import { describe, expect, it } from 'vitest';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import type { MetadataValue } from '../../../src/engine/event.ts';
import { mapHubspot } from '../../../src/engine/mappers/hubspot.ts';
import { event, storeEvents } from '../../support/engine-fixtures.ts';
import { leadDeskRuleset, seedLead } from '../../support/lead-desk.ts';
import { useSlackHarness } from '../../support/slack-harness.ts';

const ADA = 'ada@genomics-lab.example';

describe('deals closed by other systems', () => {
  const h = useSlackHarness(leadDeskRuleset(), () => {}, { start: '2026-11-20T10:00:00Z' });

  const deals = async () =>
    (await h.db.pool.query('SELECT status, value::float8 AS value, currency, lost_reason, closed_by FROM deals')).rows;
  const deliver = async (type: string, metadata: Record<string, MetadataValue>, source = 'website') =>
    processEvents(await storeEvents(h.db, [event(type, { email: ADA, source, metadata })]), h.ctx);

  it('closes the lead’s open deal from HubSpot’s deal workflow, with amount and currency', async () => {
    await seedLead(h, ADA);
    const mapped = mapHubspot(
      { email: ADA, dealstage: 'closedwon', amount: '9800', deal_currency_code: 'EUR' },
      { source: 'hubspot', headers: new Headers(), receivedAt: new Date('2026-11-20T10:00:00Z') },
    );
    expect(mapped.ok && mapped.events[0]?.type).toBe('crm.deal_won');
    const [hubspot] = mapped.ok ? mapped.events : [];
    await processEvents(await storeEvents(h.db, [{ ...hubspot!, id: 'hs-1', occurredAt: '2026-11-20T10:00:00.000Z' }]), h.ctx);
    expect(await deals()).toEqual([{ status: 'won', value: 9800, currency: 'EUR', lost_reason: null, closed_by: 'hubspot' }]);
  });

  it('follows MOCO’s deal updates once, whatever order and however often they arrive', async () => {
    await seedLead(h, ADA);
    await deliver('moco.deal_updated', { deal_status: 'lost', entity_id: '55' }, 'moco');
    await deliver('moco.deal_updated', { deal_status: 'lost', entity_id: '55' }, 'moco');
    // A late "won" for a deal MOCO reported lost changes nothing here; a manager reopens it if so.
    await deliver('moco.deal_updated', { deal_status: 'won', entity_id: '55', money: 100 }, 'moco');
    expect(await deals()).toEqual([{ status: 'lost', value: null, currency: 'EUR', lost_reason: null, closed_by: 'moco' }]);
    const announced = await h.db.pool.query(`SELECT 1 FROM slack_outbox WHERE kind = 'deal'`);
    expect(announced.rows).toHaveLength(1);
  });

  it('reads a native deal.lost with its reason', async () => {
    await seedLead(h, ADA);
    await deliver('deal.lost', { reason: 'No budget this year' });
    expect(await deals()).toEqual([
      { status: 'lost', value: null, currency: 'EUR', lost_reason: 'No budget this year', closed_by: 'website' },
    ]);
  });
});
