/**
 * The benchmark's synthetic world: lead numbers map to emails the same way in SQL seeds and in
 * generated webhooks, so generated events hit seeded leads (or new ones, past the seeded range).
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { intBetween, pick, type Rng, weighted } from './rng.ts';

/** Email domains by `n % length`: academic, company and free-mail leads in a fixed mix. */
export const DOMAINS = [
  'uni-heidelberg.de',
  'genomics-lab.example',
  'embl.de',
  'acme-bio.example',
  'gmail.com',
  'biotech-partners.example',
  'mpg.de',
] as const;

const COMPANIES: Record<string, string> = {
  'uni-heidelberg.de': 'Universität Heidelberg',
  'genomics-lab.example': 'Genomics Lab',
  'embl.de': 'EMBL',
  'acme-bio.example': 'Acme Bio',
  'biotech-partners.example': 'Biotech Partners',
  'mpg.de': 'Max Planck Society',
};

export const TITLES = [
  'Head of Research',
  'Postdoc',
  'Principal Investigator',
  'Lab Technician',
  'Procurement Manager',
  'VP Operations',
  'Bioinformatician',
] as const;

export function leadEmail(n: number): string {
  return `lead${n}@${DOMAINS[n % DOMAINS.length]}`;
}

/** The same mapping as `leadEmail`, as SQL over an integer column; `$domains` is `DOMAINS`. */
export function leadEmailSql(column: string, domainsParam: string): string {
  return `'lead' || ${column} || '@' || (${domainsParam}::text[])[1 + ${column} % ${DOMAINS.length}]`;
}

/** Leadline's native wire format, as a website sender posts it. */
export interface WireEvent {
  id: string;
  type: string;
  occurred_at: string;
  lead: { email: string; first_name: string; last_name: string; company?: string; title?: string };
  metadata: Record<string, string>;
  utm: Record<string, string>;
}

const TYPES = [
  ['page.viewed', 55],
  ['email.opened', 15],
  ['form.submitted', 8],
  ['email.clicked', 6],
  ['content.downloaded', 5],
  ['webinar.registered', 3],
  ['email.replied', 2],
  ['meeting.booked', 2],
  ['linkedin.connected', 2],
  ['lead.interested', 1],
  ['email.bounced', 1],
] as const;

const URLS = [
  'https://seq.example/',
  'https://seq.example/pricing',
  'https://seq.example/services/ngs',
  'https://seq.example/products/long-read',
  'https://seq.example/enterprise',
  'https://seq.example/academic/grants',
  'https://seq.example/partner',
  'https://seq.example/blog/sample-prep-tips',
  'https://seq.example/careers',
] as const;

const FORM_TYPES = ['demo', 'sample_request', 'pricing', 'contact', 'co_development', ''] as const;
const CONTENT_TYPES = ['whitepaper', 'protocol', 'case_study'] as const;
const UTM_SOURCES = ['google', 'linkedin', 'newsletter', ''] as const;

/**
 * One realistic event for lead number `leadNumber`, happening `ageMs` before `now`.
 *
 * @example
 * wireEvent(mulberry32(1), 'evt_1', 42, new Date(), 60_000).lead.email // 'lead42@genomics-lab.example'
 */
