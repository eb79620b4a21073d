import { describe, expect, it } from 'vitest';
import { mapPayload } from '../../../src/engine/mappers/index.ts';
import { hubspotEvents, hubspotWorkflowContact, SAMPLE_TIME } from '../../support/payloads.ts';
import { ctx, events, issues, paths } from '../../support/mapper-fixtures.ts';

describe('hubspot', () => {
  it('maps contact.creation events', () => {
    const [sample] = hubspotEvents(1, { eventId: 1001, objectId: 51, portalId: 62515 });
    expect(events('hubspot', [sample])).toEqual([
      {
        id: '1001',
        type: 'crm.contact_created',
        source: 'test-source',
        occurredAt: SAMPLE_TIME,
        lead: { ids: { hubspot_id: '51' } },
        metadata: {
          subscription_type: 'contact.creation',
          object_type: 'contact',
          object_id: '51',
          portal_id: '62515',
          subscription_id: '2451234',
          change_source: 'CRM',
        },
        utm: {},
      },
    ]);
  });

  it('maps property changes, taking a changed email as the lead email', () => {
    const [email] = events(
      'hubspot',
      hubspotEvents(1, {
        subscriptionType: 'contact.propertyChange',
        propertyName: 'email',
        propertyValue: ' New@Acme.example',
      }),
    );
    expect(email?.type).toBe('crm.contact_updated');
    expect(email?.lead.email).toBe('new@acme.example');
    expect(email?.metadata).toMatchObject({ property_name: 'email', property_value: 'New@Acme.example' });
    const [stage] = events(
      'hubspot',
      hubspotEvents(1, {
        subscriptionType: 'contact.propertyChange',
        propertyName: 'lifecyclestage',
        propertyValue: 'customer',
      }),
    );
    expect(stage?.lead.email).toBeUndefined();
    expect(stage?.metadata).toMatchObject({ property_name: 'lifecyclestage', property_value: 'customer' });
  });

  it('maps contact.deletion to crm.contact_deleted', () => {
    expect(events('hubspot', hubspotEvents(1, { subscriptionType: 'contact.deletion' }))[0]?.type).toBe(
      'crm.contact_deleted',
    );
  });

  it.each(['deal.creation', 'deal.propertyChange', 'company.associationChange'])(
    'ignores %s: its object id is not a person and must not merge into a lead',
    (subscriptionType) => {
      const result = mapPayload('hubspot', hubspotEvents(2, { subscriptionType }), ctx());
      expect(result).toMatchObject({ ok: true, events: [], ignored: 2 });
    },
  );

  it('maps batches one event per array item, up to 1,000', () => {
    const mapped = events('hubspot', hubspotEvents(100));
    expect(mapped).toHaveLength(100);
    expect(new Set(mapped.map((e) => e.id)).size).toBe(100);
    expect(events('hubspot', hubspotEvents(1000))).toHaveLength(1000);
    expect(issues('hubspot', hubspotEvents(1001))).toEqual([
      { path: '(root)', message: 'at most 1000 events per delivery, got 1001' },
    ]);
    expect(paths(issues('hubspot', []))).toEqual(['(root)']);
  });

  it('reports bad fields with their exact path', () => {
    const batch = hubspotEvents(3).map((event): Record<string, unknown> => ({ ...event }));
    delete batch[0]!.objectId;
    batch[2]!.occurredAt = '2026-11-20';
    expect(paths(issues('hubspot', batch))).toEqual(['0.objectId', '2.occurredAt']);
    expect(paths(issues('hubspot', hubspotEvents(1, { subscriptionType: '...' })))).toEqual([
      '0.subscriptionType',
    ]);
    expect(paths(issues('hubspot', 'contact.creation'))).toEqual(['(root)']);
  });

  it('maps a workflow "Send a webhook" contact record to form.submitted', () => {
    const body = hubspotWorkflowContact({
      email: ' Katherine.Johnson@Orbital.example',
      hs_object_id: '7123',
      utm_campaign: 'apollo',
    });
    expect(events('hubspot', body)).toEqual([
      {
        id: null,
        type: 'form.submitted',
        source: 'test-source',
        occurredAt: SAMPLE_TIME,
        lead: {
          email: 'katherine.johnson@orbital.example',
          firstName: 'Katherine',
          lastName: 'Johnson',
          company: 'Orbital Analytics',
          title: 'VP Engineering',
          phone: '+1 555 0100',
          country: 'United States',
          ids: { hubspot_id: '7123' },
        },
        metadata: {
          form_id: 'f3c1a2b4-demo',
          form_title: 'Request a demo',
          page_url: 'https://leadline.example/demo',
          lifecyclestage: 'lead',
          hs_analytics_source: 'ORGANIC_SEARCH',
          'portal-id': 62515,
        },
        utm: { campaign: 'apollo' },
      },
    ]);
  });

  it('maps a custom flat workflow body, and reports a bad or missing identity', () => {
    const [event] = events('hubspot', {
      email: 'grace@navy-labs.example',
      firstname: 'Grace',
      hs_object_id: 88,
    });
    expect(event).toMatchObject({
      lead: { email: 'grace@navy-labs.example', firstName: 'Grace', ids: { hubspot_id: '88' } },
    });
    expect(paths(issues('hubspot', hubspotWorkflowContact({ email: 'nope' })))).toEqual([
      'properties.email.value',
    ]);
    expect(paths(issues('hubspot', { email: 'nope', vid: 1 }))).toEqual(['email']);
    expect(paths(issues('hubspot', { firstname: 'Nobody' }))).toEqual(['(root)']);
  });
});
