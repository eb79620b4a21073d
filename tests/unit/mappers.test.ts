import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LeadlineEvent } from '../../src/engine/event.ts';
import { eventTypeSchema, IDENTITY_KINDS } from '../../src/engine/event.ts';
import type { MapContext, PayloadFormat } from '../../src/engine/mappers/index.ts';
import { mapPayload, PAYLOAD_FORMATS } from '../../src/engine/mappers/index.ts';
import type { ErrorIssue } from '../../src/errors.ts';
import {
  calendlyInviteeCanceled,
  calendlyInviteeCreated,
  hubspotEvents,
  hubspotWorkflowContact,
  lemlistActivity,
  mocoCompany,
  mocoContact,
  mocoDeal,
  mocoHeaders,
  mocoOffer,
  nativeBatch,
  nativeEvent,
  SAMPLE_TIME,
  typeformResponse,
} from '../support/payloads.ts';

const RECEIVED = new Date('2026-11-21T08:00:00.000Z');

function ctx(headers: Record<string, string> = {}): MapContext {
  return { source: 'test-source', receivedAt: RECEIVED, headers: new Headers(headers) };
}

/** Maps and asserts success plus the invariants every event must hold. */
function events(format: PayloadFormat, body: unknown, headers: Record<string, string> = {}): LeadlineEvent[] {
  const result = mapPayload(format, body, ctx(headers));
  if (!result.ok) throw new Error(`expected ${format} to map, got ${JSON.stringify(result.issues)}`);
  for (const event of result.events) expectWellFormed(event);
  return result.events;
}

function issues(format: PayloadFormat, body: unknown, headers: Record<string, string> = {}): ErrorIssue[] {
  const result = mapPayload(format, body, ctx(headers));
  if (result.ok) throw new Error(`expected ${format} to fail, got ${JSON.stringify(result.events)}`);
  return result.issues;
}

const paths = (list: ErrorIssue[]) => list.map((issue) => issue.path);

function expectWellFormed(event: LeadlineEvent): void {
  expect(eventTypeSchema.safeParse(event.type).success, event.type).toBe(true);
  expect(event.source).toBe('test-source');
  expect(new Date(event.occurredAt).toISOString()).toBe(event.occurredAt);
  expect(event.lead.email !== undefined || Object.keys(event.lead.ids).length > 0).toBe(true);
  if (event.lead.email !== undefined) expect(event.lead.email).toBe(event.lead.email.trim().toLowerCase());
  for (const kind of Object.keys(event.lead.ids)) {
    expect(IDENTITY_KINDS.filter((k) => k !== 'email')).toContain(kind);
  }
  for (const value of Object.values(event.metadata)) {
    expect(value === null || ['string', 'number', 'boolean'].includes(typeof value)).toBe(true);
    if (typeof value === 'string') expect(value.length).toBeLessThanOrEqual(2000);
  }
}

