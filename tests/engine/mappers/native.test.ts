import { describe, expect, it } from 'vitest';
import { nativeBatch, nativeEvent } from '../../support/payloads.ts';
import { events, issues, paths, RECEIVED } from '../../support/mapper-fixtures.ts';

describe('native', () => {
  it('maps snake_case wire fields to a LeadlineEvent', () => {
    const body = nativeEvent({
      id: 'evt_42',
      email: 'Ada.Lovelace@Genomics-Lab.example',
      occurred_at: '2026-11-20T10:15:00+01:00',
      lead: {
        name: 'Ada Lovelace',
        phone: '+44 20 7946 0000',
        country: 'GB',
        region: 'London',
        website: 'genomics-lab.example',
        ids: { hubspot_id: '51', crm_id: 'acc-7' },
      },
      metadata: { form_type: 'demo', seats: 20, trial: true, referrer: null },
    });
    expect(events('native', body)).toEqual([
      {
        id: 'evt_42',
        type: 'form.submitted',
        source: 'test-source',
        occurredAt: '2026-11-20T09:15:00.000Z',
        lead: {
          email: 'ada.lovelace@genomics-lab.example',
          firstName: 'Ada',
          lastName: 'Lovelace',
          fullName: 'Ada Lovelace',
          company: 'Genomics Lab',
          title: 'Head of Research',
          phone: '+44 20 7946 0000',
          country: 'GB',
          region: 'London',
          website: 'genomics-lab.example',
          ids: { hubspot_id: '51', crm_id: 'acc-7' },
        },
        metadata: { form_type: 'demo', seats: 20, trial: true, referrer: null },
        utm: { source: 'google', medium: 'cpc', campaign: 'sequencing-q4' },
      },
    ]);
  });

  it('falls back to receivedAt and null id, and accepts an id-only lead', () => {
    const [event] = events('native', { type: 'page.visited', lead: { ids: { anonymous_id: 'anon-1' } } });
    expect(event).toMatchObject({
      id: null,
      occurredAt: RECEIVED.toISOString(),
      lead: { ids: { anonymous_id: 'anon-1' } },
    });
    expect(event?.lead.email).toBeUndefined();
  });

  it('cuts long metadata strings to 2,000 characters', () => {
    const [event] = events('native', nativeEvent({ metadata: { note: 'x'.repeat(9000) } }));
    expect(event?.metadata.note).toHaveLength(2000);
  });

  it('maps a batch in order, up to 1,000 events', () => {
    expect(events('native', nativeBatch(3)).map((e) => e.lead.email)).toEqual([
      'lead0@batch.example',
      'lead1@batch.example',
      'lead2@batch.example',
    ]);
    expect(events('native', nativeBatch(1000))).toHaveLength(1000);
    expect(issues('native', nativeBatch(1001))).toEqual([
      { path: 'events', message: 'at most 1000 events per delivery, got 1001' },
    ]);
    expect(paths(issues('native', { events: [] }))).toEqual(['events']);
  });

  it('reports bad fields with their exact path', () => {
    const batch = nativeBatch(5);
    batch.events[3] = nativeEvent({ email: 'not-an-email' });
    batch.events[1] = nativeEvent({ type: 'Form Submitted' });
    expect(paths(issues('native', batch)).sort()).toEqual(['events.1.type', 'events.3.lead.email']);
    expect(paths(issues('native', { type: 'form.submitted', lead: {} }))).toEqual(['lead']);
    expect(paths(issues('native', { type: 'x.y', lead: { ids: { salesforce: '1' } } }))).toContain(
      'lead.ids',
    );
    expect(paths(issues('native', 'form.submitted'))).toEqual(['(root)']);
  });
});
