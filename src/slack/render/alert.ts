/**
 * Hot-lead alerts: the channel message with its buttons, the SLA notices (owner reminder, managers'
 * escalation, reassignment, end of a snooze) and the "Not a fit" and "Route to…" modals. Pure: data
 * in, Block Kit out. Lead- and form-supplied text goes through `plain` exactly once; mentions are
 * built by `userMention`; dates by `slackDate` (Leadline's own markup).
 */
import type { SnoozeOption } from '../../engine/snooze.ts';
import type { types } from '@slack/bolt';
import type { LeadExplanation } from '../../engine/lead-processor.ts';
import type { Tier } from '../../engine/ruleset.ts';
import { clockTime, dayTime, slackDate } from './lead-details.ts';
import {
  actions,
  BLOCK_LIMITS,
  button,
  context,
  fields,
  header,
  plain,
  section,
  truncate,
  userMention,
} from './mrkdwn.ts';
import { type SlackMessage, type SlackPerson, personText } from './views.ts';
import { DEAL_ACTIONS } from './deals.ts';


/** Action ids of the alert's controls; listeners match on exactly these. */
export const ALERT_ACTIONS = {
  claim: 'lead.claim',
  details: 'lead.details',
  snooze: 'lead.snooze',
  notAFit: 'lead.not_a_fit',
  route: 'lead.route',
} as const;
export const NOT_A_FIT_CALLBACK = 'lead.not_a_fit.submit';
export const ROUTE_CALLBACK = 'lead.route.submit';
/** Block and action ids inside the two modals. */
export const NOT_A_FIT_INPUT = { blockId: 'message', actionId: 'reason', maxLength: 500 } as const;
export const ROUTE_INPUT = { blockId: 'pipeline', actionId: 'pipeline' } as const;

/** The Snooze menu's labels, one per choice engine/snooze.ts defines. */
export const SNOOZE_OPTIONS: Record<SnoozeOption, string> = { '1h': 'For 1 hour', '4h': 'For 4 hours', '1d': 'For 1 day' };

export type AlertStateView =
  | { kind: 'open' }
  | { kind: 'snoozed'; until: Date }
  | { kind: 'claimed'; bySlackUser: string; at: Date }
  | { kind: 'disqualified'; reason: string; bySlackUser: string | null };

export type ReassignOutcome = 'moved' | 'kept' | 'nobody' | 'no_deal';

export interface AlertView {
  alertId: number;
  leadId: number;
  reason: 'hot' | 'critical_signal';
  priority: Tier;
  /** Raw lead fields (escaped here). */
  lead: { name: string; company: string | null; title: string | null };
  score: number;
  grade: string;
  intent: { primary: string | null; confidence: number };
  /** Counting awards; the three largest contributions per rule become the "why". */
  breakdown: readonly Pick<LeadExplanation['breakdown'][number], 'ruleId' | 'description' | 'points'>[];
  signals: readonly Pick<LeadExplanation['signals'][number], 'signal' | 'tier' | 'intent' | 'occurredAt'>[];
  owner: SlackPerson | null;
  slaDueAt: Date;
  timezone: string;
  state: AlertStateView;
  progress: {
    reminded: boolean;
    escalated: boolean;
    /**
     * The last reassignment: `moved` to a new owner, `kept` (the rotation picked the same owner),
     * `nobody` (no one in the rotation could take it), `no_deal` (nothing to reassign yet).
     */
    reassigned: { outcome: ReassignOutcome; to: SlackPerson | null } | null;
  };
}

/**
 * The largest positive contributions to the score, summed per rule, biggest first.
 *
 * @example
 * topReasons([{ ruleId: 'demo', description: 'Demo', points: 30 }, …], 3)
 * // [{ ruleId: 'demo', description: 'Demo', points: 30, count: 1 }, …]
 */