describe('mapPayload', () => {
  it('lists every format and refuses unknown ones', () => {
    expect(PAYLOAD_FORMATS).toEqual(['native', 'hubspot', 'calendly', 'typeform', 'lemlist', 'moco']);
    expect(paths(issues('nope' as PayloadFormat, {}))).toEqual(['(root)']);
    expect(paths(issues('constructor' as PayloadFormat, {}))).toEqual(['(root)']);
  });

  it('reports the first 50 issues of a fully broken batch, then a count', () => {
    const list = issues(
      'hubspot',
      Array.from({ length: 1000 }, () => ({})),
    );
    expect(list).toHaveLength(51);
    expect(list.at(-1)).toEqual({ path: '(root)', message: expect.stringMatching(/more issues/) });
  });

  it.each(PAYLOAD_FORMATS)(
    '%s: never throws and only emits well-formed events, whatever the body',
    (format) => {
      const headers = fc.record({
        'x-moco-target': fc.constantFrom('Contact', 'Deal', 'Company', 'Invoice::Payment', '', '%%'),
        'x-moco-event': fc.constantFrom('create', 'update', 'archive', '', '!!'),
      });
      fc.assert(
        fc.property(fc.jsonValue(), headers, (body, moco) => {
          const result = mapPayload(format, body, ctx(moco));
          if (result.ok) for (const event of result.events) expectWellFormed(event);
        }),
        { numRuns: 300 },
      );
    },
  );

  it('never throws on realistic samples with one field replaced by arbitrary JSON', () => {
    const samples: [PayloadFormat, Record<string, unknown>][] = [
      ['native', nativeEvent() as Record<string, unknown>],
      ['hubspot', hubspotWorkflowContact()],
      ['calendly', calendlyInviteeCreated()],
      ['typeform', typeformResponse()],
      ['lemlist', lemlistActivity()],
      ['moco', mocoDeal()],
    ];
    for (const [format, sample] of samples) {
      fc.assert(
        fc.property(fc.constantFrom(...Object.keys(sample)), fc.jsonValue(), (key, value) => {
          const result = mapPayload(
            format,
            { ...sample, [key]: value },
            ctx(mocoHeaders({ target: 'Deal', event: 'update' })),
          );
          if (result.ok) for (const event of result.events) expectWellFormed(event);
        }),
        { numRuns: 100 },
      );
    }
  });

  it('never throws when a nested vendor field is replaced by arbitrary JSON', () => {
    const nested: [PayloadFormat, Record<string, unknown>, string][] = [
      ['calendly', calendlyInviteeCreated(), 'payload'],
      ['typeform', typeformResponse(), 'form_response'],
    ];
    for (const [format, sample, key] of nested) {
      const inner = sample[key] as Record<string, unknown>;
      fc.assert(
        fc.property(fc.constantFrom(...Object.keys(inner)), fc.jsonValue(), (field, value) => {
          const result = mapPayload(format, { ...sample, [key]: { ...inner, [field]: value } }, ctx());
          if (result.ok) for (const event of result.events) expectWellFormed(event);
        }),
        { numRuns: 200 },
      );
    }
  });
});

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

describe('calendly', () => {
  it('maps invitee.created to meeting.booked', () => {
    const body = calendlyInviteeCreated({
      uri: 'https://api.calendly.com/scheduled_events/E1/invitees/I1',
      email: 'Grace.Hopper@Biotech.example',
    });
    expect(events('calendly', body)).toEqual([
      {
        id: 'invitee.created:https://api.calendly.com/scheduled_events/E1/invitees/I1',
        type: 'meeting.booked',
        source: 'test-source',
        occurredAt: '2026-11-20T09:15:00.123Z',
        lead: {
          email: 'grace.hopper@biotech.example',
          fullName: 'Grace Hopper',
          firstName: 'Grace',
          lastName: 'Hopper',
          ids: { calendly_invitee: 'https://api.calendly.com/scheduled_events/E1/invitees/I1' },
        },
        metadata: {
          event_name: 'Sequencing consultation',
          starts_at: '2026-11-25T14:00:00.000Z',
          ends_at: '2026-11-25T14:30:00.000Z',
          event_uri: 'https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2',
          location: 'https://meet.google.com/abc-defg-hij',
          timezone: 'Europe/Berlin',
          answers: 'What would you like to discuss?: Pricing for 20 seats\nTeam size: 11-50',
          rescheduled: false,
        },
        utm: { source: 'newsletter', medium: 'email', campaign: 'november-webinar' },
      },
    ]);
  });

  it('maps invitee.canceled to meeting.canceled with a distinct id and the rescheduled flag', () => {
    const uri = 'https://api.calendly.com/scheduled_events/E1/invitees/I2';
    const [booked] = events('calendly', calendlyInviteeCreated({ uri }));
    const [canceled] = events('calendly', calendlyInviteeCanceled({ uri }));
    expect(canceled).toMatchObject({
      type: 'meeting.canceled',
      id: `invitee.canceled:${uri}`,
      metadata: {
        rescheduled: false,
        cancel_reason: 'Conflict with another meeting',
        canceled_by: 'Grace Hopper',
      },
    });
    expect(canceled?.id).not.toBe(booked?.id);
    expect(events('calendly', calendlyInviteeCanceled({ rescheduled: true }))[0]?.metadata.rescheduled).toBe(
      true,
    );
    const rebooked = calendlyInviteeCreated({
      old_invitee: 'https://api.calendly.com/scheduled_events/E0/invitees/I0',
    });
    expect(events('calendly', rebooked)[0]?.metadata.rescheduled).toBe(true);
  });

  it('leaves out what the payload does not have', () => {
    const [event] = events('calendly', { event: 'invitee.created', payload: { email: 'a@b.example' } });
    expect(event).toEqual({
      id: null,
      type: 'meeting.booked',
      source: 'test-source',
      occurredAt: RECEIVED.toISOString(),
      lead: { email: 'a@b.example', ids: {} },
      metadata: { rescheduled: false },
      utm: {},
    });
  });

  it('reports other events and bad fields with their exact path', () => {
    expect(
      paths(issues('calendly', { ...calendlyInviteeCreated(), event: 'routing_form_submission.created' })),
    ).toEqual(['event']);
    expect(paths(issues('calendly', calendlyInviteeCreated({ email: 'grace at biotech' })))).toEqual([
      'payload.email',
    ]);
    expect(paths(issues('calendly', calendlyInviteeCreated({ email: undefined })))).toEqual([
      'payload.email',
    ]);
    expect(paths(issues('calendly', { event: 'invitee.created' }))).toEqual(['payload']);
    expect(paths(issues('calendly', []))).toEqual(['(root)']);
  });
});

