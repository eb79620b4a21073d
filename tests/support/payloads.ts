/**
 * Realistic sample webhook bodies per payload format, shaped like what each sender really posts.
 * Every builder takes overrides (shallow, except where noted) and returns a fresh object, so
 * tests can mutate results freely. Ids are unique within a test run; times are fixed.
 */
import type { z } from 'zod';
import type { nativeEventSchema } from '../../src/engine/event.ts';

/** When the sample events happened (the bodies' own timestamps derive from it). */
export const SAMPLE_TIME = '2026-11-20T09:15:00.000Z';
const SAMPLE_MS = Date.parse(SAMPLE_TIME);

let counter = 0;
function nextId(): number {
  counter += 1;
  return counter;
}

export type NativeWireEvent = z.input<typeof nativeEventSchema>;

/**
 * One event in Leadline's native wire format. `email` is a shortcut for `lead.email`; `lead`
 * is merged into the sample lead.
 *
 * @example
 * nativeEvent({ email: 'ada@genomics-lab.example', type: 'page.visited' })
 */
export function nativeEvent(overrides: Partial<NativeWireEvent> & { email?: string } = {}): NativeWireEvent {
  const { email, lead, ...rest } = overrides;
  return {
    id: `evt_${nextId()}`,
    type: 'form.submitted',
    occurred_at: SAMPLE_TIME,
    lead: {
      email: email ?? 'ada.lovelace@genomics-lab.example',
      first_name: 'Ada',
      last_name: 'Lovelace',
      company: 'Genomics Lab',
      title: 'Head of Research',
      ...lead,
    },
    metadata: { form_type: 'demo', page: '/pricing' },
    utm: { source: 'google', medium: 'cpc', campaign: 'sequencing-q4' },
    ...rest,
  };
}

/** `{ events: [...] }` with `n` native events, each with its own id and email. */
export function nativeBatch(
  n: number,
  overrides: Partial<NativeWireEvent> = {},
): { events: NativeWireEvent[] } {
  return {
    events: Array.from({ length: n }, (_, i) =>
      nativeEvent({ email: `lead${i}@batch.example`, ...overrides }),
    ),
  };
}

export interface HubspotEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
}

/**
 * `n` HubSpot subscription events as HubSpot posts them (a JSON array), `contact.creation`
 * by default, one second apart, each with its own eventId and objectId.
 *
 * @example
 * hubspotEvents(1, { subscriptionType: 'contact.propertyChange', propertyName: 'email', propertyValue: 'new@acme.example' })
 */
export function hubspotEvents(n = 1, overrides: Partial<HubspotEvent> = {}): HubspotEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const id = nextId();
    return {
      eventId: 1_000_000 + id,
      subscriptionId: 2_451_234,
      portalId: 62_515,
      appId: 54_321,
      occurredAt: SAMPLE_MS + i * 1000,
      subscriptionType: 'contact.creation',
      attemptNumber: 0,
      objectId: 51_000 + id,
      changeSource: 'CRM',
      changeFlag: 'NEW',
      ...overrides,
    };
  });
}

/**
 * The body of a HubSpot workflow "Send a webhook" action for a contact (legacy contact record:
 * `vid`, `properties.<name>.value`, `form-submissions`). `properties` overrides are plain values.
 *
 * @example
 * hubspotWorkflowContact({ email: 'grace@navy-labs.example', firstname: 'Grace' })
 */
export function hubspotWorkflowContact(properties: Record<string, string> = {}): Record<string, unknown> {
  const vid = 7_000 + nextId();
  const values: Record<string, string> = {
    email: 'katherine.johnson@orbital.example',
    firstname: 'Katherine',
    lastname: 'Johnson',
    company: 'Orbital Analytics',
    jobtitle: 'VP Engineering',
    phone: '+1 555 0100',
    country: 'United States',
    lifecyclestage: 'lead',
    hs_object_id: String(vid),
    hs_analytics_source: 'ORGANIC_SEARCH',
    ...properties,
  };
  return {
    vid,
    'canonical-vid': vid,
    'portal-id': 62_515,
    'is-contact': true,
    properties: Object.fromEntries(
      Object.entries(values).map(([name, value]) => [name, { value, versions: [] }]),
    ),
    'form-submissions': [
      {
        'form-id': 'f3c1a2b4-demo',
        title: 'Request a demo',
        'page-url': 'https://leadline.example/demo',
        timestamp: SAMPLE_MS,
      },
    ],
  };
}

type CalendlyPayload = Record<string, unknown>;

