/**
 * Leadline's App Home: the member's queue (claimed and owned leads, SLA due soonest first), hot
 * unclaimed leads in their pipelines and an availability toggle; managers and admins also see open
 * routing conflicts, team load and fairness this week. Pure; lead text enters through `plain`.
 */
import { money } from './deals.ts';
import type { types } from '@slack/bolt';
import type { FairnessRow } from '../../engine/fairness.ts';
import { fairnessLine } from './digest.ts';
import { deadLetterBlocks, type HomeDeadLetters } from './dead-letters.ts';
import { type LeadLine, leadLine, pickButton } from './lead-lists.ts';
import { button, context, divider, header, plain, section, userMention } from './mrkdwn.ts';
import { formatLocal, relativeTime } from './time.ts';

export const HOME_ACTIONS = { away: 'home.away', back: 'home.back' } as const;

export interface HomeTeamLoad {
  name: string;
  slackUserId: string;
  openDeals: number;
  waitingAlerts: number;
  /** Why the member takes no leads now (e.g. `away until Fri 4 Dec`), or null. */
  absence: string | null;
}

export interface HomeData {
  now: Date;
  timeZone: string;
  /** Null for someone outside the team. */
  member: { name: string; role: string } | null;
  /** Set while the member is away (Leadline's own away-until); `untilBack` when open-ended. */
  away: { until: Date; untilBack: boolean } | null;
  queue: LeadLine[];
  hot: LeadLine[];
  /** The member's open deals and their value weighted by stage. */
  pipeline: { openDeals: number; weighted: number; currency: string };
  manager: {
    conflicts: { leadId: number; name: string; cause: string; openedAt: Date }[];
    conflictTotal: number;
    load: HomeTeamLoad[];
    fairness: FairnessRow[];
    weekStart: Date;
    /** For admins: MOCO syncs not done yet (failed first); null for managers. */
    mocoSyncs: { total: number; items: { name: string; state: 'pending' | 'failed'; error: string | null; attempts: number }[] } | null;
  } | null;
  /** For active admins: what gave up and waits for them (bot/home.ts adds it); absent for everyone else. */
  deadLetters?: HomeDeadLetters | null;
}

const MAX_QUEUE = 15;
const MAX_HOT = 10;
const MAX_CONFLICTS = 5;
const CAUSES: Record<string, string> = {
  ambiguous_intent: 'intents too close to call',
  manager_rule: 'a rule asks a manager',
  pipeline_manager_decides: 'the pipeline asks a manager',
};

function availability(data: HomeData): types.KnownBlock {
  if (data.away === null) {
    return section('*Availability*\nYou are taking new leads.', {
      blockId: 'home-availability',
      accessory: button({ text: 'Go away', actionId: HOME_ACTIONS.away, value: 'away' }),
    });
  }
  const until = data.away.untilBack
    ? 'until you are back'
    : `until ${formatLocal(data.away.until, data.timeZone)} (${plain(data.timeZone, 60)})`;
  return section(`*Availability*\nYou are away ${until}; new leads go to your teammates.`, {
    blockId: 'home-availability',
    accessory: button({ text: 'I am back', actionId: HOME_ACTIONS.back, value: 'back', style: 'primary' }),
  });
}

function leadSections(leads: readonly LeadLine[], max: number, now: Date, empty: string): types.KnownBlock[] {
  if (leads.length === 0) return [context([empty])];
  const blocks: types.KnownBlock[] = leads
    .slice(0, max)
    .map((lead) => section(leadLine(lead, now), { accessory: pickButton(lead.id, 'Open') }));
  if (leads.length > max) blocks.push(context([`…and ${leads.length - max} more: \`/lead mine\``]));
  return blocks;
}

