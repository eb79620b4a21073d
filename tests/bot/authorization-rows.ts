import { expect } from 'vitest';
import { NOT_A_MANAGER_TEXT } from '../../src/bot/conflict-actions.ts';
import { ADMINS_ONLY, MANAGERS_ONLY } from '../../src/bot/lead-respond.ts';
import { AWAY_UNTIL_BACK } from '../../src/engine/presence.ts';
import {
  type Access,
  ADA,
  type Extra,
  first,
  openedView,
  openHome,
  type Outcome,
  press,
  pressHome,
  replyText,
  rowOnceThere,
  type Scene,
  slash,
  submitView,
} from '../support/authorization.ts';
import { textOf, USERS, waitForCall } from '../support/lead-desk.ts';
import type { SlackHarness } from '../support/slack-harness.ts';
import { waitFor } from '../support/db.ts';
import { LEAD_DETAILS_TITLE } from '../../src/slack/render/lead-details.ts';

// The rows of the authorization matrix (authorization-matrix.test.ts): each command, button and
// modal, who may use it, what a refusal says and what an allowed use must have done.

export interface Row {
  /** The row's first cell in README.md's table. */
  label: string;
  access: Access;
  /** What a refused member of the team reads. */
  refusal?: string;
  /** What the inactive member and the unknown user read; NOT_ON_TEAM unless said otherwise. */
  outsiders?: string;
  scene?: Extra[];
  run(h: SlackHarness, s: Scene, userId: string): Promise<Outcome>;
  /** Asserts the work was done, waiting for it when it happens after the ack. */
  allowed(h: SlackHarness, s: Scene, out: Outcome, userId: string): Promise<void>;
}

const NOT_OWNER = 'Reps close their own deals; a manager or admin can close this one.';
const ROUTE_REFUSAL = 'Only managers and admins can route leads to a pipeline.';
const HOME_REFUSAL = 'Leadline shows your leads here once an admin adds you to the sales team in the ruleset.';

const input = (value: string) => ({ type: 'plain_text_input', value });
const dealStatus = (h: SlackHarness, s: Scene) =>
  first<{ status: string }>(h, 'SELECT status FROM deals WHERE id = $1', [s.dealId]);
const expectReply = async (h: SlackHarness, out: Outcome, text: string) =>
  expect(await replyText(h, out)).toContain(text);