export function topReasons(
  breakdown: AlertView['breakdown'],
  n = 3,
): { ruleId: string; description: string | null; points: number; count: number }[] {
  const byRule = new Map<
    string,
    { ruleId: string; description: string | null; points: number; count: number }
  >();
  for (const row of breakdown) {
    const entry = byRule.get(row.ruleId) ?? {
      ruleId: row.ruleId,
      description: row.description,
      points: 0,
      count: 0,
    };
    entry.points += row.points;
    entry.count += 1;
    byRule.set(row.ruleId, entry);
  }
  return [...byRule.values()]
    .filter((entry) => entry.points > 0)
    .sort((a, b) => b.points - a.points || a.ruleId.localeCompare(b.ruleId))
    .slice(0, n);
}

/**
 * The alert message. Open and snoozed alerts carry Claim, Details, Snooze, Not a fit and Route to…;
 * once claimed or disqualified only Details stays and the state line says what happened.
 *
 * @example
 * const { text, blocks } = renderAlert(view);
 * await enqueueSlack(tx, { key: 'alert:7', kind: 'alert', method: 'chat.postMessage', channel, payload: { text, blocks } }, now);
 */
export function renderAlert(view: AlertView): SlackMessage {
  const name = plain(view.lead.name, 120);
  const headline = view.reason === 'critical_signal' ? `🚨 Critical signal: ${name}` : `🔥 Hot lead: ${name}`;
  const intent =
    view.intent.primary === null ? '—' : `${plain(view.intent.primary, 50)} · ${view.intent.confidence} %`;
  const blocks: types.KnownBlock[] = [
    header(headline),
    fields([
      `*Company*\n${optional(view.lead.company)}`,
      `*Title*\n${optional(view.lead.title)}`,
      `*Score*\n${view.score} (${plain(view.grade, 2)})`,
      `*Intent*\n${intent}`,
      `*Owner*\n${personText(view.owner)}`,
      `*Claim by*\n${slackDate(view.slaDueAt, view.timezone)} · ${plain(view.priority, 10)}`,
    ]),
  ];
  const reasons = topReasons(view.breakdown);
  if (reasons.length > 0) {
    const lines = reasons.map((r) => {
      const what = r.description === null ? '' : ` ${plain(r.description, 200)}`;
      const times = r.count > 1 ? ` ×${r.count}` : '';
      return `• *+${r.points}*${what} \`${plain(r.ruleId, 100)}\`${times}`;
    });
    blocks.push(section(`*Why this score*\n${lines.join('\n')}`, { blockId: 'reasons' }));
  }
  const latest = [...view.signals]
    .sort((a, b) => b.occurredAt.getTime() - a.occurredAt.getTime())
    .slice(0, 3);
  if (latest.length > 0) {
    const lines = latest.map(
      (s) => `• \`${plain(s.signal, 100)}\` ${plain(s.tier, 10)} · ${plain(s.intent, 50)}`,
    );
    blocks.push(section(`*Latest signals*\n${lines.join('\n')}`, { blockId: 'signals' }));
  }
  const state = stateLines(view);
  if (state.length > 0) blocks.push(context(state.slice(0, BLOCK_LIMITS.contextElements)));
  blocks.push(actions('lead-actions', controls(view)));
  const kind = view.reason === 'critical_signal' ? 'Critical signal' : 'Hot lead';
  const company = view.lead.company ? ` (${plain(view.lead.company, 100)})` : '';
  const status = state.length > 0 ? ` — ${state[0]}` : '';
  return {
    text: truncate(`${kind}: ${name}${company}, score ${view.score} (${plain(view.grade, 2)})${status}`, 600),
    blocks,
  };
}

