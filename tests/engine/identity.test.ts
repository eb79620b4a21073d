import { describe, expect, it } from 'vitest';
import {
  clusterByIdentity,
  emailDomain,
  identityKeys,
  isFreeMailDomain,
  mergeProfile,
  normalizeEmail,
  normalizeLinkedinUrl,
} from '../../src/engine/identity.ts';
import { storedEvent } from '../support/engine-rules.ts';

describe('normalizeEmail', () => {
  it('trims and lowercases', () => {
    expect(normalizeEmail('  Jane.Doe@Lab.Example.ORG ')).toBe('jane.doe@lab.example.org');
  });

  it('folds gmail dots, +tags and googlemail', () => {
    expect(normalizeEmail('Jane.Doe+news@googlemail.com')).toBe('janedoe@gmail.com');
    expect(normalizeEmail('j.a.n.e@gmail.com')).toBe('jane@gmail.com');
  });

  it('keeps dots and +tags at other providers', () => {
    expect(normalizeEmail('jane.doe+lab@uni-heidelberg.de')).toBe('jane.doe+lab@uni-heidelberg.de');
  });

  it('rejects what is not an email', () => {
    for (const bad of [
      '',
      'jane',
      '@lab.org',
      'jane@',
      'jane@localhost',
      'ja ne@lab.org',
      'jane@.org',
      null,
      undefined,
    ]) {
      expect(normalizeEmail(bad)).toBeNull();
    }
  });

  it('gives the domain', () => {
    expect(emailDomain('PI@Uni-Heidelberg.DE')).toBe('uni-heidelberg.de');
    expect(emailDomain('nope')).toBeNull();
  });
});

describe('isFreeMailDomain', () => {
  it.each([
    'gmail.com',
    'googlemail.com',
    'outlook.com',
    'hotmail.com',
    'hotmail.co.uk',
    'live.de',
    'yahoo.fr',
    'icloud.com',
    'me.com',
    'gmx.de',
    'gmx.net',
    'web.de',
    't-online.de',
    'aol.com',
    'proton.me',
    'protonmail.com',
    'yandex.ru',
    'mail.ru',
    'qq.com',
    '163.com',
    'GMAIL.COM',
  ])('%s is free mail', (domain) => {
    expect(isFreeMailDomain(domain)).toBe(true);
  });

  it.each(['embl.de', 'uni-heidelberg.de', 'acme-biotech.com', 'outlook.acme-biotech.com', 'livestock.com'])(
    '%s is a work domain',
    (domain) => {
      expect(isFreeMailDomain(domain)).toBe(false);
    },
  );
});

describe('normalizeLinkedinUrl', () => {
  it('canonicalises host, scheme, case, query and trailing slash', () => {
    expect(normalizeLinkedinUrl('de.linkedin.com/in/Jane-Doe-42/?trk=abc')).toBe(
      'https://www.linkedin.com/in/jane-doe-42',
    );
    expect(normalizeLinkedinUrl('http://LinkedIn.com/in/jane-doe-42')).toBe(
      'https://www.linkedin.com/in/jane-doe-42',
    );
  });

  it('rejects other URLs', () => {
    expect(normalizeLinkedinUrl('https://www.linkedin.com/company/acme')).toBeNull();
    expect(normalizeLinkedinUrl('https://notlinkedin.com/in/jane')).toBeNull();
    expect(normalizeLinkedinUrl('::')).toBeNull();
  });
});

describe('identityKeys', () => {
  it('lists normalized keys in priority order', () => {
    const event = storedEvent({
      lead: {
        email: 'Jane@Lab.Example.org',
        ids: { linkedin_url: 'linkedin.com/in/Jane/', hubspot_id: ' 901 ' },
      },
    });
    expect(identityKeys(event)).toEqual([
      { kind: 'email', value: 'jane@lab.example.org' },
      { kind: 'hubspot_id', value: '901' },
      { kind: 'linkedin_url', value: 'https://www.linkedin.com/in/jane' },
    ]);
  });

  it('skips blank ids and invalid emails', () => {
    const event = storedEvent({ lead: { email: 'not-an-email', ids: { crm_id: '  ' } } });
    expect(identityKeys(event)).toEqual([]);
  });
});

describe('clusterByIdentity', () => {
  it('joins events transitively through shared keys', () => {
    const a = storedEvent({ lead: { email: 'ada@lab.org' } });
    const b = storedEvent({ lead: { email: 'ADA@lab.org', ids: { hubspot_id: '7' } } });
    const c = storedEvent({ lead: { email: undefined, ids: { hubspot_id: '7', lemlist_id: 'l1' } } });
    const d = storedEvent({ lead: { email: 'bob@lab.org' } });
    const e = storedEvent({ lead: { email: undefined, ids: { lemlist_id: 'l1' } } });
    const clusters = clusterByIdentity([a, d, b, c, e]);
    expect(clusters).toHaveLength(2);
    expect(clusters[0]!.events).toEqual([a, b, c, e]);
    expect(clusters[0]!.keys).toEqual([
      { kind: 'email', value: 'ada@lab.org' },
      { kind: 'hubspot_id', value: '7' },
      { kind: 'lemlist_id', value: 'l1' },
    ]);
    expect(clusters[1]!.events).toEqual([d]);
  });

  it('joins two chains when a later event bridges them', () => {
    const a = storedEvent({ lead: { email: 'a@lab.org' } });
    const b = storedEvent({ lead: { email: undefined, ids: { crm_id: 'x' } } });
    const bridge = storedEvent({ lead: { email: 'a@lab.org', ids: { crm_id: 'x' } } });
    expect(clusterByIdentity([a, b])).toHaveLength(2);
    expect(clusterByIdentity([a, b, bridge])).toHaveLength(1);
  });

  it('keeps events without any key apart', () => {
    const a = storedEvent({ lead: { email: undefined } });
    const b = storedEvent({ lead: { email: undefined } });
    const clusters = clusterByIdentity([a, b]);
    expect(clusters.map((c) => c.keys)).toEqual([[], []]);
  });
});

describe('mergeProfile', () => {
  it('lets non-blank incoming values win and never erases known ones', () => {
    expect(
      mergeProfile(
        { company: 'EMBL', title: 'PI', phone: '+49 1' },
        { title: ' Head of Genomics ', company: '  ', phone: undefined, country: 'DE' },
      ),
    ).toEqual({ company: 'EMBL', title: 'Head of Genomics', phone: '+49 1', country: 'DE' });
  });

  it('copies profile fields only', () => {
    const incoming = { firstName: 'Ada', email: 'ada@lab.org', ids: {} } as Parameters<
      typeof mergeProfile
    >[1];
    expect(mergeProfile({}, incoming)).toEqual({ firstName: 'Ada' });
  });
});