function managerBlocks(manager: NonNullable<HomeData['manager']>, now: Date): types.KnownBlock[] {
  const blocks: types.KnownBlock[] = [divider(), header('Team')];
  const conflicts =
    manager.conflicts.length === 0
      ? 'None open.'
      : manager.conflicts
          .slice(0, MAX_CONFLICTS)
          .map(
            (c) =>
              `• *${plain(c.name, 200)}* (lead #${c.leadId}) · ${CAUSES[c.cause] ?? plain(c.cause, 50)} · opened ${relativeTime(c.openedAt, now)}`,
          )
          .join('\n');
  const more =
    manager.conflictTotal > MAX_CONFLICTS ? `\n…and ${manager.conflictTotal - MAX_CONFLICTS} more` : '';
  blocks.push(
    section(`*Open routing conflicts (${manager.conflictTotal})*\n${conflicts}${more}`, {
      blockId: 'home-conflicts',
    }),
  );
  const load =
    manager.load.length === 0
      ? 'No team members.'
      : manager.load
          .map((m) => {
            const away = m.absence === null ? '' : ` · ${plain(m.absence, 200)}`;
            return `• ${userMention(m.slackUserId)} ${m.openDeals} open deal${m.openDeals === 1 ? '' : 's'} · ${m.waitingAlerts} alert${m.waitingAlerts === 1 ? '' : 's'} waiting${away}`;
          })
          .join('\n');
  blocks.push(section(`*Team load*\n${load}`, { blockId: 'home-load' }));
  const fairness =
    manager.fairness.length === 0
      ? 'No rotation assignments this week.'
      : manager.fairness.map((row) => `• ${fairnessLine(row)}`).join('\n');
  blocks.push(section(`*Fairness this week*\n${fairness}`, { blockId: 'home-fairness' }));
  if (manager.mocoSyncs !== null) blocks.push(mocoBlock(manager.mocoSyncs));
  return blocks;
}

function mocoBlock(syncs: NonNullable<NonNullable<HomeData['manager']>['mocoSyncs']>): types.KnownBlock {
  const lines =
    syncs.items.length === 0
      ? 'All synced.'
      : syncs.items
          .map((sync) => {
            const why = sync.error === null ? '' : `: ${plain(sync.error, 200)}`;
            const state = sync.state === 'failed' ? '⚠️ failed' : `waiting (${sync.attempts} attempt${sync.attempts === 1 ? '' : 's'})`;
            return `• *${plain(sync.name, 100)}* ${state}${why}`;
          })
          .join('\n');
  const more = syncs.total > syncs.items.length ? `\n…and ${syncs.total - syncs.items.length} more` : '';
  return section(`*MOCO syncs (${syncs.total})*\n${lines}${more}`, { blockId: 'home-moco' });
}

/**
 * The Home tab view for `views.publish`.
 *
 * @example
 * const view = renderHome(data); // { type: 'home', blocks: [header, availability, queue…, hot…, (team…)] }
 */
export function renderHome(data: HomeData): types.HomeView {
  if (data.member === null) {
    return {
      type: 'home',
      blocks: [
        header('Leadline'),
        section('Leadline shows your leads here once an admin adds you to the sales team in the ruleset.'),
      ],
    };
  }
  const queueIds = new Set(data.queue.map((lead) => lead.id));
  // A lead in the queue is not repeated below: buttons carry one action id per lead.
  const hot = data.hot.filter((lead) => !queueIds.has(lead.id));
  const blocks: types.KnownBlock[] = [
    header(`Leadline for ${plain(data.member.name, 100)}`),
    availability(data),
    divider(),
    section(`*Your queue* (${data.queue.length})`, { blockId: 'home-queue' }),
    context([
      `Your open pipeline: ${data.pipeline.openDeals} deal${data.pipeline.openDeals === 1 ? '' : 's'} · weighted ${money(data.pipeline.weighted, data.pipeline.currency)}`,
    ]),
    ...leadSections(data.queue, MAX_QUEUE, data.now, 'Nothing claimed or owned by you.'),
    divider(),
    section('*Hot unclaimed leads in your pipelines*', { blockId: 'home-hot' }),
    ...leadSections(hot, MAX_HOT, data.now, 'No hot leads waiting.'),
  ];
  if (data.manager !== null) blocks.push(...managerBlocks(data.manager, data.now));
  if (data.deadLetters != null) blocks.push(...deadLetterBlocks(data.deadLetters, data.now));
  blocks.push(context([`Updated ${formatLocal(data.now, data.timeZone)} · \`/lead help\` for commands`]));
  return { type: 'home', blocks };
}