/** What happened to the alert, newest state first: the line that replaces the buttons. */
function stateLines(view: AlertView): string[] {
  const tz = view.timezone;
  const s = view.state;
  const lines: string[] = [];
  if (s.kind === 'claimed')
    lines.push(`✅ Claimed by ${userMention(s.bySlackUser)} at ${clockTime(s.at, tz)}`);
  if (s.kind === 'disqualified') {
    const by = s.bySlackUser === null ? '' : ` (by ${userMention(s.bySlackUser)})`;
    lines.push(`🚫 Not a fit: ${plain(s.reason, 500)}${by}`);
  }
  if (s.kind === 'snoozed') lines.push(`💤 Snoozed until ${dayTime(s.until, tz)}`);
  const p = view.progress;
  if (p.reassigned !== null) lines.push(reassignLine(p.reassigned));
  if (p.escalated) lines.push('Escalated to managers');
  if (p.reminded) lines.push('Reminded owner');
  return lines;
}

function reassignLine(r: NonNullable<AlertView['progress']['reassigned']>): string {
  switch (r.outcome) {
    case 'moved':
      return `Reassigned to ${personText(r.to)}`;
    case 'kept':
      return `Reassignment kept ${personText(r.to)}: nobody else in the rotation could take it`;
    case 'nobody':
      return 'Reassignment found nobody: no one in the rotation can take the lead';
    case 'no_deal':
      return 'Not reassigned: the lead has no open deal yet';
  }
}

function controls(view: AlertView): types.ActionsBlockElement[] {
  const id = String(view.leadId);
  const details = button({ text: 'Details', actionId: ALERT_ACTIONS.details, value: id });
  if (view.state.kind === 'disqualified') return [details];
  // The one who claimed the lead works the deal: they close it from here.
  if (view.state.kind === 'claimed') {
    return [
      details,
      button({ text: 'Mark won', actionId: DEAL_ACTIONS.markWon, value: id, style: 'primary' }),
      button({ text: 'Mark lost', actionId: DEAL_ACTIONS.markLost, value: id }),
    ];
  }
  return [
    button({ text: 'Claim', actionId: ALERT_ACTIONS.claim, value: id, style: 'primary' }),
    details,
    {
      type: 'static_select',
      action_id: ALERT_ACTIONS.snooze,
      placeholder: { type: 'plain_text', text: 'Snooze' },
      options: (Object.keys(SNOOZE_OPTIONS) as SnoozeOption[]).map((option) => ({
        text: { type: 'plain_text', text: SNOOZE_OPTIONS[option] },
        value: `${id}:${option}`,
      })),
    },
    button({ text: 'Not a fit', actionId: ALERT_ACTIONS.notAFit, value: id, style: 'danger' }),
    button({ text: 'Route to…', actionId: ALERT_ACTIONS.route, value: id }),
  ];
}

export type AlertNoticeKind = 'remind' | 'escalate' | 'reassigned' | 'kept' | 'unsnoozed' | 'routed';

/**
 * The SLA chain's and the router's messages about an alert: a DM to the owner (reminder, end of a
 * snooze, a new or kept assignment) or the managers' escalation. Each carries the lead's summary
 * and the buttons that fit the reader.
 *
 * @example
 * renderAlertNotice(view, 'escalate', { minutesOpen: 120 }) // { text: 'Unclaimed for 120 min: …', blocks }
 */
