import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actions,
  BLOCK_LIMITS,
  button,
  context,
  divider,
  escapeMrkdwn,
  fields,
  header,
  plain,
  section,
  truncate,
  truncateMrkdwn,
  userMention,
} from '../../../src/slack/render/mrkdwn.ts';

const HOSTILE_LEAD = '<!channel> <@U123> <https://evil.example|click>';
const SEED = 20_251_120;

describe('escapeMrkdwn', () => {
  it('renders a hostile lead name inert', () => {
    const safe = escapeMrkdwn(`${HOSTILE_LEAD} & co`);
    expect(safe).toBe('&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; &amp; co');
    expect(safe).not.toMatch(/[<>]/);
    // Every & left is the start of one of the three entities.
    expect(safe.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
  });

  it('is deliberately not idempotent: escape once, at the edge', () => {
    expect(escapeMrkdwn(escapeMrkdwn('A & B'))).toBe('A &amp;amp; B');
  });

  it('leaves other characters alone', () => {
    expect(escapeMrkdwn('*bold* _it_ "quotes" \'apos\' émoji 🚀')).toBe(
      '*bold* _it_ "quotes" \'apos\' émoji 🚀',
    );
  });

  it('a section built from plain() carries no control characters', () => {
    const block = section(`*Lead:* ${plain(HOSTILE_LEAD, 200)}`);
    expect(block.text?.text).toBe(
      '*Lead:* &lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt;',
    );
  });
});

describe('userMention', () => {
  it('mentions valid user ids', () => {
    expect(userMention('U024BE7LH')).toBe('<@U024BE7LH>');
    expect(userMention('W0123ABCD')).toBe('<@W0123ABCD>');
  });

  it('renders anything else as escaped text', () => {
    expect(userMention('!channel')).toBe('!channel');
    expect(userMention('<!here>')).toBe('&lt;!here&gt;');
    expect(userMention('U1')).toBe('U1');
    expect(userMention('u024be7lh')).toBe('u024be7lh');
    expect(userMention('U024BE7LH> <!channel')).toBe('U024BE7LH&gt; &lt;!channel');
  });
});

describe('truncate', () => {
  it('keeps text at exactly the limit and cuts one past it', () => {
    expect(truncate('abcde', 5)).toBe('abcde');
    expect(truncate('abcdef', 5)).toBe('abcd…');
    expect(truncate('abcdef', 5)).toHaveLength(5);
    expect(truncate('', 0)).toBe('');
    expect(truncate('ab', 1)).toBe('…');
    expect(truncate('ab', 0)).toBe('');
  });

  it('never splits a surrogate pair', () => {
    // '🚀' is two UTF-16 units: cutting after 'ab' + the high half must drop the half.
    expect(truncate('ab🚀cd', 4)).toBe('ab…');
    expect(truncate('ab🚀cd', 5)).toBe('ab🚀…');
    expect(truncate('🚀🚀🚀', 3)).toBe('🚀…');
  });

  it('never leaves a dangling entity fragment', () => {
    expect(truncate('Tom &amp; Jerry', 6)).toBe('Tom…');
    expect(truncate('Tom &amp; Jerry', 10)).toBe('Tom &amp;…');
    expect(truncate('a &lt;b&gt;', 5)).toBe('a…');
    // A literal & (plain text) is not an entity: nothing to protect.
    expect(truncate('AT&T rocks', 4)).toBe('AT&…');
  });

  it('truncateMrkdwn keeps mentions and links whole', () => {
    expect(truncateMrkdwn('Owner: <@U024BE7LH> since Monday', 12)).toBe('Owner:…');
    expect(truncateMrkdwn('See <https://leadline.example.com/leads/42|lead 42> now', 20)).toBe('See…');
    expect(truncateMrkdwn('Owner: <@U024BE7LH> since Monday', 24)).toBe('Owner: <@U024BE7LH> sin…');
  });

  it('property: never longer than max, a prefix plus …, no broken pair or entity', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.integer({ min: 1, max: 320 }),
        (raw, max) => {
          const escaped = escapeMrkdwn(raw);
          const out = truncate(escaped, max);
          expect(out.length).toBeLessThanOrEqual(max);
          if (escaped.length <= max) {
            expect(out).toBe(escaped);
            return;
          }
          expect(out.endsWith('…')).toBe(true);
          const kept = out.slice(0, -1);
          expect(escaped.startsWith(kept)).toBe(true);
          const last = kept.charCodeAt(kept.length - 1);
          expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
          // Whatever survived is still a sequence of whole entities.
          expect(kept.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
        },
      ),
      { seed: SEED, numRuns: 1_000 },
    );
  });
});