describe('typeform', () => {
  it('maps form_response to form.submitted', () => {
    const body = typeformResponse({ token: 'tok_1' });
    (body as { event_id: string }).event_id = '01HZX8Q2K3M4N5P6Q7R8S9T0';
    expect(events('typeform', body)).toEqual([
      {
        id: '01HZX8Q2K3M4N5P6Q7R8S9T0',
        type: 'form.submitted',
        source: 'test-source',
        occurredAt: SAMPLE_TIME,
        lead: {
          email: 'rosalind.franklin@helix-bio.example',
          company: 'Helix Bio',
          ids: { typeform_respondent: 'tok_1' },
        },
        metadata: {
          form_id: 'lT4Z3j',
          form_title: 'Request a sample kit',
          form_type: 'sample_request',
          answers:
            'first_name: Rosalind\nteam_size: 51-200\ninterests: Sequencing, Imaging\nsamples_per_week: 12\nhas_budget: true',
        },
        utm: { source: 'linkedin', campaign: 'lab-automation' },
      },
    ]);
  });

  it('prefers hidden fields for identity and profile', () => {
    const hidden = {
      email: ' PI@University.example ',
      first_name: 'Rosalind',
      last_name: 'Franklin',
      company: 'Kings',
      utm_medium: 'social',
    };
    const [event] = events('typeform', typeformResponse({ hidden }));
    expect(event?.lead).toMatchObject({
      email: 'pi@university.example',
      firstName: 'Rosalind',
      lastName: 'Franklin',
      company: 'Kings',
    });
    expect(event?.utm).toEqual({ medium: 'social' });
  });

  it('requires an email answer or a hidden email', () => {
    const answers = [{ type: 'text', text: 'hi', field: { ref: 'note' } }];
    expect(issues('typeform', typeformResponse({ answers, hidden: {} }))).toEqual([
      {
        path: 'form_response.answers',
        message: expect.stringMatching(/email answer or a hidden field named email/),
      },
    ]);
    const badAnswer = [answers[0], { type: 'email', email: 'not an email', field: { ref: 'email' } }];
    expect(paths(issues('typeform', typeformResponse({ answers: badAnswer, hidden: {} })))).toEqual([
      'form_response.answers.1.email',
    ]);
  });

  it('reports other event types and a missing form_response', () => {
    expect(paths(issues('typeform', { ...typeformResponse(), event_type: 'form_partial_response' }))).toEqual(
      ['event_type'],
    );
    expect(paths(issues('typeform', { event_type: 'form_response' }))).toEqual(['form_response']);
  });
});