export function renderAlertNotice(
  view: AlertView,
  kind: AlertNoticeKind,
  extra: { minutesOpen?: number; pipelineName?: string; bySlackUser?: string } = {},
): SlackMessage {
  const name = plain(view.lead.name, 120);
  const open = extra.minutesOpen === undefined ? '' : ` for ${formatMinutes(extra.minutesOpen)}`;
  const owner = personText(view.owner);
  const headline: Record<AlertNoticeKind, string> = {
    remind: `⏰ Reminder: *${name}* is still waiting to be claimed${open}.`,
    escalate: `📣 *${name}* (${plain(view.priority, 10)}) has been unclaimed${open}. Owner: ${owner}.`,
    reassigned: `👋 *${name}* was reassigned to you: unclaimed${open}.`,
    kept: `👋 *${name}* is still yours: unclaimed${open}, and nobody else in the rotation could take it.`,
    unsnoozed: `⏰ The snooze on *${name}* is over: the lead is waiting to be claimed.`,
    routed: `👋 *${name}* was routed to you${
      extra.pipelineName === undefined ? '' : ` in ${plain(extra.pipelineName, 100)}`
    }${extra.bySlackUser === undefined ? '' : ` by ${userMention(extra.bySlackUser)}`}.`,
  };
  const id = String(view.leadId);
  const summary = [
    view.lead.company ? plain(view.lead.company, 100) : null,
    `score ${view.score} (${plain(view.grade, 2)})`,
    view.intent.primary === null ? null : `${plain(view.intent.primary, 50)} ${view.intent.confidence} %`,
    `claim by ${slackDate(view.slaDueAt, view.timezone)}`,
  ].filter((part): part is string => part !== null);
  const buttons =
    kind === 'escalate'
      ? [
          button({ text: 'Details', actionId: ALERT_ACTIONS.details, value: id }),
          button({ text: 'Route to…', actionId: ALERT_ACTIONS.route, value: id }),
        ]
      : [
          button({ text: 'Claim', actionId: ALERT_ACTIONS.claim, value: id, style: 'primary' }),
          button({ text: 'Details', actionId: ALERT_ACTIONS.details, value: id }),
        ];
  const text = headline[kind].replaceAll('*', '');
  return {
    text: truncate(text, 600),
    blocks: [section(headline[kind]), context([summary.join(' · ')]), actions('lead-actions', buttons)],
  };
}

/**
 * The "Not a fit" modal: one required reason of at most 500 characters.
 *
 * @example
 * await client.views.open({ trigger_id, view: renderNotAFitModal({ leadId: 42, leadName: 'Ada' }) });
 */
export function renderNotAFitModal(input: { leadId: number; leadName: string }): types.ModalView {
  return {
    type: 'modal',
    callback_id: NOT_A_FIT_CALLBACK,
    private_metadata: JSON.stringify({ leadId: input.leadId }),
    title: { type: 'plain_text', text: 'Not a fit' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        `Why is *${plain(input.leadName, 200)}* not a fit? The alert closes and the team sees your reason.`,
      ),
      {
        type: 'input',
        block_id: NOT_A_FIT_INPUT.blockId,
        label: { type: 'plain_text', text: 'Reason' },
        element: {
          type: 'plain_text_input',
          action_id: NOT_A_FIT_INPUT.actionId,
          multiline: true,
          max_length: NOT_A_FIT_INPUT.maxLength,
          placeholder: { type: 'plain_text', text: 'e.g. student project, no budget' },
        },
      },
    ],
  };
}

/**
 * The "Route to…" modal for managers: a select of the ruleset's pipelines (Slack allows 100 options).
 *
 * @example
 * renderRouteModal({ leadId: 42, leadName: 'Ada', pipelines: [{ id: 'b2b', name: 'B2B customers' }] })
 */
export function renderRouteModal(input: {
  leadId: number;
  leadName: string;
  pipelines: readonly { id: string; name: string }[];
}): types.ModalView {
  return {
    type: 'modal',
    callback_id: ROUTE_CALLBACK,
    private_metadata: JSON.stringify({ leadId: input.leadId }),
    title: { type: 'plain_text', text: 'Route lead' },
    submit: { type: 'plain_text', text: 'Route' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(`Route *${plain(input.leadName, 200)}* to a pipeline. Its rotation picks the owner.`),
      {
        type: 'input',
        block_id: ROUTE_INPUT.blockId,
        label: { type: 'plain_text', text: 'Pipeline' },
        element: {
          type: 'static_select',
          action_id: ROUTE_INPUT.actionId,
          placeholder: { type: 'plain_text', text: 'Choose a pipeline' },
          options: input.pipelines.slice(0, 100).map((p) => ({
            text: { type: 'plain_text', text: plain(p.name, BLOCK_LIMITS.buttonText) },
            value: p.id,
          })),
        },
      },
    ],
  };
}

function optional(value: string | null): string {
  return value === null || value.trim() === '' ? '—' : plain(value, 200);
}

function formatMinutes(minutes: number): string {
  if (minutes < 120) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} days`;
}