const COMMANDS: Row[] = [
  // Both answer in the ack itself, to anyone: they show nothing about leads.
  ...(
    [
      ['help', (out: Outcome) => expect(textOf(out.ack?.blocks)).toContain('/lead mine')],
      ['ping', (out: Outcome) => expect(out.ack?.text).toBe('pong')],
    ] as const
  ).map(([sub, check]): Row => ({ label: `\`/lead ${sub}\``, access: 'anyone', run: (h, _s, user) => slash(h, sub, user), allowed: async (_h, _s, out) => check(out) })),
  {
    label: '`/lead <email, name, company or domain>`',
    access: 'team',
    run: (h, _s, user) => slash(h, ADA, user),
    allowed: (h, _s, out) => expectReply(h, out, 'Ada Lovelace'),
  },
  ...(
    [
      ['mine', 'Your leads'],
      ['top [n]', 'Top 3 unclaimed leads'],
      ['pool', 'Hottest leads waiting in the pool'],
    ] as const
  ).map(([sub, title]): Row => ({
    label: `\`/lead ${sub}\``,
    access: 'team',
    run: (h, _s, user) => slash(h, sub.replace('[n]', '3'), user),
    allowed: (h, _s, out) => expectReply(h, out, title),
  })),
  {
    label: '`/lead new`',
    access: 'team',
    run: (h, _s, user) => slash(h, 'new', user),
    allowed: (h) => openedView(h, 'lead.new.submit'),
  },
  {
    label: '`/lead note <email> <text>`',
    access: 'team',
    run: (h, _s, user) => slash(h, `note ${ADA} Call back on Friday`, user),
    allowed: async (h, s, out, user) => {
      await expectReply(h, out, 'Note added to *Ada Lovelace*.');
      expect(await first(h, 'SELECT lead_id, author_slack_user FROM lead_notes')).toEqual({ lead_id: s.leadId, author_slack_user: user });
    },
  },
  {
    label: '`/lead assign <email> @user`',
    access: 'managers',
    refusal: MANAGERS_ONLY,
    run: (h, _s, user) => slash(h, `assign ${ADA} <@${USERS.carla}>`, user),
    allowed: async (h, s, out) => {
      await expectReply(h, out, `now belongs to <@${USERS.carla}>`);
      expect(await first(h, 'SELECT owner_member_id FROM deals WHERE id = $1', [s.dealId])).toEqual({ owner_member_id: 'carla' });
    },
  },
  {
    label: '`/lead won <email> <amount> [currency]`',
    access: 'own',
    refusal: `*Ada Lovelace*: ${NOT_OWNER}`,
    run: (h, _s, user) => slash(h, `won ${ADA} 12000`, user),
    allowed: async (h, s, out) => {
      await expectReply(h, out, '🏆 *Ada Lovelace*’s deal in B2B customers is won');
      expect(await dealStatus(h, s)).toEqual({ status: 'won' });
    },
  },
  {
    label: '`/lead lost <email> <reason>`',
    access: 'own',
    refusal: `*Ada Lovelace*: ${NOT_OWNER}`,
    run: (h, _s, user) => slash(h, `lost ${ADA} Budget frozen`, user),
    allowed: async (h, s, out) => {
      await expectReply(h, out, '*Ada Lovelace*’s deal in B2B customers is lost');
      expect(await dealStatus(h, s)).toEqual({ status: 'lost' });
    },
  },
  {
    label: '`/lead reopen <email>`',
    access: 'managers',
    refusal: 'Only managers and admins can reopen a deal.',
    scene: ['won'],
    run: (h, _s, user) => slash(h, `reopen ${ADA}`, user),
    allowed: async (h, s, out) => {
      await expectReply(h, out, 'is open again');
      expect(await dealStatus(h, s)).toEqual({ status: 'open' });
    },
  },
  {
    label: '`/lead away [until]`',
    access: 'team',
    run: (h, _s, user) => slash(h, 'away tomorrow', user),
    allowed: async (h, _s, out, user) => {
      await expectReply(h, out, 'You are away until');
      expect(await first(h, 'SELECT away_until FROM team_presence WHERE slack_user_id = $1', [user])).toEqual({
        away_until: new Date('2026-11-20T23:00:00Z'),
      });
    },
  },
  {
    label: '`/lead back`',
    access: 'team',
    run: (h, _s, user) => slash(h, 'back', user),
    allowed: (h, _s, out) => expectReply(h, out, 'Welcome back'),
  },
  {
    label: '`/lead forget <email>`',
    access: 'admins',
    refusal: ADMINS_ONLY,
    run: (h, _s, user) => slash(h, `forget ${ADA}`, user),
    allowed: (h) => openedView(h, 'lead.forget.confirm'),
  },
  {
    label: '`/lead export <email>`',
    access: 'admins',
    refusal: ADMINS_ONLY,
    run: (h, _s, user) => slash(h, `export ${ADA}`, user),
    allowed: async (h, _s, out, user) => {
      await expectReply(h, out, 'is on its way to you by DM');
      expect(await first(h, `SELECT channel FROM slack_outbox WHERE kind = 'lead.export' LIMIT 1`)).toEqual({ channel: user });
    },
  },
  {
    label: '`/lead why <email>`',
    access: 'team',
    run: (h, _s, user) => slash(h, `why ${ADA}`, user),
    allowed: (h, _s, out) => expectReply(h, out, 'went where it did'),
  },
  {
    label: '`/lead fairness [pipeline] [days]`',
    access: 'managers',
    refusal: MANAGERS_ONLY,
    run: (h, _s, user) => slash(h, 'fairness b2b 30', user),
    allowed: (h, _s, out) => expectReply(h, out, 'Fairness over the last 30 days'),
  },
];

/** Buttons that open a modal for those allowed and change nothing before it is submitted. */
const modalButton = (label: string, actionId: string, callbackId: string, access: Access, refusal?: string): Row => ({
  label,
  access,
  ...(refusal === undefined ? {} : { refusal, outsiders: refusal }),
  run: (h, s, user) => press(h, actionId, String(s.leadId), user),
  allowed: (h) => openedView(h, callbackId),
});

