import { createHmac } from 'node:crypto';

// The example requests of the OpenAPI document (src/http/openapi.ts). tests/http/openapi.test.ts
// signs every one for its source and posts it to the real endpoint, so each must be accepted.

/** An OpenAPI Example Object plus the source (from rules/default.yml) it is sent to. */
export interface WebhookExample {
  summary: string;
  description?: string;
  value: unknown;
  /** The default ruleset's source this example is posted to (`/webhooks/<source>`). */
  'x-leadline-source': string;
  /** Headers the payload format needs besides the signature (MOCO names its entity in headers). */
  'x-leadline-headers'?: Record<string, string>;
}

const ADA = { email: 'ada.lovelace@genomics-lab.example', first_name: 'Ada', last_name: 'Lovelace', company: 'Genomics Lab' };

/** Every event type rules/default.yml scores that a sender posts, with the metadata its rules read. */
const NATIVE_TYPES: readonly [type: string, metadata: Record<string, string | number | boolean>][] = [
  ['page.viewed', { url: 'https://www.example.com/pricing' }],
  ['form.submitted', { form_type: 'demo' }],
  ['email.opened', { campaign_id: 'cmp_q4' }],
  ['email.clicked', { campaign_id: 'cmp_q4', url: 'https://www.example.com/long-read' }],
  ['email.replied', { reply_text: 'Could you send us a quote for 96 long-read samples?' }],
  ['email.bounced', { campaign_id: 'cmp_q4' }],
  ['email.unsubscribed', { campaign_id: 'cmp_q4' }],
  ['linkedin.connected', {}],
  ['linkedin.replied', { reply_text: 'Happy to talk about a co-development next week.' }],
  ['lead.interested', {}],
  ['lead.not_interested', {}],
  ['webinar.registered', { webinar: 'Long-read sequencing for core facilities' }],
  ['webinar.attended', { webinar: 'Long-read sequencing for core facilities', minutes: 52 }],
  ['content.downloaded', { content_type: 'whitepaper', title: 'Choosing a WGS depth' }],
  ['meeting.booked', { event_name: 'Discovery call', rescheduled: false }],
  ['meeting.canceled', { event_name: 'Discovery call', rescheduled: false }],
];

function nativeExamples(): Record<string, WebhookExample> {
  const examples: Record<string, WebhookExample> = {};
  for (const [type, metadata] of NATIVE_TYPES) {
    examples[`native-${type}`] = {
      summary: `native: ${type}`,
      description: `Native format, source \`website\` (scheme \`standard\`): one \`${type}\` event.`,
      'x-leadline-source': 'website',
      value: {
        id: `evt_${type.replace('.', '_')}_1`,
        type,
        occurred_at: '2026-11-20T09:15:00Z',
        lead: { ...ADA, ids: { crm_id: 'crm-901' } },
        metadata,
        utm: { source: 'google', medium: 'cpc', campaign: 'sequencing-q4' },
      },
    };
  }
  examples['native-batch'] = {
    summary: 'native: a batch of events',
    description: 'Up to 1,000 native events in one delivery; all are stored, or none.',
    'x-leadline-source': 'website',
    value: {
      events: [
        { id: 'evt_batch_1', type: 'page.viewed', lead: { email: 'grace@bio.example' }, metadata: { url: '/services/wgs' } },
        { id: 'evt_batch_2', type: 'form.submitted', lead: { email: 'grace@bio.example' }, metadata: { form_type: 'sample_request' } },
      ],
    },
  };
  return examples;
}

