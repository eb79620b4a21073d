/**
 * Safe text and Block Kit builders for Leadline's Slack messages. Pure: no IO.
 *
 * The rule: untrusted text (lead names, companies, form answers, anything a lead or a tool typed)
 * enters a message only through `escapeMrkdwn` or `plain`, exactly once, at the edge. Builders
 * take already-safe mrkdwn (so `userMention(...)`, `*bold*` and `<url|label>` written by Leadline
 * keep working) and cut every field to Slack's limits, so no message fails with `invalid_blocks`.
 * Slack's escaping rule covers text objects of both kinds, so `header` and button labels (plain
 * text) follow the same rule.
 */
import type { types } from '@slack/bolt';

/** Block Kit limits (Slack rejects with `invalid_blocks` past these). Lengths are UTF-16 units. */
export const BLOCK_LIMITS = {
  blocksPerMessage: 50,
  blocksPerView: 100,
  sectionText: 3000,
  fieldsPerSection: 10,
  fieldText: 2000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionId: 255,
  blockId: 255,
  actionsElements: 25,
  /** Context blocks hold at most 10 elements; each text object at most 3,000 characters. */
  contextElements: 10,
  textObject: 3000,
  modalTitle: 24,
  modalSubmit: 24,
  modalClose: 24,
  privateMetadata: 3000,
  callbackId: 255,
  /** Top-level `text` of a message: keep under 4,000 (Slack truncates past 40,000). */
  messageText: 4000,
} as const;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const ELLIPSIS = '…';
/** Shown instead of empty text, which Slack rejects (text objects need at least one character). */
const EMPTY = '—';
const ENTITY = /^&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});/i;
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

/**
 * Escapes Slack's three control characters so text renders literally: no mentions, no
 * `<!channel>`, no disguised links. Not idempotent by design: escaping twice shows `&amp;amp;`,
 * which is why text is escaped once, where it enters a message.
 *
 * @example
 * escapeMrkdwn('<!channel> Tom & Jerry') // '&lt;!channel&gt; Tom &amp; Jerry'
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => ESCAPES[c] ?? c);
}

/**
 * Cuts `text` to at most `max` UTF-16 units, ending in `…` when it cut. Never splits a surrogate
 * pair (emoji) or an HTML entity such as `&amp;`, so it is safe on escaped text.
 *
 * @example
 * truncate('Genomics Lab', 8)        // 'Genomic…'
 * truncate('Tom &amp; Jerry', 6)     // 'Tom…'  (not 'Tom &…')
 */
export function truncate(text: string, max: number): string {
  return cut(text, max, false);
}

/**
 * `truncate` for trusted mrkdwn: also never cuts inside a `<…>` token (mention, link), which would
 * leave a broken `<https://…` in the message.
 *
 * @example
 * truncateMrkdwn('Owner: <@U024BE7LH> since Monday', 12) // 'Owner:…'
 */
export function truncateMrkdwn(text: string, max: number): string {
  return cut(text, max, true);
}

/**
 * Escapes untrusted text and cuts it to `max` (default: a section's 3,000) in one call.
 *
 * @example
 * section(`*Lead:* ${plain(lead.name, 200)}`)
 */
export function plain(text: string, max: number = BLOCK_LIMITS.sectionText): string {
  return truncate(escapeMrkdwn(text), max);
}

/**
 * A mention of a Slack user when `slackUserId` looks like one (`U…`/`W…`); otherwise the value
 * rendered as escaped text, so a bad id can never become `<!channel>`.
 *
 * @example
 * userMention('U024BE7LH')   // '<@U024BE7LH>'
 * userMention('!channel')    // '!channel'
 * userMention('<!here>')     // '&lt;!here&gt;'
 */
export function userMention(slackUserId: string): string {
  return SLACK_USER_ID.test(slackUserId) ? `<@${slackUserId}>` : escapeMrkdwn(slackUserId);
}

/**
 * A section block with safe mrkdwn text, cut to 3,000 characters.
 *
 * @example
 * section(`*${plain(lead.name, 200)}* scored ${score}`, { blockId: 'lead-summary' })
 */
export function section(
  text: string,
  options: { blockId?: string; accessory?: types.Button } = {},
): types.SectionBlock {
  return {
    type: 'section',
    ...blockIdOf(options.blockId),
    text: mrkdwn(text, BLOCK_LIMITS.sectionText),
    ...(options.accessory === undefined ? {} : { accessory: options.accessory }),
  };
}

/**
 * A section of two-column fields (safe mrkdwn), at most 10, each cut to 2,000 characters.
 * Throws on more than 10: dropping facts silently would mislead.
 *
 * @example
 * fields([`*Company*\n${plain(lead.company, 200)}`, `*Grade*\n${grade}`])
 */