describe('block builders', () => {
  const anyText = fc.string({ unit: 'binary', maxLength: 5_000 });
  const identifier = (max: number) => fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: max });

  it('property: no builder output exceeds Slack limits, whatever the input', () => {
    fc.assert(
      fc.property(
        anyText,
        fc.array(anyText, { minLength: 1, maxLength: BLOCK_LIMITS.fieldsPerSection }),
        identifier(BLOCK_LIMITS.actionId),
        identifier(BLOCK_LIMITS.blockId),
        fc.string({ maxLength: BLOCK_LIMITS.buttonValue }),
        (text, items, actionId, blockId, value) => {
          const s = section(plain(text));
          expect(s.text?.text.length).toBeLessThanOrEqual(BLOCK_LIMITS.sectionText);
          expect(section(text).text?.text.length).toBeLessThanOrEqual(BLOCK_LIMITS.sectionText);
          for (const f of fields(items).fields ?? []) {
            expect(f.text.length).toBeLessThanOrEqual(BLOCK_LIMITS.fieldText);
            expect(f.text.length).toBeGreaterThan(0);
          }
          const h = header(text);
          expect(h.text.text.length).toBeLessThanOrEqual(BLOCK_LIMITS.headerText);
          expect(h.text.text.length).toBeGreaterThan(0);
          for (const e of context(items).elements) {
            expect('text' in e && e.text.length <= BLOCK_LIMITS.textObject).toBe(true);
          }
          const b = button({ text, actionId, value });
          expect(b.text.text.length).toBeLessThanOrEqual(BLOCK_LIMITS.buttonText);
          expect(b.text.text.length).toBeGreaterThan(0);
          const a = actions(blockId, [b]);
          expect(a.block_id?.length).toBeLessThanOrEqual(BLOCK_LIMITS.blockId);
          expect(JSON.stringify([s, h, a, divider()])).toBeTruthy();
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('builds the shapes Slack expects', () => {
    expect(section('*Ada*', { blockId: 'lead' })).toEqual({
      type: 'section',
      block_id: 'lead',
      text: { type: 'mrkdwn', text: '*Ada*' },
    });
    expect(fields(['*Grade*\nA', ''])).toEqual({
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: '*Grade*\nA' },
        { type: 'mrkdwn', text: '—' },
      ],
    });
    expect(header('New lead')).toEqual({ type: 'header', text: { type: 'plain_text', text: 'New lead' } });
    expect(context(['a', 'b']).elements).toHaveLength(2);
    expect(button({ text: 'Claim', actionId: 'lead.claim', value: 'lead_42', style: 'primary' })).toEqual({
      type: 'button',
      text: { type: 'plain_text', text: 'Claim' },
      action_id: 'lead.claim',
      value: 'lead_42',
      style: 'primary',
    });
    expect(divider()).toEqual({ type: 'divider' });
  });

  it('refuses identifiers and counts it cannot cut without changing meaning', () => {
    const claim = button({ text: 'Claim', actionId: 'lead.claim', value: 'lead_42' });
    expect(() => button({ text: 'x', actionId: 'a'.repeat(256), value: '' })).toThrow(RangeError);
    expect(() => button({ text: 'x', actionId: '', value: '' })).toThrow(RangeError);
    expect(() => button({ text: 'x', actionId: 'a', value: 'v'.repeat(2_001) })).toThrow(RangeError);
    expect(() => actions('b'.repeat(256), [claim])).toThrow(RangeError);
    expect(() => actions('lead', [])).toThrow(RangeError);
    expect(() =>
      actions(
        'lead',
        Array.from({ length: 26 }, () => claim),
      ),
    ).toThrow(RangeError);
    expect(() => fields(Array.from({ length: 11 }, () => 'x'))).toThrow(RangeError);
    expect(() => context([])).toThrow(RangeError);
    expect(
      actions(
        'lead',
        Array.from({ length: 25 }, () => claim),
      ).elements,
    ).toHaveLength(25);
  });
});