const VENDOR_EXAMPLES: Record<string, WebhookExample> = {
  'hubspot-subscription': {
    summary: 'hubspot: contact.creation (subscription)',
    description: 'HubSpot webhook subscriptions post a JSON array; `contact.*` events become `crm.contact_*`.',
    'x-leadline-source': 'hubspot',
    value: [
      { eventId: 4101, subscriptionId: 77, portalId: 42, occurredAt: 1763630100000, subscriptionType: 'contact.creation', objectId: 901, changeSource: 'FORM' },
    ],
  },
  'hubspot-workflow': {
    summary: 'hubspot: form.submitted (workflow contact)',
    description: 'A workflow\'s "Send a webhook" action posts one contact object; it becomes `form.submitted`.',
    'x-leadline-source': 'hubspot',
    value: { hs_object_id: '901', email: 'ada.lovelace@genomics-lab.example', firstname: 'Ada', company: 'Genomics Lab', form_type: 'demo', utm_source: 'linkedin' },
  },
  'calendly-booked': {
    summary: 'calendly: meeting.booked',
    'x-leadline-source': 'calendly',
    value: {
      event: 'invitee.created',
      created_at: '2026-11-20T09:15:00.000000Z',
      payload: {
        uri: 'https://api.calendly.com/scheduled_events/EV1/invitees/INV1',
        email: 'ada.lovelace@genomics-lab.example',
        name: 'Ada Lovelace',
        timezone: 'Europe/Berlin',
        scheduled_event: { uri: 'https://api.calendly.com/scheduled_events/EV1', name: 'Discovery call', start_time: '2026-11-24T10:00:00.000000Z', end_time: '2026-11-24T10:30:00.000000Z' },
        questions_and_answers: [{ question: 'What would you like to sequence?', answer: '96 bacterial isolates' }],
        tracking: { utm_source: 'newsletter' },
      },
    },
  },
  'calendly-canceled': {
    summary: 'calendly: meeting.canceled',
    'x-leadline-source': 'calendly',
    value: {
      event: 'invitee.canceled',
      created_at: '2026-11-21T08:00:00.000000Z',
      payload: {
        uri: 'https://api.calendly.com/scheduled_events/EV1/invitees/INV1',
        email: 'ada.lovelace@genomics-lab.example',
        name: 'Ada Lovelace',
        rescheduled: false,
        scheduled_event: { uri: 'https://api.calendly.com/scheduled_events/EV1', name: 'Discovery call' },
        cancellation: { canceled_by: 'Ada Lovelace', reason: 'Travelling that week', canceler_type: 'invitee' },
      },
    },
  },
  typeform: {
    summary: 'typeform: form.submitted',
    description: 'The email comes from the hidden field `email`, else the first email answer.',
    'x-leadline-source': 'typeform',
    value: {
      event_id: '01JDTYPEFORM0001',
      event_type: 'form_response',
      form_response: {
        form_id: 'lT4Z3j',
        token: 'a3a12ec67a1365927098a606107fac15',
        submitted_at: '2026-11-20T09:15:00Z',
        hidden: { form_type: 'sample_request', utm_source: 'google' },
        definition: { title: 'Request samples' },
        answers: [
          { type: 'email', email: 'ada.lovelace@genomics-lab.example', field: { id: 'f1', ref: 'email', type: 'email' } },
          { type: 'number', number: 96, field: { id: 'f2', ref: 'sample_count', type: 'number' } },
        ],
      },
    },
  },
  lemlist: {
    summary: 'lemlist: email.replied',
    description: 'Lemlist echoes the `secret` chosen when the hook was created; put your hook\'s secret there.',
    'x-leadline-source': 'lemlist',
    value: {
      _id: 'act_5f2b1',
      type: 'emailsReplied',
      secret: 'your-lemlist-hook-secret',
      createdAt: '2026-11-20T09:15:00.000Z',
      leadId: 'lea_77',
      leadEmail: 'ada.lovelace@genomics-lab.example',
      leadFirstName: 'Ada',
      leadCompanyName: 'Genomics Lab',
      campaignId: 'cam_q4',
      campaignName: 'Q4 outbound',
      sequenceStep: 2,
    },
  },
  'lemlist-batch': {
    summary: 'lemlist: linkedin.connected and lead.interested (array)',
    'x-leadline-source': 'lemlist',
    value: [
      { _id: 'act_5f2b2', type: 'linkedinInviteAccepted', secret: 'your-lemlist-hook-secret', leadId: 'lea_77', linkedinUrl: 'https://www.linkedin.com/in/ada-lovelace' },
      { _id: 'act_5f2b3', type: 'interested', secret: 'your-lemlist-hook-secret', leadId: 'lea_77', leadEmail: 'ada.lovelace@genomics-lab.example' },
    ],
  },
  moco: {
    summary: 'moco: moco.deal_updated',
    description: 'MOCO posts the entity; `X-Moco-Target` and `X-Moco-Event` say what happened.',
    'x-leadline-source': 'moco',
    'x-leadline-headers': { 'X-Moco-Target': 'Deal', 'X-Moco-Event': 'update', 'X-Moco-Timestamp': '1763630100000' },
    value: {
      id: 123,
      name: 'WGS for Genomics Lab',
      status: 'won',
      money: 18400,
      currency: 'EUR',
      category: { id: 3, name: 'Negotiation' },
      person: { id: 77, name: 'Ada Lovelace', firstname: 'Ada', lastname: 'Lovelace' },
      company: { id: 9, name: 'Genomics Lab' },
    },
  },
};

/** Examples for `POST /webhooks/{source}`: native events per scored type, and one or two per vendor. */
export const WEBHOOK_EXAMPLES: Readonly<Record<string, WebhookExample>> = { ...nativeExamples(), ...VENDOR_EXAMPLES };

/** Examples for `POST /webhooks/{source}/{token}` (senders that cannot sign, such as RB2B). */
export const TOKEN_WEBHOOK_EXAMPLES: Readonly<Record<string, WebhookExample>> = {
  'rb2b-page.viewed': {
    summary: 'rb2b: page.viewed (native, secret in the URL)',
    'x-leadline-source': 'rb2b',
    value: {
      id: 'rb2b_visit_1',
      type: 'page.viewed',
      occurred_at: '2026-11-20T09:15:00Z',
      lead: { email: 'ada.lovelace@genomics-lab.example', company: 'Genomics Lab', ids: { linkedin_url: 'https://www.linkedin.com/in/ada-lovelace' } },
      metadata: { url: 'https://www.example.com/services/long-read' },
    },
  },
};

/** The example file for `POST /imports`. */
export const IMPORT_EXAMPLE_CSV = [
  'email,first_name,last_name,company,type,utm_campaign,Segment',
  'ada.lovelace@genomics-lab.example,Ada,Lovelace,Genomics Lab,lead.imported,fair-2026,pharma',
  'grace@bio.example,Grace,Hopper,Bio Example,,fair-2026,academic',
  '',
].join('\n');

/** The inputs of the worked Standard Webhooks signature in the document. */
export const STANDARD_SIGNATURE_EXAMPLE = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
  timestamp: 1763630100,
  body: '{"type":"form.submitted","lead":{"email":"ada@lab.example"},"metadata":{"form_type":"demo"}}',
} as const;

/** `v1,<base64 HMAC-SHA256>` over `{id}.{timestamp}.{body}` keyed with the base64-decoded secret. */
export function standardSignature(input: { secret: string; id: string; timestamp: number; body: string }): string {
  const key = Buffer.from(input.secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${input.id}.${input.timestamp}.${input.body}`);
  return `v1,${mac.digest('base64')}`;
}