function calendlyBody(event: string, payload: CalendlyPayload): Record<string, unknown> {
  const invitee = nextId();
  return {
    event,
    created_at: '2026-11-20T09:15:00.123456Z',
    created_by: 'https://api.calendly.com/users/AAAAAAAAAAAAAAAA',
    payload: {
      uri: `https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/INV${invitee}`,
      email: 'grace.hopper@biotech.example',
      name: 'Grace Hopper',
      first_name: 'Grace',
      last_name: 'Hopper',
      status: 'active',
      timezone: 'Europe/Berlin',
      rescheduled: false,
      old_invitee: null,
      new_invitee: null,
      cancel_url: 'https://calendly.com/cancellations/AAAA',
      reschedule_url: 'https://calendly.com/reschedulings/AAAA',
      text_reminder_number: null,
      created_at: '2026-11-20T09:15:00.000000Z',
      updated_at: '2026-11-20T09:15:00.000000Z',
      scheduled_event: {
        uri: 'https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2',
        name: 'Sequencing consultation',
        status: 'active',
        start_time: '2026-11-25T14:00:00.000000Z',
        end_time: '2026-11-25T14:30:00.000000Z',
        event_type: 'https://api.calendly.com/event_types/GBGBDCAADAEDCRZ2',
        location: { type: 'google_conference', join_url: 'https://meet.google.com/abc-defg-hij' },
      },
      questions_and_answers: [
        { question: 'What would you like to discuss?', answer: 'Pricing for 20 seats', position: 0 },
        { question: 'Team size', answer: '11-50', position: 1 },
      ],
      tracking: {
        utm_source: 'newsletter',
        utm_medium: 'email',
        utm_campaign: 'november-webinar',
        utm_term: null,
        utm_content: null,
        salesforce_uuid: null,
      },
      ...payload,
    },
  };
}

/**
 * A Calendly `invitee.created` webhook; `payload` overrides are merged into its `payload`.
 *
 * @example
 * calendlyInviteeCreated({ email: 'someone@else.example' })
 */
export function calendlyInviteeCreated(payload: CalendlyPayload = {}): Record<string, unknown> {
  return calendlyBody('invitee.created', payload);
}

/** A Calendly `invitee.canceled` webhook (a plain cancel; pass `{ rescheduled: true }` for a reschedule). */
export function calendlyInviteeCanceled(payload: CalendlyPayload = {}): Record<string, unknown> {
  return calendlyBody('invitee.canceled', {
    status: 'canceled',
    cancellation: {
      canceled_by: 'Grace Hopper',
      reason: 'Conflict with another meeting',
      canceler_type: 'invitee',
    },
    ...payload,
  });
}

/**
 * A Typeform `form_response` webhook with an email answer, text and choice answers and hidden
 * fields; `formResponse` overrides are merged into `form_response`.
 *
 * @example
 * typeformResponse({ hidden: { email: 'pi@university.example' }, answers: [] })
 */
export function typeformResponse(formResponse: Record<string, unknown> = {}): Record<string, unknown> {
  const id = nextId();
  return {
    event_id: `01HZX8Q2K3M4N5P6Q7R8S9T${id}`,
    event_type: 'form_response',
    form_response: {
      form_id: 'lT4Z3j',
      token: `a3a12ec67a1ace1b5${id}`,
      landed_at: '2026-11-20T09:10:00Z',
      submitted_at: '2026-11-20T09:15:00Z',
      hidden: {
        form_type: 'sample_request',
        utm_source: 'linkedin',
        utm_campaign: 'lab-automation',
        company: 'Helix Bio',
      },
      definition: { id: 'lT4Z3j', title: 'Request a sample kit', fields: [] },
      answers: [
        {
          type: 'text',
          text: 'Rosalind',
          field: { id: 'JwWggjAKtOkA', type: 'short_text', ref: 'first_name' },
        },
        {
          type: 'email',
          email: 'Rosalind.Franklin@Helix-Bio.example',
          field: { id: 'SMEUb7VJz92Q', type: 'email', ref: 'email' },
        },
        {
          type: 'choice',
          choice: { label: '51-200' },
          field: { id: 'k6TP9oLGgHjl', type: 'multiple_choice', ref: 'team_size' },
        },
        {
          type: 'choices',
          choices: { labels: ['Sequencing', 'Imaging'] },
          field: { id: 'PNe8ZKBK8C2Q', type: 'multiple_choice', ref: 'interests' },
        },
        {
          type: 'number',
          number: 12,
          field: { id: 'Q7M2XAwY04dW', type: 'number', ref: 'samples_per_week' },
        },
        { type: 'boolean', boolean: true, field: { id: 'gFFf3xAkJKsr', type: 'yes_no', ref: 'has_budget' } },
        {
          type: 'file_url',
          file_url: 'https://api.typeform.com/forms/lT4Z3j/files/x.pdf',
          field: { id: 'f', type: 'file_upload', ref: 'brief' },
        },
      ],
      ...formResponse,
    },
  };
}

