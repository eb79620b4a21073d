/**
 * Slack messages for automation notifications and upkeep findings. Pure: data in, `{ text, blocks }`
 * out. Everything a lead, a form or a tool supplied (names, companies, emails) and every name typed
 * into the ruleset goes through `plain` (escaped once, cut to the field's limit); only Leadline's own
 * markup (`*bold*`, user mentions built by `userMention`) is trusted. `text` is always set: it is
 * the notification preview and what screen readers announce.
 */
import type { types } from '@slack/bolt';
import type { DealView } from '../../engine/facts.ts';
import type { RoutingRuleset } from '../../engine/routing-schema.ts';
import type { UpkeepFinding } from '../../engine/upkeep.ts';
import { BLOCK_LIMITS, context, fields, header, plain, section, truncate, userMention } from './mrkdwn.ts';
import { type LeadSummary, leadDisplayName, type SlackMessage } from './views.ts';


/** The lead as a message shows it. */
export interface NotificationLead extends LeadSummary {
  country?: string | null;
  grade: string;
  primaryIntent?: string | null;
  intentConfidence?: number;
}

/** The deal as a message shows it; names come from the ruleset (ids when it has none). */
export interface NotificationDeal {
  id: string;
  pipelineName: string;
  stageName: string;
  ownerSlackUserId?: string | null;
  ownerName?: string | null;
  value?: number | null;
  priority?: string | null;
  daysInStage?: number | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A deal as messages show it: pipeline, stage and owner names from the ruleset (ids when it has
 * none), whole days in stage at `now`.
 *
 * @example
 * dealCard({ dealId: '7', pipelineId: 'b2b', stageId: 'proposal', ownerId: 'anna.becker', stageEnteredAt }, ruleset, now)
 * // { id: '7', pipelineName: 'B2B customers', stageName: 'Proposal', ownerSlackUserId: 'U0AAAA001', daysInStage: 9, … }
 */
export function dealCard(
  deal: Pick<
    DealView,
    'dealId' | 'pipelineId' | 'stageId' | 'ownerId' | 'value' | 'priority' | 'stageEnteredAt'
  >,
  ruleset: Pick<RoutingRuleset, 'pipelines' | 'team'>,
  now: Date,
): NotificationDeal {
  const pipeline = ruleset.pipelines.find((p) => p.id === deal.pipelineId);
  const owner = ruleset.team.members.find((m) => m.id === deal.ownerId);
  return {
    id: deal.dealId,
    pipelineName: pipeline?.name ?? deal.pipelineId,
    stageName: pipeline?.stages.find((s) => s.id === deal.stageId)?.name ?? deal.stageId,
    ownerSlackUserId: owner?.slack_user_id ?? null,
    ownerName: owner?.name ?? deal.ownerId,
    value: deal.value ?? null,
    priority: deal.priority ?? null,
    daysInStage: Math.max(0, Math.floor((now.getTime() - deal.stageEnteredAt.getTime()) / DAY_MS)),
  };
}

const NAME = 120;
const FIELD = 300;

function ownerText(deal: NotificationDeal | null): string {
  if (deal?.ownerSlackUserId) return userMention(deal.ownerSlackUserId);
  if (deal?.ownerName) return plain(deal.ownerName, NAME);
  return '_unassigned_';
}

function leadFields(lead: NotificationLead, deal: NotificationDeal | null): string[] {
  const intent = lead.primaryIntent
    ? `${plain(lead.primaryIntent, 50)} · ${lead.intentConfidence ?? 0} %`
    : '_not yet clear_';
  const items = [
    `*Company*\n${lead.company ? plain(lead.company, FIELD) : '—'}`,
    `*Score*\n${lead.score} (${plain(lead.grade, 5)})`,
    `*Intent*\n${intent}`,
    `*Owner*\n${ownerText(deal)}`,
  ];
  if (lead.title) items.push(`*Title*\n${plain(lead.title, FIELD)}`);
  if (lead.email) items.push(`*Email*\n${plain(lead.email, FIELD)}`);
  if (deal !== null) items.push(`*Deal*\n${plain(deal.pipelineName, NAME)} · ${plain(deal.stageName, NAME)}`);
  return items;
}

function message(textParts: readonly string[], blocks: types.KnownBlock[]): SlackMessage {
  return { text: truncate(textParts.join(' '), BLOCK_LIMITS.messageText), blocks };
}

function humanize(id: string): string {
  const words = id.replace(/[_.-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Renders an automation notification. Unknown template ids get a generic message named after the
 * template, so a typo in the ruleset still tells someone something happened.
 *
 * @example
 * renderNotification({ template: 'hot_lead', ruleId: 'hot-lead-alert', lead, deal })
 * // { text: 'Hot lead: Ada Lovelace (Genomics Lab), score 82', blocks: [header, fields, context] }
 */
export function renderNotification(input: {
  template: string;
  ruleId: string;
  lead: NotificationLead;
  deal: NotificationDeal | null;
}): SlackMessage {
  const { lead, deal } = input;
  const name = plain(leadDisplayName(lead), NAME);
  const company = lead.company ? plain(lead.company, NAME) : null;
  const who = company === null ? name : `${name} (${company})`;
  const footer = context([`Automation \`${plain(input.ruleId, 100)}\` · lead #${lead.id}`]);
  switch (input.template) {
    case 'hot_lead':
      return message(
        [`Hot lead: ${who}, score ${lead.score}`],
        [header(`Hot lead: ${name}`), fields(leadFields(lead, deal)), footer],
      );
    case 'demo_requested':
      return message(
        [`Demo requested by ${who}`],
        [
          header(`Demo requested: ${name}`),
          section(
            `*${name}*${company === null ? '' : ` from *${company}*`} asked for a demo. Reach out today.`,
          ),
          fields(leadFields(lead, deal)),
          footer,
        ],
      );
    case 'proposal_follow_up': {
      const days = deal?.daysInStage ?? null;
      const waited = days === null ? '' : ` for ${days} day${days === 1 ? '' : 's'}`;
      const stage = deal === null ? 'its stage' : `*${plain(deal.stageName, NAME)}*`;
      return message(
        [`Follow up with ${who}: the deal has been in the same stage${waited}`],
        [
          header(`Follow up: ${company ?? name}`),
          section(`The deal with *${who}* has been in ${stage}${waited}. Time to follow up.`),
          fields(leadFields(lead, deal)),
          footer,
        ],
      );
    }
    case 'deal_won': {
      const value = deal?.value == null ? '' : ` · value ${deal.value.toLocaleString('en-US')}`;
      const pipeline = deal === null ? '' : ` in ${plain(deal.pipelineName, NAME)}`;
      return message(
        [`Deal won: ${who}${pipeline}${value}`],
        [
          header(`Deal won: ${company ?? name}`),
          section(`*${who}* is a customer${pipeline}${value}. Owner: ${ownerText(deal)}`),
          footer,
        ],
      );
    }
    default: {
      const title = plain(humanize(input.template), 80);
      return message(
        [`${title}: ${who}`],
        [header(`${title}: ${name}`), fields(leadFields(lead, deal)), footer],
      );
    }
  }
}

const WHY_INACTIVE = {
  not_in_team: 'no longer in the team list',
  inactive: 'marked inactive',
  slack_deactivated: 'deactivated in Slack',
} as const;

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/**
 * Renders an upkeep finding for its owner (stalled, ghost risk) or the managers (integrity). The
 * caller resolves the lead and deal (names from the ruleset, ids when unknown).
 *
 * @example
 * renderUpkeepFinding({ finding, lead, deal })
 * // { text: 'Deal stalled: Ada Lovelace has been in Proposal for 30 days', blocks: [...] }
 */
export function renderUpkeepFinding(input: {
  finding: UpkeepFinding;
  lead: NotificationLead | null;
  deal: NotificationDeal | null;
}): SlackMessage {
  const { finding, deal } = input;
  const name = plain(input.lead === null ? `Lead #${finding.leadId}` : leadDisplayName(input.lead), NAME);
  const company = input.lead?.company ? ` (${plain(input.lead.company, NAME)})` : '';
  const who = `${name}${company}`;
  const pipeline = deal === null ? 'the' : `the ${plain(deal.pipelineName, NAME)}`;
  let title: string;
  let body: string;
  switch (finding.kind) {
    case 'deal.stalled':
      title = `Deal stalled: ${name}`;
      body = `The deal with *${who}* has been in *${plain(deal?.stageName ?? finding.detail.stageId, NAME)}* for ${plural(finding.detail.daysInStage, 'day')} (limit ${finding.detail.thresholdDays}). Move it on or close it.`;
      break;
    case 'deal.ghost_risk':
      title = `Gone quiet: ${name}`;
      body = `*${who}* has been silent for ${plural(finding.detail.daysSilent, 'day')} on ${pipeline} deal (limit ${finding.detail.thresholdDays}). Check in before the deal goes cold.`;
      break;
    case 'lead.stale':
      title = `Stale lead: ${name}`;
      body = `*${who}* has shown no activity for ${plural(finding.detail.daysInactive, 'day')} and has no open deal.`;
      break;
    case 'integrity.routed_without_deal':
      title = `Routed without a deal: ${name}`;
      body = `*${who}* is marked as routed but has no open deal. Route it again or archive it.`;
      break;
    case 'integrity.owner_inactive':
      title = `Owner unavailable: ${name}`;
      body = `${pipeline.charAt(0).toUpperCase()}${pipeline.slice(1)} deal with *${who}* is owned by ${plain(deal?.ownerName ?? finding.detail.ownerId, NAME)}, who is ${WHY_INACTIVE[finding.detail.why]}. Reassign it.`;
      break;
    case 'integrity.deal_unowned':
      title = `No owner: ${name}`;
      body = `${pipeline.charAt(0).toUpperCase()}${pipeline.slice(1)} deal with *${who}* has had no owner for ${plural(finding.detail.hoursOpen, 'hour')} (limit ${finding.detail.thresholdHours}).`;
      break;
    case 'integrity.conflict_overdue':
      title = `Routing decision waiting: ${name}`;
      body = `A routing conflict for *${who}* has waited ${plural(finding.detail.hoursOpen, 'hour')} for a manager (limit ${finding.detail.thresholdHours}).`;
      break;
    case 'integrity.duplicate_open_deal':
      title = `Duplicate deals: ${name}`;
      body = `*${who}* has ${finding.detail.dealIds.length} open deals in pipeline \`${plain(finding.detail.pipelineId, 100)}\` (deals ${finding.detail.dealIds.map((id) => plain(id, 20)).join(', ')}). Close all but one.`;
      break;
    case 'integrity.unknown_stage':
      title = `Unknown stage: ${name}`;
      body = `A deal with *${who}* sits in stage \`${plain(finding.detail.stageId, 100)}\` of pipeline \`${plain(finding.detail.pipelineId, 100)}\`, which the ruleset does not define.`;
      break;
    default: {
      const unknown: never = finding;
      title = `Upkeep: ${name}`;
      body = plain(JSON.stringify(unknown), 500);
    }
  }
  return message(
    [body.replace(/\*/g, '')],
    [
      header(title),
      section(body),
      context([`Upkeep · \`${finding.kind}\` · ${finding.severity} · lead #${plain(finding.leadId, 20)}`]),
    ],
  );
}