export function fields(items: readonly string[], options: { blockId?: string } = {}): types.SectionBlock {
  if (items.length === 0 || items.length > BLOCK_LIMITS.fieldsPerSection) {
    throw new RangeError(`a section holds 1–${BLOCK_LIMITS.fieldsPerSection} fields, got ${items.length}`);
  }
  return {
    type: 'section',
    ...blockIdOf(options.blockId),
    fields: items.map((item) => mrkdwn(item, BLOCK_LIMITS.fieldText)),
  };
}

/**
 * A header block (plain text, 150 characters).
 *
 * @example
 * header(`New A lead: ${plain(lead.name, 100)}`)
 */
export function header(text: string): types.HeaderBlock {
  return { type: 'header', text: plainText(text, BLOCK_LIMITS.headerText) };
}

/**
 * A context block of small mrkdwn lines, at most 10, each cut to 3,000 characters.
 *
 * @example
 * context([`Source: ${plain(event.source, 50)}`, `Owner: ${userMention(ownerId)}`])
 */
export function context(items: readonly string[]): types.ContextBlock {
  if (items.length === 0 || items.length > BLOCK_LIMITS.contextElements) {
    throw new RangeError(
      `a context block holds 1–${BLOCK_LIMITS.contextElements} elements, got ${items.length}`,
    );
  }
  return { type: 'context', elements: items.map((item) => mrkdwn(item, BLOCK_LIMITS.textObject)) };
}

/**
 * A button. The label is cut to 75 characters; `actionId` (255) and `value` (2,000) are
 * identifiers, so an over-long one throws instead of being cut into a different identifier.
 *
 * @example
 * button({ text: 'Claim', actionId: 'lead.claim', value: lead.id, style: 'primary' })
 */
export function button(input: {
  text: string;
  actionId: string;
  value: string;
  style?: 'primary' | 'danger';
}): types.Button {
  return {
    type: 'button',
    text: plainText(input.text, BLOCK_LIMITS.buttonText),
    action_id: identifier('action_id', input.actionId, BLOCK_LIMITS.actionId),
    value: identifier('value', input.value, BLOCK_LIMITS.buttonValue, true),
    ...(input.style === undefined ? {} : { style: input.style }),
  };
}

/**
 * An actions block with a fixed `block_id` (listeners match on it) and 1–25 elements.
 *
 * @example
 * actions('lead-actions', [button({ text: 'Claim', actionId: 'lead.claim', value: lead.id })])
 */
export function actions(blockId: string, elements: readonly types.ActionsBlockElement[]): types.ActionsBlock {
  if (elements.length === 0 || elements.length > BLOCK_LIMITS.actionsElements) {
    throw new RangeError(
      `an actions block holds 1–${BLOCK_LIMITS.actionsElements} elements, got ${elements.length}`,
    );
  }
  return {
    type: 'actions',
    block_id: identifier('block_id', blockId, BLOCK_LIMITS.blockId),
    elements: [...elements],
  };
}

/**
 * A divider block.
 *
 * @example
 * [section('Lead'), divider(), context(['Scored just now'])]
 */
export function divider(): types.DividerBlock {
  return { type: 'divider' };
}

function mrkdwn(text: string, max: number): types.MrkdwnElement {
  return { type: 'mrkdwn', text: nonEmpty(truncateMrkdwn(text, max)) };
}

function plainText(text: string, max: number): types.PlainTextElement {
  return { type: 'plain_text', text: nonEmpty(truncate(text, max)) };
}

function nonEmpty(text: string): string {
  return text.trim() === '' ? EMPTY : text;
}

function blockIdOf(blockId: string | undefined): { block_id?: string } {
  return blockId === undefined ? {} : { block_id: identifier('block_id', blockId, BLOCK_LIMITS.blockId) };
}

function identifier(name: string, value: string, max: number, allowEmpty = false): string {
  if ((!allowEmpty && value === '') || value.length > max) {
    throw new RangeError(`${name} must be ${allowEmpty ? 0 : 1}–${max} characters, got ${value.length}`);
  }
  return value;
}

function cut(text: string, max: number, keepTokens: boolean): string {
  if (text.length <= max) return text;
  if (!(max >= 1)) return '';
  let end = max - ELLIPSIS.length;
  // A high surrogate at the cut would leave half an emoji.
  if (end > 0 && isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  // An entity straddling the cut (`&am|p;`) would render as a stray `&am`.
  const amp = text.lastIndexOf('&', end - 1);
  if (amp !== -1) {
    const entity = ENTITY.exec(text.slice(amp, amp + 40));
    if (entity !== null && amp + entity[0].length > end) end = amp;
  }
  if (keepTokens) {
    const open = text.lastIndexOf('<', end - 1);
    if (open !== -1) {
      const close = text.indexOf('>', open);
      if (close === -1 || close >= end) end = open;
    }
  }
  return text.slice(0, end).trimEnd() + ELLIPSIS;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
