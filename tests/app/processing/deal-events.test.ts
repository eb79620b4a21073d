import { describe, expect, it } from 'vitest';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import type { MetadataValue } from '../../../src/engine/event.ts';
import { mapHubspot } from '../../../src/engine/mappers/hubspot.ts';
import { mapMoco } from '../../../src/engine/mappers/moco.ts';
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

  it('records an offer MOCO reports accepted on the synced deal, once, and tells the deals channel', async () => {
    const leadId = await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    await h.db.pool.query(`UPDATE deals SET moco_deal_id = 55, moco_offer_id = 77, value = 12000, currency = 'EUR'`);
    await h.db.pool.query(`INSERT INTO lead_identifiers (kind, value, lead_id) VALUES ('moco_contact_id', '901', $1)`, [leadId]);
    const headers = new Headers({ 'X-Moco-Target': 'Offer', 'X-Moco-Event': 'update' });
    const body = { id: 77, title: 'Offer', status: 'accepted', contact: { id: 901, firstname: 'Ada', lastname: 'Lovelace' }, deal: { id: 55 } };
    for (let i = 0; i < 2; i += 1) {
      const mapped = mapMoco(body, { source: 'moco', headers, receivedAt: new Date('2026-11-20T10:00:00Z') });
      const [offer] = mapped.ok ? mapped.events : [];
      await processEvents(await storeEvents(h.db, [{ ...offer!, id: `moco-offer-${i}`, occurredAt: '2026-11-20T10:00:00.000Z' }]), h.ctx);
    }
    const { rows } = await h.db.pool.query('SELECT offer_accepted_at IS NOT NULL AS accepted FROM deals');
    expect(rows).toEqual([{ accepted: true }]);
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM leads')).rows).toEqual([{ n: 1 }]);
    const posts = await h.db.pool.query(`SELECT payload->>'text' AS text FROM slack_outbox WHERE kind = 'deal'`);
    expect(posts.rows).toEqual([{ text: '🤝 Ada Lovelace accepted the offer in MOCO (12,000 EUR).' }]);
  });
});
