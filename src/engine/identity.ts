import { IDENTITY_KINDS, type IdentityKind, type LeadlineEvent, type LeadProfile } from './event.ts';

/** Profile fields in a stable order; also the keys `mergeProfile` copies. */
export const PROFILE_FIELDS = [
  'firstName',
  'lastName',
  'fullName',
  'company',
  'title',
  'phone',
  'country',
  'region',
  'website',
] as const satisfies readonly (keyof LeadProfile)[];

export interface IdentityKey {
  kind: IdentityKind;
  value: string;
}

/**
 * Lowercased, trimmed email; `null` when it is not shaped like one. Gmail ignores dots and
 * `+tags` in the mailbox name, so those are removed there (and googlemail.com becomes
 * gmail.com); elsewhere the mailbox is kept as sent, because other providers treat
 * `a.b` and `ab` as different people and a wrong merge is worse than a duplicate.
 *
 * @example
 * normalizeEmail(' Jane.Doe+news@GoogleMail.com ') // 'janedoe@gmail.com'
 * normalizeEmail('Jane.Doe@Lab.Example.org')      // 'jane.doe@lab.example.org'
 */
export function normalizeEmail(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const email = raw
    .trim()
    .toLowerCase()
    .replace(/^mailto:/, '');
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1 || /\s/.test(email)) return null;
  let local = email.slice(0, at);
  let domain = email.slice(at + 1).replace(/\.$/, '');
  if (!domain.includes('.') || domain.startsWith('.') || domain.includes('..')) return null;
  if (domain === 'googlemail.com') domain = 'gmail.com';
  if (domain === 'gmail.com') {
    local = local.split('+')[0]!.replaceAll('.', '');
    if (local === '') return null;
  }
  return `${local}@${domain}`;
}

/**
 * The domain part of an email, lowercased; `null` for anything that is not an email.
 *
 * @example
 * emailDomain('PI@Uni-Heidelberg.DE') // 'uni-heidelberg.de'
 */
export function emailDomain(email: string | null | undefined): string | null {
  const normalized = normalizeEmail(email);
  return normalized === null ? null : normalized.slice(normalized.lastIndexOf('@') + 1);
}

const FREE_MAIL_DOMAINS = new Set([
  '126.com',
  '163.com',
  'aim.com',
  'arcor.de',
  'bk.ru',
  'btinternet.com',
  'comcast.net',
  'daum.net',
  'email.com',
  'fastmail.com',
  'fastmail.fm',
  'foxmail.com',
  'free.fr',
  'freenet.de',
  'gmail.com',
  'googlemail.com',
  'hanmail.net',
  'hey.com',
  'hushmail.com',
  'icloud.com',
  'inbox.ru',
  'interia.pl',
  'kakao.com',
  'laposte.net',
  'libero.it',
  'list.ru',
  'mac.com',
  'mail.com',
  'mail.ru',
  'mailbox.org',
  'me.com',
  'msn.com',
  'naver.com',
  'o2.pl',
  'online.de',
  'orange.fr',
  'pm.me',
  'posteo.de',
  'posteo.net',
  'proton.me',
  'qq.com',
  'rambler.ru',
  'rediffmail.com',
  'seznam.cz',
  'sfr.fr',
  'sina.com',
  'sky.com',
  't-online.de',
  'tuta.io',
  'tutanota.com',
  'tutanota.de',
  'ukr.net',
  'verizon.net',
  'vodafone.de',
  'wanadoo.fr',
  'web.de',
  'wp.pl',
  'yeah.net',
  'zoho.com',
  'zohomail.com',
]);

/** Brands that hand out mailboxes under many country domains (hotmail.co.uk, yahoo.de, gmx.at, …). */
const FREE_MAIL_BRANDS = new Set([
  'aol',
  'gmail',
  'gmx',
  'googlemail',
  'hotmail',
  'live',
  'outlook',
  'protonmail',
  'yahoo',
  'yandex',
  'ymail',
]);

/**
 * True for consumer mailbox providers, whose domain says nothing about the lead's employer.
 *
 * @example
 * isFreeMailDomain('gmx.de')          // true
 * isFreeMailDomain('hotmail.co.uk')   // true
 * isFreeMailDomain('embl.de')         // false
 */
export function isFreeMailDomain(domain: string | null | undefined): boolean {
  if (typeof domain !== 'string') return false;
  const normalized = domain.trim().toLowerCase().replace(/\.$/, '');
  if (FREE_MAIL_DOMAINS.has(normalized)) return true;
  const [brand, ...suffix] = normalized.split('.');
  // Only brand + country suffix (live.de, yahoo.co.uk), never a company's own host like outlook.acme.com.
  return (
    brand !== undefined &&
    FREE_MAIL_BRANDS.has(brand) &&
    suffix.length >= 1 &&
    suffix.length <= 2 &&
    suffix.every((label) => /^[a-z]{2,3}$/.test(label))
  );
}