/** A decision on the scene's routing conflict, recorded once by whoever may decide. */
const conflictButton = (label: string, actionId: string, value: (s: Scene) => string, resolution: string): Row => ({
  label,
  access: 'managers',
  refusal: NOT_A_MANAGER_TEXT,
  outsiders: NOT_A_MANAGER_TEXT,
  scene: ['conflict'],
  run: (h, s, user) => press(h, actionId, value(s), user),
  allowed: async (h, s, _out, user) => {
    const sql = 'SELECT resolved_by, resolution FROM routing_conflicts WHERE id = $1 AND resolved_at IS NOT NULL';
    expect(await rowOnceThere(h, sql, [s.conflictId])).toEqual({ resolved_by: user, resolution });
  },
});

/** The Home tab, opened or toggled: its owner's view, or the note that Leadline is for the team. */
const homeRow = (label: string, run: Row['run'], awayUntil?: Date | null): Row => ({
  label,
  access: 'team',
  outsiders: HOME_REFUSAL,
  run,
  allowed: async (h, _s, out, user) => {
    expect(await replyText(h, out)).toContain('Leadline for');
    if (awayUntil === undefined) return;
    expect(await first(h, 'SELECT away_until FROM team_presence WHERE slack_user_id = $1', [user])).toEqual({ away_until: awayUntil });
  },
});

const alertState = (h: SlackHarness, s: Scene) =>
  first<{ state: string; claimed_by_slack_user: string | null }>(h, 'SELECT state, claimed_by_slack_user FROM lead_alerts WHERE lead_id = $1', [s.leadId]);

const ALERT_BUTTONS: Row[] = [
  {
    label: 'Alert: Claim (`lead.claim`)',
    access: 'team',
    run: (h, s, user) => press(h, 'lead.claim', String(s.leadId), user),
    allowed: async (h, s, _out, user) => {
      await waitFor(async () => ((await alertState(h, s))?.state === 'claimed' ? true : undefined));
      expect(await alertState(h, s)).toEqual({ state: 'claimed', claimed_by_slack_user: user });
    },
  },
  {
    label: 'Alert: Details (`lead.details`)',
    access: 'team',
    run: (h, s, user) => press(h, 'lead.details', String(s.leadId), user),
    allowed: async (h) => {
      await waitForCall(h, (c) => c.method === 'views.open' && (c.body['view'] as { title?: { text?: string } }).title?.text === LEAD_DETAILS_TITLE);
    },
  },
  {
    label: 'Alert: Snooze (`lead.snooze`)',
    access: 'team',
    run: (h, s, user) => press(h, 'lead.snooze', `${s.leadId}:1h`, user),
    allowed: async (h, s) => {
      await waitFor(async () => ((await alertState(h, s))?.state === 'snoozed' ? true : undefined));
    },
  },
  modalButton('Alert: Not a fit (`lead.not_a_fit`)', 'lead.not_a_fit', 'lead.not_a_fit.submit', 'team'),
];