export function wireEvent(rng: Rng, id: string, leadNumber: number, now: Date, ageMs: number): WireEvent {
  const type = weighted(rng, TYPES);
  const email = leadEmail(leadNumber);
  const domain = email.slice(email.indexOf('@') + 1);
  const metadata: Record<string, string> = {};
  if (type === 'page.viewed') metadata['url'] = pick(rng, URLS);
  if (type === 'form.submitted') {
    const formType = pick(rng, FORM_TYPES);
    if (formType !== '') metadata['form_type'] = formType;
  }
  if (type === 'content.downloaded') metadata['content_type'] = pick(rng, CONTENT_TYPES);
  if (type === 'meeting.booked')
    metadata['event_name'] = rng() < 0.2 ? 'Partnership intro' : 'Discovery call';
  if (type === 'email.replied') metadata['reply_text'] = rng() < 0.3 ? 'Keen to collaborate' : 'Thanks!';
  const utmSource = pick(rng, UTM_SOURCES);
  const company = COMPANIES[domain];
  return {
    id,
    type,
    occurred_at: new Date(now.getTime() - ageMs).toISOString(),
    lead: {
      email,
      first_name: 'Lead',
      last_name: `Number ${leadNumber}`,
      ...(company === undefined ? {} : { company }),
      ...(rng() < 0.5 ? { title: TITLES[leadNumber % TITLES.length]! } : {}),
    },
    metadata,
    utm: utmSource === '' ? {} : { source: utmSource, campaign: `campaign-${intBetween(rng, 1, 6)}` },
  };
}

// createHmac with a Buffer key costs ~30 µs of key import per call; a KeyObject made once ~3 µs.
const keys = new Map<string, KeyObject>();
function keyFor(secret: string): KeyObject {
  let key = keys.get(secret);
  if (key === undefined) {
    key = createSecretKey(Buffer.from(secret.replace(/^whsec_/, ''), 'base64'));
    keys.set(secret, key);
  }
  return key;
}

/**
 * Standard Webhooks signature headers (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed with
 * the base64 part of `whsec_…`). Reimplemented here so signing stays cheap in the load generator;
 * the scenario checks every answer is a 202, so a wrong signature cannot pass unnoticed.
 */
export function signStandardHeaders(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Record<string, string> {
  const signature = createHmac('sha256', keyFor(secret))
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${signature}`,
  };
}

// Ordinary traffic: page views and email engagement only. Their daily caps add up to at most 35
// behaviour points (plus 30 fit points) a day, below `hot` (80), and none of their intent signals is
// CRITICAL, so this traffic alone never raises a hot-lead alert (see rules/default.yml).
const ORDINARY_TYPES = [
  ['page.viewed', 75],
  ['email.opened', 17],
  ['email.clicked', 8],
] as const;

/**
 * An event that scores and may route its lead but never makes it hot.
 *
 * @example
 * ordinaryEvent(mulberry32(1), 'evt_1', 42, new Date(), 0).type // 'page.viewed'
 */
export function ordinaryEvent(rng: Rng, id: string, leadNumber: number, now: Date, ageMs: number): WireEvent {
  const event = wireEvent(rng, id, leadNumber, now, ageMs);
  const type = weighted(rng, ORDINARY_TYPES);
  return { ...event, type, metadata: type === 'page.viewed' ? { url: pick(rng, URLS) } : {} };
}

/** The last name hot leads carry, unique per run and lead, so a Slack message names exactly one. */
export function hotLeadName(tag: string, index: number): string {
  return `Hotlead${tag}n${index}`;
}

/** Finds `hotLeadName(tag, i)` in message text and returns `i`. */
export function hotLeadIndex(tag: string, text: string): number | null {
  const match = new RegExp(`Hotlead${tag}n(\\d+)`).exec(text);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/**
 * A demo request from a new lead at a company address: form-demo scores 30 and brings the
 * DEMO_REQUEST signal, which is CRITICAL, so it raises a hot-lead alert on its own.
 */
export function hotLeadEvent(tag: string, index: number, now: Date): WireEvent {
  return {
    id: `hot-${tag}-${index}`,
    type: 'form.submitted',
    occurred_at: now.toISOString(),
    lead: {
      email: `hot-${tag}-${index}@acme-bio.example`,
      first_name: 'Hot',
      last_name: hotLeadName(tag, index),
      company: 'Acme Bio',
      title: 'Head of Research',
    },
    metadata: { form_type: 'demo' },
    utm: { source: 'google', campaign: 'speed-to-lead' },
  };
}
