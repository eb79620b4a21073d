import { describe, expect, it } from 'vitest';
import { mapPayload } from '../../../src/engine/mappers/index.ts';
import {
  mocoCompany,
  mocoContact,
  mocoDeal,
  mocoHeaders,
  mocoOffer,
  SAMPLE_TIME,
} from '../../support/payloads.ts';
import { ctx, events, issues, paths, RECEIVED } from '../../support/mapper-fixtures.ts';

describe('moco', () => {
  const moco = (target: string, event: string) =>
    mocoHeaders({ target, event, timestampMs: Date.parse(SAMPLE_TIME) });

  it('maps a won deal update field by field', () => {
    const body = mocoDeal({ id: 555, status: 'won' });
    expect(events('moco', body, moco('Deal', 'update'))).toEqual([
      {
        id: null,
        type: 'moco.deal_updated',
        source: 'test-source',
        occurredAt: SAMPLE_TIME,
        lead: { fullName: 'Max Muster', company: 'Beispiel AG', ids: { moco_contact_id: '123311' } },
        metadata: {
          entity_id: '555',
          name: 'Website V2',
          status: 'won',
          deal_status: 'won',
          stage: 'Angebot',
          money: 61000,
          currency: 'CHF',
        },
        utm: {},
      },
    ]);
    expect(
      events('moco', mocoDeal({ status: 'pending' }), moco('Deal', 'update'))[0]?.metadata.deal_status,
    ).toBeUndefined();
  });

  it('maps contacts by id and work email', () => {
    const [event] = events('moco', mocoContact(), moco('Contact', 'create'));
    expect(event).toMatchObject({
      type: 'moco.contact_created',
      lead: {
        email: 'peter.muster@beispiel.example',
        firstName: 'Peter',
        lastName: 'Muster',
        title: 'Account Manager',
        phone: '+41 445 45 67',
        company: 'Beispiel AG',
        ids: { moco_contact_id: '123311' },
      },
    });
    expect(events('moco', mocoContact(), moco('Contact', 'create'))[0]?.metadata).toEqual({
      entity_id: '123311',
    });
    const [noEmail] = events('moco', mocoContact({ work_email: 'n/a' }), moco('Contact', 'update'));
    expect(noEmail?.lead.email).toBeUndefined();
  });

  it('derives types from the target and event headers', () => {
    const withPerson = mocoOffer({ contact: { id: 9, firstname: 'Jane', lastname: 'Roe' } });
    const [offer] = events('moco', withPerson, moco('Offer', 'archive'));
    expect(offer).toMatchObject({
      type: 'moco.offer_archived',
      lead: { fullName: 'Jane Roe', company: 'Acme Corp.', ids: { moco_contact_id: '9' } },
      metadata: {
        identifier: 'A2611-042',
        title: 'Offer - User Management',
        deal_id: '1234',
        net_total: 12750,
        gross_total: 15172.5,
      },
    });
  });

  it('maps invoice payments by their invoice, naming no person', () => {
    const payment = { id: 4, date: '2026-12-01', paid_total: 1500.5, currency: 'EUR', invoice: { id: 31, identifier: 'R2612-001', title: 'Pilot' }, description: 'Bank' };
    expect(events('moco', payment, moco('Invoice::Payment', 'create'))[0]).toMatchObject({
      type: 'moco.invoice_payment_created',
      lead: { ids: {} },
      metadata: { entity_id: '4', invoice_id: '31', invoice_identifier: 'R2612-001', paid_total: 1500.5, currency: 'EUR', paid_on: '2026-12-01' },
    });
    const noInvoice = mapPayload('moco', { id: 4, paid_total: 10 }, ctx(moco('Invoice::Payment', 'create')));
    expect(noInvoice.ok ? null : noInvoice.issues.map((i) => i.path)).toEqual(['invoice']);
    expect(events('moco', mocoDeal(), moco('Deal', 'delete'))[0]?.type).toBe('moco.deal_deleted');
  });

  it('ignores companies and entities without a person', () => {
    expect(mapPayload('moco', mocoCompany(), ctx(moco('Company', 'create')))).toEqual({
      ok: true,
      events: [],
      ignored: 1,
    });
    expect(mapPayload('moco', mocoOffer(), ctx(moco('Offer', 'update')))).toEqual({
      ok: true,
      events: [],
      ignored: 1,
    });
    expect(mapPayload('moco', { id: 3, title: 'Invoice' }, ctx(moco('Invoice', 'create')))).toEqual({
      ok: true,
      events: [],
      ignored: 1,
    });
  });

  it('falls back to the entity time, then receivedAt', () => {
    const noStamp = { 'x-moco-target': 'Deal', 'x-moco-event': 'update' };
    expect(events('moco', mocoDeal({ updated_at: '2026-11-19T08:00:00Z' }), noStamp)[0]?.occurredAt).toBe(
      '2026-11-19T08:00:00.000Z',
    );
    expect(events('moco', mocoDeal({ updated_at: null, created_at: null }), noStamp)[0]?.occurredAt).toBe(
      RECEIVED.toISOString(),
    );
  });

  it('reports missing headers and a bad body', () => {
    expect(issues('moco', mocoDeal(), { 'x-moco-event': 'update' })).toEqual([
      { path: 'headers.X-Moco-Target', message: 'header is required for MOCO webhooks' },
    ]);
    expect(paths(issues('moco', mocoDeal(), { 'x-moco-target': 'Deal' }))).toEqual(['headers.X-Moco-Event']);
    expect(paths(issues('moco', [mocoDeal()], moco('Deal', 'update')))).toEqual(['(root)']);
    expect(paths(issues('moco', mocoDeal({ id: undefined }), moco('Deal', 'update')))).toEqual(['id']);
  });
});