const BUTTONS: Row[] = [
  ...ALERT_BUTTONS,
  {
    label: 'Open a lead from a list (`lead.pick:<id>`)',
    access: 'team',
    run: (h, s, user) => press(h, `lead.pick:${s.leadId}`, String(s.leadId), user),
    allowed: (h, _s, out) => expectReply(h, out, 'Ada Lovelace'),
  },
  {
    label: 'Share (`lead.share`)',
    access: 'team',
    run: (h, s, user) => press(h, 'lead.share', String(s.leadId), user),
    allowed: async (h, s) => {
      const sql = `SELECT lead_id, channel FROM slack_outbox WHERE kind = 'lead.share'`;
      expect(await rowOnceThere(h, sql)).toEqual({ lead_id: s.leadId, channel: 'C0ROUTING1' });
    },
  },
  modalButton('Reassign (`lead.reassign`)', 'lead.reassign', 'lead.reassign.submit', 'managers', MANAGERS_ONLY),
  modalButton('Note (`lead.note`)', 'lead.note', 'lead.note.submit', 'team'),
  modalButton('Mark won (`deal.mark_won`)', 'deal.mark_won', 'deal.won.submit', 'team'),
  modalButton('Mark lost (`deal.mark_lost`)', 'deal.mark_lost', 'deal.lost.submit', 'team'),
  modalButton('Route to… (`lead.route`)', 'lead.route', 'lead.route.submit', 'managers', ROUTE_REFUSAL),
  conflictButton('Conflict: a pipeline (`conflict.route:<pipeline>`)', 'conflict.route:b2b', (s) => `${s.conflictId}:b2b`, 'route:b2b'),
  conflictButton('Conflict: Keep in pool (`conflict.pool`)', 'conflict.pool', (s) => String(s.conflictId), 'pool'),
  {
    label: 'MOCO: Retry (`moco.retry`)',
    access: 'admins',
    refusal: ADMINS_ONLY,
    outsiders: ADMINS_ONLY,
    scene: ['failedSync'],
    run: (h, s, user) => press(h, 'moco.retry', String(s.syncId), user),
    allowed: async (h, s, out) => {
      await expectReply(h, out, 'Retrying the MOCO sync');
      expect(await first(h, 'SELECT state FROM moco_sync_requests WHERE id = $1', [s.syncId])).toEqual({ state: 'pending' });
    },
  },
  {
    label: 'Home: Retry a dead letter (`deadletter.retry`)',
    access: 'admins',
    refusal: ADMINS_ONLY,
    outsiders: ADMINS_ONLY,
    scene: ['failedSync'],
    run: (h, s, user) => press(h, `deadletter.retry:moco:${s.syncId}`, `moco:${s.syncId}`, user),
    allowed: async (h, s, _out, user) => {
      await rowOnceThere(h, `SELECT 1 FROM slack_outbox WHERE key = $1 AND payload::text LIKE $2`, [`home:${user}`, `%moco:${s.syncId} retried%`]);
      expect(await first(h, 'SELECT state FROM moco_sync_requests WHERE id = $1', [s.syncId])).toEqual({ state: 'pending' });
    },
  },
  {
    label: 'Home: Discard a dead letter (`deadletter.discard`)',
    access: 'admins',
    refusal: ADMINS_ONLY,
    outsiders: ADMINS_ONLY,
    scene: ['failedSync'],
    run: (h, s, user) => press(h, `deadletter.discard:moco:${s.syncId}`, `moco:${s.syncId}`, user),
    allowed: async (h, s, _out, user) => {
      await rowOnceThere(h, `SELECT 1 FROM slack_outbox WHERE key = $1 AND payload::text LIKE $2`, [`home:${user}`, `%moco:${s.syncId} discarded%`]);
      expect(await first(h, 'SELECT state, discarded_at IS NOT NULL AS discarded FROM moco_sync_requests WHERE id = $1', [s.syncId])).toEqual({ state: 'failed', discarded: true });
    },
  },
  {
    label: 'MOCO: Create invoice (`moco.invoice`)',
    access: 'managers',
    refusal: MANAGERS_ONLY,
    outsiders: MANAGERS_ONLY,
    scene: ['won'],
    run: (h, s, user) => press(h, 'moco.invoice', String(s.dealId), user),
    allowed: async (h, s, out) => {
      await expectReply(h, out, 'Creating the invoice in MOCO');
      const sql = `SELECT deal_id FROM moco_sync_requests WHERE entity = 'invoice'`;
      expect(await first(h, sql)).toEqual({ deal_id: s.dealId });
    },
  },
  homeRow('Home tab (opening it)', (h, _s, user) => openHome(h, user)),
  homeRow('Home: Go away (`home.away`)', (h, _s, user) => pressHome(h, 'home.away', user), AWAY_UNTIL_BACK),
  homeRow('Home: Back (`home.back`)', (h, _s, user) => pressHome(h, 'home.back', user), null),
];

const wonValues = {
  amount: { amount: { type: 'number_input', value: '4800' } },
  currency: { currency: input('EUR') },
  closed_on: { closed_on: { type: 'datepicker', selected_date: '2026-11-19' } },
  products: { products: { type: 'multi_static_select', selected_options: [{ value: 'pilot' }] } },
};

