import { z } from 'zod';
import { normalizeEmail } from '../engine/identity.ts';
import { localMidnight, zonedParts, zonedTime } from '../engine/calendar.ts';
import type { LookupQuery } from '../app/queries/find-leads.ts';

/**
 * Parsing `/lead` text: pure and synchronous, so the listener can answer Slack before any other
 * work. The manifest sets `should_escape`, so Slack sends mentions as `<@U123|name>`, emails as
 * `<mailto:a@b.c|a@b.c>`, links as `<https://…|label>` and `&`, `<`, `>` as entities.
 */

export const SUBCOMMANDS = [
  'help',
  'mine',
  'top',
  'pool',
  'new',
  'note',
  'assign',
  'away',
  'back',
  'forget',
  'export',
  'won',
  'lost',
  'reopen',
  'why',
  'fairness',
] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

export type LeadCommand =
  | { kind: 'ping' }
  | { kind: 'help' }
  | { kind: 'mine' }
  | { kind: 'pool' }
  | { kind: 'new' }
  | { kind: 'back' }
  | { kind: 'top'; n: number }
  | { kind: 'note'; email: string; text: string }
  | { kind: 'assign'; email: string; slackUserId: string }
  /** `until` null: away until `/lead back`. */
  | { kind: 'away'; until: Date | null }
  | { kind: 'forget'; email: string }
  | { kind: 'export'; email: string }
  /** `currency` null: the deal's, else the ruleset's. */
  | { kind: 'won'; email: string; amount: number; currency: string | null }
  | { kind: 'lost'; email: string; reason: string }
  | { kind: 'reopen'; email: string }
  | { kind: 'why'; email: string }
  /** `pipeline` null: every pipeline; as typed (an id or a name), matched against the ruleset later. */
  | { kind: 'fairness'; pipeline: string | null; days: number }
  | { kind: 'lookup'; query: LookupQuery }
  | { kind: 'usage'; subcommand: Subcommand; problem: string };

export const MAX_NOTE = 2_000;
export const MAX_TOP = 20;
const DEFAULT_TOP = 10;
const MAX_AWAY_DAYS = 366;
export const DEFAULT_FAIRNESS_DAYS = 30;
/** Decisions are kept this long by default (LEADLINE_AUDIT_DAYS), so a longer window would show less than it says. */
export const MAX_FAIRNESS_DAYS = 400;

const emailArg = z
  .string()
  .transform((value, ctx) => {
    const email = normalizeEmail(value);
    if (email === null) {
      ctx.addIssue({ code: 'custom', message: `“${value}” is not an email address` });
      return z.NEVER;
    }
    return email;
  })
  .pipe(z.email());
const topArg = z.coerce
  .number({ error: 'n must be a number' })
  .int('n must be a whole number')
  .min(1, 'n must be at least 1')
  .transform((n) => Math.min(n, MAX_TOP));
const daysArg = z.coerce
  .number()
  .int('days must be a whole number')
  .min(1, 'days must be at least 1')
  .max(MAX_FAIRNESS_DAYS, `days can be at most ${MAX_FAIRNESS_DAYS}`);
const mentionArg = z
  .string()
  .regex(/^<@([UW][A-Z0-9]{2,20})>$/, 'mention the person, e.g. @anna')
  .transform((value) => value.slice(2, -1));
