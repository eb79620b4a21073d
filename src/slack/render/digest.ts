/**
 * The daily digest message and the fairness lines the Home tab shares with it. Pure; source names
 * and member names are escaped like any other text.
 */
import type { types } from '@slack/bolt';
import { context, fields, header, plain, section } from './mrkdwn.ts';
import { money } from './deals.ts';
import { formatDuration, formatLocal } from './time.ts';
import type { FairnessRow } from '../../engine/fairness.ts';
import type { SlackMessage } from './views.ts';


/** A member's rotation leads in a window against what their share of each pipeline predicts. */

export interface DigestData {
  /** The local date the digest is for, `YYYY-MM-DD`. */
  date: string;
  from: Date;
  to: Date;
  timeZone: string;
  newLeads: number;
  hotLeads: number;
  claimed: number;
  unclaimed: number;
  medianClaimMs: number | null;
  slaBreaches: number;
  conflictsResolved: number;
  dealsCreated: number;
  dealsWon: number;
  /** The ruleset currency the money figures are in. */
  currency: string;
  revenueWon: number;
  /** Open deals' value weighted by their stage's win probability. */
  weightedPipeline: number;
  /** Currencies of deals the money figures leave out (not converted). */
  otherCurrencies: string[];
  topSources: { source: string; leads: number }[];
  members: FairnessRow[];
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * `*Anna* 3 leads · target 2.7 (33%) · +0.3`: what a member got against their share.
 *
 * @example
 * fairnessLine({ memberId: 'anna', name: 'Anna', received: 3, expected: 2.7, targetPercent: 33.3 })
 */
export function fairnessLine(row: FairnessRow): string {
  const diff = round1(row.received - row.expected);
  const sign = diff > 0 ? `+${diff}` : String(diff);
  return `*${plain(row.name, 100)}* ${row.received} lead${row.received === 1 ? '' : 's'} · target ${round1(row.expected)} (${Math.round(row.targetPercent)}%) · ${sign}`;
}

/**
 * The digest posted to `slack.digest_channel`.
 *
 * @example
 * renderDigest(data).text // 'Lead digest for 2026-11-20: 12 new leads, 3 hot'
 */
export function renderDigest(data: DigestData): SlackMessage {
  const median = data.medianClaimMs === null ? 'no claims' : formatDuration(data.medianClaimMs);
  const blocks: types.KnownBlock[] = [
    header(`Lead digest for ${data.date}`),
    fields(
      [
        `*New leads*\n${data.newLeads}`,
        `*Hot leads*\n${data.hotLeads}`,
        `*Claimed / unclaimed alerts*\n${data.claimed} / ${data.unclaimed}`,
        `*Median time to claim*\n${median}`,
        `*SLA breaches*\n${data.slaBreaches}`,
        `*Conflicts resolved*\n${data.conflictsResolved}`,
        `*Deals created / won*\n${data.dealsCreated} / ${data.dealsWon}`,
        `*Revenue won*\n${money(data.revenueWon, data.currency)}`,
        `*Weighted open pipeline*\n${money(data.weightedPipeline, data.currency)}`,
      ],
      { blockId: 'digest-counts' },
    ),
  ];
  if (data.otherCurrencies.length > 0) {
    const codes = data.otherCurrencies.map((c) => plain(c, 3)).join(', ');
    blocks.push(context([`Deals in ${codes} are left out of the money figures (not converted).`]));
  }
  const sources =
    data.topSources.length === 0
      ? 'No new leads.'
      : data.topSources.map((s) => `• ${plain(s.source, 100)}: ${s.leads}`).join('\n');
  blocks.push(section(`*Top sources*\n${sources}`, { blockId: 'digest-sources' }));
  const members =
    data.members.length === 0
      ? 'No rotation assignments.'
      : data.members.map((m) => `• ${fairnessLine(m)}`).join('\n');
  blocks.push(section(`*Assignments against target share*\n${members}`, { blockId: 'digest-members' }));
  blocks.push(
    context([
      `${formatLocal(data.from, data.timeZone)} – ${formatLocal(data.to, data.timeZone)} (${data.timeZone})`,
    ]),
  );
  return {
    text: `Lead digest for ${data.date}: ${data.newLeads} new leads, ${data.hotLeads} hot`,
    blocks,
  };
}