describe('lemlist', () => {
  it('maps an activity field by field', () => {
    const body = lemlistActivity({ _id: 'act_1', leadId: 'lea_1', secret: 'lemlist-shared-secret-0d9e' });
    expect(events('lemlist', body)).toEqual([
      {
        id: 'act_1',
        type: 'email.replied',
        source: 'test-source',
        occurredAt: SAMPLE_TIME,
        lead: {
          email: 'marie.curie@curie-lab.example',
          firstName: 'Marie',
          lastName: 'Curie',
          company: 'Curie Lab',
          ids: { lemlist_id: 'lea_1', linkedin_url: 'https://www.linkedin.com/in/marie-curie-lab' },
        },
        metadata: {
          lemlist_type: 'emailsReplied',
          campaign_id: 'cam_Q4outbound',
          sequence_id: 'seq_A1b2C3',
          sequence_step: 2,
          sender_email: 'sam@leadline-customer.example',
        },
        utm: { source: 'lemlist', campaign: 'Q4 Lab Directors' },
      },
    ]);
  });

  it.each([
    ['emailsOpened', 'email.opened'],
    ['emailsClicked', 'email.clicked'],
    ['emailsReplied', 'email.replied'],
    ['emailsBounced', 'email.bounced'],
    ['emailsUnsubscribed', 'email.unsubscribed'],
    ['emailsSent', 'email.sent'],
    ['linkedinInviteAccepted', 'linkedin.connected'],
    ['linkedinReplied', 'linkedin.replied'],
    ['linkedinVisitDone', 'linkedin.profile_visited'],
    ['interested', 'lead.interested'],
    ['notInterested', 'lead.not_interested'],
    ['linkedinInviteDone', 'lemlist.linkedin_invite_done'],
    ['aircallDone', 'lemlist.aircall_done'],
  ])('maps %s to %s', (type, expected) => {
    expect(events('lemlist', lemlistActivity({ type }))[0]?.type).toBe(expected);
  });

  it('never lets the shared secret reach events or issues', () => {
    const secret = 'lemlist-shared-secret-0d9e';
    const ok = mapPayload('lemlist', [lemlistActivity({ secret }), lemlistActivity({ secret })], ctx());
    expect(ok.ok).toBe(true);
    expect(JSON.stringify(ok)).not.toContain(secret);
    const bad = mapPayload('lemlist', lemlistActivity({ secret, leadEmail: secret, type: 7 }), ctx());
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).not.toContain(secret);
  });

  it('maps batches, up to 1,000, and reports bad items by index', () => {
    expect(events('lemlist', [lemlistActivity(), lemlistActivity()])).toHaveLength(2);
    expect(
      events(
        'lemlist',
        Array.from({ length: 1000 }, () => lemlistActivity()),
      ),
    ).toHaveLength(1000);
    expect(
      paths(
        issues(
          'lemlist',
          Array.from({ length: 1001 }, () => lemlistActivity()),
        ),
      ),
    ).toEqual(['(root)']);
    const batch = [lemlistActivity(), lemlistActivity(), lemlistActivity({ leadEmail: 'marie@' }), 'x'];
    expect(paths(issues('lemlist', batch))).toEqual(['2.leadEmail', '3']);
  });

  it('accepts LinkedIn-only leads and requires some identity', () => {
    const linkedinOnly = lemlistActivity({ leadEmail: '', leadId: undefined, type: 'linkedinVisitDone' });
    expect(events('lemlist', linkedinOnly)[0]?.lead).toMatchObject({
      ids: { linkedin_url: expect.any(String) },
    });
    const nobody = lemlistActivity({ leadEmail: undefined, leadId: undefined, linkedinUrl: undefined });
    expect(issues('lemlist', nobody)).toEqual([
      { path: 'leadEmail', message: 'required when the activity has neither leadId nor linkedinUrl' },
    ]);
  });
});

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
    const payment = { id: 4, person: { id: 12, name: 'Max Muster' } };
    expect(events('moco', payment, moco('Invoice::Payment', 'create'))[0]?.type).toBe(
      'moco.invoice_payment_created',
    );
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

describe('timestamps', () => {
  it('fall back to receivedAt when a vendor sends something that is not ISO-8601', () => {
    const lemlist = events('lemlist', lemlistActivity({ createdAt: 'yesterday' }));
    expect(lemlist[0]?.occurredAt).toBe(RECEIVED.toISOString());
    const typeform = events('typeform', typeformResponse({ submitted_at: 1763630100 }));
    expect(typeform[0]?.occurredAt).toBe(RECEIVED.toISOString());
  });
});