const MODALS: Row[] = [
  {
    label: 'Not a fit modal (`lead.not_a_fit.submit`)',
    access: 'team',
    run: (h, s, user) => submitView(h, 'lead.not_a_fit.submit', { message: { reason: input('Student project') } }, { leadId: s.leadId }, user),
    allowed: async (h, s, _out, user) => {
      const sql = 'SELECT disqualified_by, disqualified_reason FROM leads WHERE id = $1 AND disqualified_at IS NOT NULL';
      expect(await rowOnceThere(h, sql, [s.leadId])).toEqual({ disqualified_by: user, disqualified_reason: 'Student project' });
    },
  },
  {
    label: 'Reassign modal (`lead.reassign.submit`)',
    access: 'managers',
    refusal: MANAGERS_ONLY,
    outsiders: MANAGERS_ONLY,
    run: (h, s, user) =>
      submitView(h, 'lead.reassign.submit', { assignee: { user: { type: 'users_select', selected_user: USERS.carla } } }, { leadId: s.leadId }, user),
    allowed: (h, _s, out) => expectReply(h, out, `*Ada Lovelace* now belongs to <@${USERS.carla}>`),
  },
  {
    label: 'Note modal (`lead.note.submit`)',
    access: 'team',
    run: (h, s, user) => submitView(h, 'lead.note.submit', { note: { text: input('Wants a quote') } }, { leadId: s.leadId }, user),
    allowed: (h, _s, out) => expectReply(h, out, 'Note added to *Ada Lovelace*.'),
  },
  {
    label: 'New lead modal (`lead.new.submit`)',
    access: 'team',
    run: (h, _s, user) => submitView(h, 'lead.new.submit', { email: { email: input('grace@helix.example') } }, {}, user),
    allowed: async (h, _s, out) => {
      await expectReply(h, out, 'Lead created');
      expect(await first(h, `SELECT count(*)::int AS n FROM intake_events WHERE source = 'slack'`)).toEqual({ n: 1 });
    },
  },
  {
    label: 'Erase confirmation (`lead.forget.confirm`)',
    access: 'admins',
    refusal: ADMINS_ONLY,
    outsiders: ADMINS_ONLY,
    run: (h, _s, user) => submitView(h, 'lead.forget.confirm', { confirm: { word: input('ERASE') } }, { email: ADA }, user),
    allowed: async (h, s, out) => {
      await expectReply(h, out, `Lead #${s.leadId} erased`);
      expect(await first(h, 'SELECT email FROM leads WHERE id = $1', [s.leadId])).toEqual({ email: null });
    },
  },
  {
    label: 'Mark won modal (`deal.won.submit`)',
    access: 'own',
    refusal: NOT_OWNER,
    run: (h, s, user) => submitView(h, 'deal.won.submit', wonValues, { leadId: s.leadId }, user),
    allowed: async (h, s, out) => {
      await expectReply(h, out, '🏆 The deal in B2B customers is won: 4,800 EUR.');
      expect(await dealStatus(h, s)).toEqual({ status: 'won' });
    },
  },
  {
    label: 'Mark lost modal (`deal.lost.submit`)',
    access: 'own',
    refusal: NOT_OWNER,
    run: (h, s, user) => submitView(h, 'deal.lost.submit', { reason: { reason: input('Went elsewhere') } }, { leadId: s.leadId }, user),
    allowed: async (h, s, out) => {
      await expectReply(h, out, 'The deal in B2B customers is lost.');
      expect(await dealStatus(h, s)).toEqual({ status: 'lost' });
    },
  },
  {
    label: 'Route to… modal (`lead.route.submit`)',
    access: 'managers',
    refusal: ROUTE_REFUSAL,
    outsiders: ROUTE_REFUSAL,
    run: (h, s, user) =>
      submitView(h, 'lead.route.submit', { pipeline: { pipeline: { type: 'static_select', selected_option: { value: 'research' } } } }, { leadId: s.leadId }, user),
    allowed: async (h, s) => {
      const sql = `SELECT lead_id FROM deals WHERE pipeline_id = 'research'`;
      expect(await rowOnceThere(h, sql)).toEqual({ lead_id: s.leadId });
    },
  },
];

export const ROWS = [...COMMANDS, ...BUTTONS, ...MODALS];