/**
 * The canonical `https://www.linkedin.com/in/<slug>` form of a LinkedIn profile URL (any
 * subdomain, scheme, case, query or trailing slash); `null` when it is not a profile URL.
 *
 * @example
 * normalizeLinkedinUrl('de.linkedin.com/in/Jane-Doe-42/?trk=abc') // 'https://www.linkedin.com/in/jane-doe-42'
 */
export function normalizeLinkedinUrl(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const trimmed = raw.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
  } catch {
    return null;
  }
  const host = url.hostname.toLowerCase();
  if (host !== 'linkedin.com' && !host.endsWith('.linkedin.com')) return null;
  const match = /^\/(in|pub)\/([^/]+)/i.exec(url.pathname);
  if (match === null) return null;
  let slug: string;
  try {
    slug = decodeURIComponent(match[2]!);
  } catch {
    slug = match[2]!;
  }
  slug = slug.trim().toLowerCase();
  return slug === '' ? null : `https://www.linkedin.com/${match[1]!.toLowerCase()}/${slug}`;
}

function identityValue(kind: IdentityKind, lead: LeadlineEvent['lead']): string | null {
  if (kind === 'email') return normalizeEmail(lead.email ?? lead.ids.email);
  const raw = lead.ids[kind]?.trim();
  if (raw === undefined || raw === '') return null;
  // A LinkedIn id that is not a recognisable profile URL is still the sender's identifier.
  if (kind === 'linkedin_url') return normalizeLinkedinUrl(raw) ?? raw.toLowerCase();
  return raw;
}

/**
 * The normalized identifiers an event carries, in the lookup priority of `IDENTITY_KINDS`.
 *
 * @example
 * identityKeys(event) // [{ kind: 'email', value: 'jane@lab.org' }, { kind: 'hubspot_id', value: '901' }]
 */
export function identityKeys(event: Pick<LeadlineEvent, 'lead'>): IdentityKey[] {
  const keys: IdentityKey[] = [];
  for (const kind of IDENTITY_KINDS) {
    const value = identityValue(kind, event.lead);
    if (value !== null) keys.push({ kind, value });
  }
  return keys;
}

export interface IdentityCluster<T> {
  /** Every distinct key of the cluster's events, grouped by kind in priority order. */
  keys: IdentityKey[];
  /** The cluster's events in input order. */
  events: T[];
}

/**
 * Groups events that share any identity key, transitively (union-find), so a batch creates
 * exactly one lead per person even when one event carries only an email and another links that
 * email to a HubSpot id. Events without any key form clusters of their own. Clusters come in
 * the order of their first event.
 *
 * @example
 * clusterByIdentity([byEmail, byEmailAndHubspot, byHubspot]).length // 1
 */
export function clusterByIdentity<T extends Pick<LeadlineEvent, 'lead'>>(
  events: readonly T[],
): IdentityCluster<T>[] {
  const parent = events.map((_, i) => i);
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root]!;
    for (let node = i; parent[node] !== root; ) {
      const next = parent[node]!;
      parent[node] = root;
      node = next;
    }
    return root;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };

  const keysOf = events.map((event) => identityKeys(event));
  const owner = new Map<string, number>();
  keysOf.forEach((keys, i) => {
    for (const key of keys) {
      const id = `${key.kind}\u0000${key.value}`;
      const first = owner.get(id);
      if (first === undefined) owner.set(id, i);
      else union(first, i);
    }
  });

  const clusters = new Map<number, { keys: Map<string, IdentityKey>; events: T[] }>();
  events.forEach((event, i) => {
    const root = find(i);
    let cluster = clusters.get(root);
    if (cluster === undefined) {
      cluster = { keys: new Map(), events: [] };
      clusters.set(root, cluster);
    }
    cluster.events.push(event);
    for (const key of keysOf[i]!) cluster.keys.set(`${key.kind}\u0000${key.value}`, key);
  });
  const rank = (kind: IdentityKind) => IDENTITY_KINDS.indexOf(kind);
  return [...clusters.values()].map((cluster) => ({
    keys: [...cluster.keys.values()].sort((a, b) => rank(a.kind) - rank(b.kind)),
    events: cluster.events,
  }));
}

/**
 * Merges a source's view of a person into what Leadline knows: non-blank incoming values win
 * (trimmed), blank or missing ones never erase a known value. Only profile fields are copied.
 *
 * @example
 * mergeProfile({ company: 'EMBL', title: 'PI' }, { title: 'Head of Genomics', company: ' ' })
 * // { company: 'EMBL', title: 'Head of Genomics' }
 */
export function mergeProfile(existing: LeadProfile, incoming: LeadProfile): LeadProfile {
  const merged: LeadProfile = {};
  for (const field of PROFILE_FIELDS) {
    const next = incoming[field]?.trim();
    const known = existing[field];
    if (next !== undefined && next !== '') merged[field] = next;
    else if (known !== undefined && known.trim() !== '') merged[field] = known;
  }
  return merged;
}
