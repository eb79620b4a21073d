import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PayloadFormat } from '../../../src/engine/mappers/index.ts';
import { mapPayload, PAYLOAD_FORMATS } from '../../../src/engine/mappers/index.ts';
import {
  calendlyInviteeCreated,
  hubspotWorkflowContact,
  lemlistActivity,
  mocoDeal,
  mocoHeaders,
  nativeEvent,
  typeformResponse,
} from '../../support/payloads.ts';
import { ctx, events, expectWellFormed, issues, paths, RECEIVED } from '../../support/mapper-fixtures.ts';

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

describe('timestamps', () => {
  it('fall back to receivedAt when a vendor sends something that is not ISO-8601', () => {
    const lemlist = events('lemlist', lemlistActivity({ createdAt: 'yesterday' }));
    expect(lemlist[0]?.occurredAt).toBe(RECEIVED.toISOString());
    const typeform = events('typeform', typeformResponse({ submitted_at: 1763630100 }));
    expect(typeform[0]?.occurredAt).toBe(RECEIVED.toISOString());
  });
});