const amountArg = z
  .string()
  // People type 12000, 12,000 or 12.000,50; the decimal mark is the last . or , with 1–2 digits after it.
  .transform((value, ctx) => {
    const cleaned = value.replace(/[\s'’]/g, '');
    const match = /^(\d{1,3}(?:[.,]\d{3})*|\d+)(?:[.,](\d{1,2}))?$/.exec(cleaned);
    if (match === null) {
      ctx.addIssue({ code: 'custom', message: `“${value}” is not an amount; type e.g. 12000 or 12,500.50` });
      return z.NEVER;
    }
    return Number(`${match[1]!.replace(/[.,]/g, '')}.${match[2] ?? '0'}`);
  })
  .pipe(z.number().positive('the amount must be more than 0').max(1e12, 'that amount is too large'));
const currencyArg = z
  .string()
  .transform((value) => value.toUpperCase())
  .pipe(z.string().regex(/^[A-Z]{3}$/, 'the currency is a three-letter code like EUR'));
export const MAX_LOST_REASON = 500;
const reasonArg = z
  .string()
  .trim()
  .min(1, 'say why the deal was lost')
  .max(MAX_LOST_REASON, `a reason holds at most ${MAX_LOST_REASON} characters`);
const noteArg = z
  .string()
  .trim()
  .min(1, 'the note is empty')
  .max(MAX_NOTE, `a note holds at most ${MAX_NOTE} characters`);

/**
 * Slack's escaped command text as typed: mailto links become the address, other links their URL,
 * mentions lose their display name (`<@U123>`), channels become `#name`, entities are decoded.
 *
 * @example
 * normalizeSlackText('<mailto:ada@lab.example|ada@lab.example> &lt;3') // 'ada@lab.example <3'
 */
export function normalizeSlackText(text: string): string {
  return text
    .replace(/<mailto:([^|>]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/<(https?:\/\/[^|>]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, '<@$1>')
    .replace(/<#[CG][A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Edit distance (insertions, deletions, substitutions).
 *
 * @example
 * levenshtein('mnie', 'mine') // 2
 */
export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The subcommand `word` most likely meant, when it is close enough to be a typo (at most two edits,
 * fewer than the word's length); null otherwise.
 *
 * @example
 * closestSubcommand('mnie') // 'mine'
 * closestSubcommand('lovelace') // null
 */
export function closestSubcommand(word: string): Subcommand | null {
  const typed = word.toLowerCase();
  let best: { name: Subcommand; distance: number } | null = null;
  for (const name of SUBCOMMANDS) {
    const distance = levenshtein(typed, name);
    if (best === null || distance < best.distance) best = { name, distance };
  }
  return best !== null && best.distance <= 2 && best.distance < typed.length ? best.name : null;
}

const DOMAIN = /^(?:https?:\/\/)?(?:www\.)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})\/?$/i;

/**
 * What a lookup searches by: an email, a company domain (also given as a URL), or free text.
 *
 * @example
 * lookupQuery('https://www.Genomics-Lab.example/') // { kind: 'domain', domain: 'genomics-lab.example', … }
 */
export function lookupQuery(text: string): LookupQuery {
  const trimmed = text.trim().slice(0, 200);
  if (/^\S+@\S+$/.test(trimmed)) {
    const email = normalizeEmail(trimmed);
    if (email !== null) return { kind: 'email', email, text: trimmed };
  }
  const domain = DOMAIN.exec(trimmed);
  if (domain?.[1] !== undefined) return { kind: 'domain', domain: domain[1].toLowerCase(), text: trimmed };
  return { kind: 'text', text: trimmed.toLowerCase() };
}

const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * When an away spell ends, from what people type after `/lead away`: `tomorrow`, a weekday (`friday`,
 * `fri`: the next one, never today), `next week` (Monday), a date (`2026-12-01`), or a span (`3d`,
 * `12h`, `2w`, `3 days`). Days start at midnight in `timeZone`. Empty text: null (until `back`).
 * Deterministic for a given `now`; an error message for anything else.
 *
 * @example
 * parseUntil('friday', new Date('2026-11-18T10:00:00Z'), 'Europe/Berlin') // 2026-11-19T23:00:00.000Z
 * parseUntil('3d', now, tz) // now + 72 h
 */
export function parseUntil(text: string, now: Date, timeZone: string): Date | null | { error: string } {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/^until\s+/, '');
  if (t === '') return null;
  let until: Date;
  const today = zonedParts(now, timeZone);
  const weekday = WEEKDAY_NAMES.findIndex((name) => t.length >= 3 && name.startsWith(t));
  const span = /^(\d{1,4})\s*(h|hours?|d|days?|w|weeks?)$/.exec(t);
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  if (t === 'tomorrow') until = localMidnight(now, 1, timeZone);
  else if (t === 'next week') until = localMidnight(now, 7 - ((today.weekday + 6) % 7), timeZone);
  else if (weekday !== -1) until = localMidnight(now, (weekday - today.weekday + 7) % 7 || 7, timeZone);
  else if (span !== null) {
    const unit = span[2]![0] as keyof typeof UNIT_MS;
    until = new Date(now.getTime() + Number(span[1]) * UNIT_MS[unit]);
  } else if (date !== null) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const check = new Date(Date.UTC(y, m - 1, d));
    if (check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) return { error: `${t} is not a date` };
    until = zonedTime(y, m, d, 0, 0, timeZone);
  } else {
    return { error: `I can’t read “${text.trim()}”; try friday, tomorrow, 2026-12-01 or 3d` };
  }
  if (until <= now) return { error: 'that is already past' };
  if (until.getTime() - now.getTime() > MAX_AWAY_DAYS * UNIT_MS.d) return { error: 'at most a year ahead' };
  return until;
}

function usage(subcommand: Subcommand, error: z.ZodError | string): LeadCommand {
  const problem = typeof error === 'string' ? error : (error.issues[0]?.message ?? 'invalid input');
  return { kind: 'usage', subcommand, problem };
}

/**
 * Parses `/lead` text into a command. Anything not starting with a subcommand is a lookup; a lookup
 * that finds nothing is answered with help and the closest subcommand (see closestSubcommand).
 *
 * @example
 * parseLeadCommand('top 5', now, 'Europe/Berlin') // { kind: 'top', n: 5 }
 * parseLeadCommand('assign <mailto:a@b.co|a@b.co> <@U0ANNA001|anna>', now, tz) // { kind: 'assign', email: 'a@b.co', slackUserId: 'U0ANNA001' }
 */
export function parseLeadCommand(raw: string, now: Date, timeZone: string): LeadCommand {
  const text = normalizeSlackText(raw);
  const [first = '', ...rest] = text.split(' ');
  const word = first.toLowerCase();
  const args = rest.join(' ');
  if (word === 'ping' && rest.length === 0) return { kind: 'ping' };
  if (text === '') return { kind: 'help' };
  const sub = (SUBCOMMANDS as readonly string[]).includes(word) ? (word as Subcommand) : null;
  switch (sub) {
    case null:
      return { kind: 'lookup', query: lookupQuery(text) };
    case 'help':
    case 'mine':
    case 'pool':
    case 'new':
    case 'back':
      return { kind: sub };
    case 'top': {
      if (args === '') return { kind: 'top', n: DEFAULT_TOP };
      const n = topArg.safeParse(args);
      return n.success ? { kind: 'top', n: n.data } : usage('top', n.error);
    }
    case 'forget':
    case 'export':
    case 'why': {
      const email = emailArg.safeParse(args);
      return email.success ? { kind: sub, email: email.data } : usage(sub, email.error);
    }
    case 'note': {
      const [target = '', ...words] = rest;
      const email = emailArg.safeParse(target);
      if (!email.success) return usage('note', email.error);
      const note = noteArg.safeParse(words.join(' '));
      return note.success ? { kind: 'note', email: email.data, text: note.data } : usage('note', note.error);
    }
    case 'assign': {
      const mention = rest.find((token) => token.startsWith('<@'));
      const target = rest.find((token) => !token.startsWith('<@')) ?? '';
      const email = emailArg.safeParse(target);
      if (!email.success) return usage('assign', email.error);
      const user = mentionArg.safeParse(mention ?? '');
      return user.success
        ? { kind: 'assign', email: email.data, slackUserId: user.data }
        : usage('assign', user.error);
    }
    case 'won':
    case 'lost':
    case 'reopen':
      return parseDealCommand(sub, rest);
    case 'fairness':
      return parseFairness(rest);
    case 'away': {
      const until = parseUntil(args, now, timeZone);
      if (until !== null && !(until instanceof Date)) return usage('away', until.error);
      return { kind: 'away', until };
    }
  }
}

/**
 * `fairness [pipeline] [days]`: a last word of digits is the days; the words before it name the
 * pipeline (its id or its name, which may hold spaces).
 *
 * @example
 * parseFairness(['B2B', 'customers', '90']) // { kind: 'fairness', pipeline: 'B2B customers', days: 90 }
 */
function parseFairness(rest: readonly string[]): LeadCommand {
  const words = rest.filter((word) => word !== '');
  const last = words.at(-1);
  let days = DEFAULT_FAIRNESS_DAYS;
  if (last !== undefined && /^[-+]?\d+(?:[.,]\d+)?$/.test(last)) {
    const parsed = daysArg.safeParse(last.replace(',', '.'));
    if (!parsed.success) return usage('fairness', parsed.error);
    days = parsed.data;
    words.pop();
  }
  return { kind: 'fairness', pipeline: words.length === 0 ? null : words.join(' '), days };
}

/** `won <email> <amount> [currency]`, `lost <email> <reason>`, `reopen <email>`. */
function parseDealCommand(sub: 'won' | 'lost' | 'reopen', rest: readonly string[]): LeadCommand {
  const [target = '', ...words] = rest;
  const email = emailArg.safeParse(target);
  if (!email.success) return usage(sub, email.error);
  if (sub === 'reopen') return words.length === 0 ? { kind: 'reopen', email: email.data } : usage(sub, 'reopen takes only the email');
  if (sub === 'lost') {
    const reason = reasonArg.safeParse(words.join(' '));
    return reason.success ? { kind: 'lost', email: email.data, reason: reason.data } : usage(sub, reason.error);
  }
  const [amountText = '', currencyText, ...extra] = words;
  if (extra.length > 0) return usage(sub, 'type the amount and, optionally, the currency: won <email> 12000 EUR');
  const amount = amountArg.safeParse(amountText);
  if (!amount.success) return usage(sub, amount.error);
  if (currencyText === undefined) return { kind: 'won', email: email.data, amount: amount.data, currency: null };
  const currency = currencyArg.safeParse(currencyText);
  return currency.success
    ? { kind: 'won', email: email.data, amount: amount.data, currency: currency.data }
    : usage(sub, currency.error);
}
