import type { ErrorIssue } from '../../errors.ts';
import { mapCalendly } from './calendly.ts';
import type { MapContext, MapResult } from './common.ts';
import { fail } from './common.ts';
import { mapHubspot } from './hubspot.ts';
import { mapLemlist } from './lemlist.ts';
import { mapMoco } from './moco.ts';
import { mapNative } from './native.ts';
import { mapTypeform } from './typeform.ts';

export type { MapContext, MapResult } from './common.ts';

export type PayloadFormat = 'native' | 'hubspot' | 'calendly' | 'typeform' | 'lemlist' | 'moco';

export const PAYLOAD_FORMATS: readonly PayloadFormat[] = Object.freeze([
  'native',
  'hubspot',
  'calendly',
  'typeform',
  'lemlist',
  'moco',
]);

const MAPPERS: Record<PayloadFormat, (body: unknown, ctx: MapContext) => MapResult> = {
  native: mapNative,
  hubspot: mapHubspot,
  calendly: mapCalendly,
  typeform: mapTypeform,
  lemlist: mapLemlist,
  moco: mapMoco,
};

/** A 1,000-event batch can fail on every event; the sender needs the first few, not all of them. */
const MAX_ISSUES = 50;

/**
 * Maps a parsed webhook body in `format` to Leadline events. Pure: no IO and no clock (the
 * fallback time is `ctx.receivedAt`). Either every event maps, or the result lists the problems
 * with dotted paths into the sender's body.
 *
 * @example
 * const result = mapPayload('lemlist', JSON.parse(rawText), { source: 'lemlist', receivedAt: new Date(), headers });
 * if (!result.ok) throw new LeadlineError('invalid_payload', formatted(result.issues), { status: 400, issues: result.issues });
 */
export function mapPayload(format: PayloadFormat, body: unknown, ctx: MapContext): MapResult {
  if (!Object.hasOwn(MAPPERS, format)) {
    return fail([{ path: '(root)', message: `unknown payload format "${String(format).slice(0, 40)}"` }]);
  }
  const result = MAPPERS[format](body, ctx);
  return result.ok ? result : fail(capIssues(result.issues));
}

function capIssues(issues: ErrorIssue[]): ErrorIssue[] {
  if (issues.length <= MAX_ISSUES) return issues;
  return [
    ...issues.slice(0, MAX_ISSUES),
    { path: '(root)', message: `${issues.length - MAX_ISSUES} more issues not shown` },
  ];
}