/**
 * A Lemlist activity webhook (`emailsReplied` by default). Add `{ secret }` when the hook was
 * created with one; Lemlist echoes it in every activity.
 *
 * @example
 * lemlistActivity({ type: 'linkedinInviteAccepted', secret: 'lemlist-shared-secret' })
 */
export function lemlistActivity(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = nextId();
  return {
    _id: `act_${id}Hx3kP9wQ`,
    type: 'emailsReplied',
    createdAt: '2026-11-20T09:15:00.000Z',
    teamId: 'tea_8f2kLm',
    leadId: `lea_${id}Zt7Yq`,
    campaignId: 'cam_Q4outbound',
    campaignName: 'Q4 Lab Directors',
    sequenceId: 'seq_A1b2C3',
    sequenceStep: 2,
    isFirst: true,
    leadEmail: 'Marie.Curie@Curie-Lab.example',
    leadFirstName: 'Marie',
    leadLastName: 'Curie',
    leadCompanyName: 'Curie Lab',
    linkedinUrl: 'https://www.linkedin.com/in/marie-curie-lab',
    sendUserId: 'usr_sales1',
    sendUserEmail: 'sam@leadline-customer.example',
    sendUserName: 'Sam Seller',
    emailTemplateId: 'tpl_9',
    ...overrides,
  };
}

/**
 * Headers MOCO sends next to the signature.
 *
 * @example
 * mocoHeaders({ target: 'Deal', event: 'update' }) // { 'x-moco-target': 'Deal', 'x-moco-event': 'update', … }
 */
export function mocoHeaders(input: {
  target: string;
  event: string;
  timestampMs?: number;
}): Record<string, string> {
  return {
    'x-moco-target': input.target,
    'x-moco-event': input.event,
    'x-moco-timestamp': String(input.timestampMs ?? SAMPLE_MS),
    'x-moco-user-id': '933613686',
    'x-moco-account-url': 'https://leadline-customer.mocoapp.com',
  };
}

/** A MOCO deal (lead) entity with a linked person; status `pending` unless overridden. */
export function mocoDeal(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 100 + nextId(),
    name: 'Website V2',
    status: 'pending',
    reminder_date: '2026-12-01',
    closed_on: null,
    money: 61000,
    currency: 'CHF',
    info: 'Interesting lead!',
    custom_properties: { Type: 'Website' },
    user: { id: 933593033, firstname: 'Nicola', lastname: 'Piccinini' },
    company: { id: 760260535, name: 'Beispiel AG', type: 'customer' },
    person: { id: 123311, name: 'Max Muster' },
    category: { id: 12, name: 'Angebot', probability: 30 },
    created_at: '2026-10-17T09:33:46Z',
    updated_at: '2026-11-20T09:15:00Z',
    ...overrides,
  };
}

/** A MOCO contact (person) entity. */
export function mocoContact(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 123311,
    gender: 'M',
    firstname: 'Peter',
    lastname: 'Muster',
    title: 'Dr. med.',
    job_position: 'Account Manager',
    mobile_phone: '+41 123 45 67',
    work_fax: '',
    work_phone: '+41 445 45 67',
    work_email: ' Peter.Muster@Beispiel.example ',
    work_address: 'Beispiel AG\nPeter Muster\nBeispielstrasse 123',
    home_email: '',
    tags: ['Key Account'],
    company: { id: 123456, type: 'customer', name: 'Beispiel AG' },
    created_at: '2026-10-17T09:33:46Z',
    updated_at: '2026-11-20T09:15:00Z',
    ...overrides,
  };
}

/** A MOCO offer entity linked to a deal; it has no person unless one is passed in. */
export function mocoOffer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 273,
    identifier: 'A2611-042',
    date: '2026-11-20',
    due_date: '2026-12-04',
    title: 'Offer - User Management',
    currency: 'EUR',
    net_total: 12750,
    tax: 19,
    gross_total: 15172.5,
    status: 'sent',
    company: { id: 1234, name: 'Acme Corp.' },
    deal: { id: 1234, name: 'A Lead' },
    created_at: '2026-11-20T09:00:00Z',
    updated_at: '2026-11-20T09:15:00Z',
    ...overrides,
  };
}

/** A MOCO company entity (Leadline ignores these). */
export function mocoCompany(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 760260535, type: 'customer', name: 'Beispiel AG', currency: 'CHF', ...overrides };
}
