import { readFile } from 'node:fs/promises';
import type { App } from '@slack/bolt';
import type { AppContext } from '../../src/app/context.ts';
import { closeLeadDeal } from '../../src/app/commands/close-deal.ts';
import { processEvents } from '../../src/app/processing/process-events.ts';
import { registerAlertActions } from '../../src/bot/alert-actions.ts';
import { registerConflictActions } from '../../src/bot/conflict-actions.ts';
import { registerHome } from '../../src/bot/home.ts';
import { registerLeadCommand } from '../../src/bot/lead-command.ts';
import { registerMocoActions } from '../../src/bot/moco-actions.ts';
import { registerDeadLetterActions } from '../../src/bot/dead-letter-actions.ts';
import { registerPing } from '../../src/bot/ping.ts';
import { memberBySlackUser } from '../../src/engine/team.ts';
import { SLACK_DELIVERY_QUEUE } from '../../src/slack/outbox/kick.ts';
import { waitFor } from './db.ts';
import { event, ROUTING_SCORING_YAML, storeEvents, TEST_RULES_YAML, testRuleset } from './engine-fixtures.ts';
import { LEAD_DESK_YAML, postEvent, seedLead, textOf, USERS, waitForCall } from './lead-desk.ts';
import type { SlackHarness } from './slack-harness.ts';

/**
 * Fixtures for the authorization matrix (tests/bot/authorization-matrix.test.ts): who plays each
 * role, the leads, deals, conflicts and syncs a press acts on, drivers that send one interaction
 * with ids known in advance (so its answer can be found in the outbox), and a snapshot of every
 * table to prove that a refusal changed nothing but the refusal itself.
 */

/** A former admin: deactivation has to take every right away, the strongest ones included. */
export const INACTIVE = 'U0IVO0007';

export const ROLES = ['owner', 'rep', 'manager', 'admin', 'inactive', 'unknown'] as const;
export type Role = (typeof ROLES)[number];

/** The Slack user behind each role; `owner` owns the scene's deal, `rep` does not. */
export const ACTOR: Record<Role, string> = {
  owner: USERS.anna,
  rep: USERS.ben,
  manager: USERS.lena,
  admin: USERS.sam,
  inactive: INACTIVE,
  unknown: USERS.outsider,
};

/** Who may use a command, button or modal. */
export type Access = 'anyone' | 'team' | 'own' | 'managers' | 'admins';

export const MAY: Record<Access, readonly Role[]> = {
  anyone: ROLES,
  team: ['owner', 'rep', 'manager', 'admin'],
  // Reps close the deals they own; managers and admins any.
  own: ['owner', 'manager', 'admin'],
  managers: ['manager', 'admin'],
  admins: ['admin'],
};

export const README_COLUMNS = ['rep', 'manager', 'admin', 'inactive', 'unknown'] as const;

/** README.md's cell: its rep column joins the owner and the rep who does not own the deal. */
export function readmeCell(access: Access, column: (typeof README_COLUMNS)[number]): string {
  const may = MAY[access];
  if (column !== 'rep') return may.includes(column) ? 'yes' : 'no';
  if (may.includes('rep')) return 'yes';
  return may.includes('owner') ? 'own leads/deals' : 'no';
}

/** The first table under README.md's `## <heading>`, as trimmed cells, and the section's text. */
export async function readmeTable(heading: string): Promise<{ header: string[]; rows: string[][]; section: string }> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';
  const table = section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) => line.slice(1, -1).split('|').map((cell) => cell.trim()));
  return { header: table[0] ?? [], rows: table.slice(2), section };
}

/** Every listener the web role registers, in its order (src/runtime/web.ts). */
export function registerEverything(app: App, ctx: AppContext): void {
  registerPing(app);
  registerConflictActions(app, ctx);
  registerAlertActions(app, ctx);
  registerLeadCommand(app, ctx);
  registerHome(app, ctx);
  registerMocoActions(app, ctx);
  registerDeadLetterActions(app, ctx);
}

// The lead desk's team and pipelines over the scoring rules that can tie b2b and research, so a
// real routing conflict can be seeded next to an ordinarily routed lead.
export const AUTHORIZATION_YAML = `${ROUTING_SCORING_YAML}${LEAD_DESK_YAML.slice(TEST_RULES_YAML.length)}    - { id: ivo, slack_user_id: ${INACTIVE}, name: Ivo, role: admin, active: false }
`;

export function authorizationRuleset() {
  return testRuleset(AUTHORIZATION_YAML);
}

export const ADA = 'ada@genomics-lab.example';

/** What a press can act on; the extras exist only when the row asked for them. */
export interface Scene {
  leadId: number;
  /** Ada's deal in b2b, owned by Anna (open, or won with the `won` extra). */
  dealId: number;
  conflictId: number;
  syncId: number;
}
export type Extra = 'won' | 'conflict' | 'failedSync';

/**
 * Ada Lovelace routed to b2b through the real processing path (Anna owns the open deal, the live
 * alert is hers), plus what `extras` ask for.
 */
export async function setScene(h: SlackHarness, extras: readonly Extra[] = []): Promise<Scene> {
  const leadId = await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
  const dealId = (await first<{ id: number }>(h, 'SELECT id FROM deals WHERE lead_id = $1', [leadId])).id;
  const scene: Scene = { leadId, dealId, conflictId: 0, syncId: 0 };
  if (extras.includes('won')) {
    const member = memberBySlackUser(h.ctx.ruleset, USERS.anna)!;
    const close = { value: 12_000, currency: 'EUR' };
    const result = await closeLeadDeal(h.ctx, { leadId, outcome: 'won', member, close });
    if (!result.done) throw new Error(`the scene's deal did not close: ${result.why}`);
  }
  if (extras.includes('conflict')) scene.conflictId = await seedConflict(h);
  if (extras.includes('failedSync')) {
    scene.syncId = (
      await first<{ id: number }>(
        h,
        `INSERT INTO moco_sync_requests (source_key, entity, lead_id, deal_id, state, last_error, attempts)
         VALUES ('won:matrix', 'deal', $1, $2, 'failed', 'MOCO refused the company', 1) RETURNING id`,
        [leadId, dealId],
      )
    ).id;
  }
  return scene;
}

/** A demo request and a protocol download: b2b and research tie, so processing opens a conflict. */
async function seedConflict(h: SlackHarness): Promise<number> {
  const lead = { email: 'torn@uni.example', fullName: 'Toni Berg', company: 'Uni Lab', ids: {} };
  const events = [
    event('form.submitted', { lead, metadata: { form_type: 'demo' }, occurredAt: '2026-11-20T09:00:00Z' }),
    event('content.downloaded', { lead, metadata: { content_type: 'protocol' }, occurredAt: '2026-11-20T09:01:00Z' }),
  ];
  await processEvents(await storeEvents(h.db, events), h.ctx);
  return (await first<{ id: number }>(h, 'SELECT id FROM routing_conflicts WHERE resolved_at IS NULL')).id;
}

export async function first<T>(h: SlackHarness, sql: string, values: unknown[] = []): Promise<T> {
  const { rows } = await h.db.pool.query(sql, values);
  if (rows[0] === undefined) throw new Error(`no row for: ${sql}`);
  return rows[0] as T;
}

/** Waits until `sql` returns a row (a listener's work after its ack), and returns it. */
export function rowOnceThere<T>(h: SlackHarness, sql: string, values: unknown[] = []): Promise<T> {
  return waitFor(async () => (await h.db.pool.query(sql, values)).rows[0] as T | undefined);
}

type AckBody = { text?: string; blocks?: unknown[]; response_action?: string; errors?: Record<string, string> };

/** One interaction as sent, with where its answer shows up. */
export interface Outcome {
  /** The HTTP answer to Slack; null when the listener acknowledged with an empty body. */
  ack: AckBody | null;
  /** Key prefixes of the outbox rows that answer this interaction (and only it). */
  answerKeys: string[];
  /** Where a later answer reaches the person: the fake's response_url id, or their Home tab. */
  delivery: { kind: 'response_url'; responseId: string } | { kind: 'home'; userId: string };
}

// Ids per interaction, as Slack gives them: the answer's outbox key is known before sending.
let sent = 0;

async function ackOf(res: Response): Promise<AckBody | null> {
  if (res.status !== 200) throw new Error(`Slack request answered ${res.status}`);
  const raw = await res.text();
  return raw === '' ? null : (JSON.parse(raw) as AckBody);
}

/** `/lead <text>` as `userId`. */
export async function slash(h: SlackHarness, text: string, userId: string): Promise<Outcome> {
  sent += 1;
  const triggerId = `1337.9000.m${sent}`;
  const responseId = `matrix-${sent}`;
  const res = await h.command({ command: '/lead', text, userId, triggerId, responseUrl: h.fake.responseUrl(responseId) });
  return { ack: await ackOf(res), answerKeys: [`reply:command:${triggerId}:`], delivery: { kind: 'response_url', responseId } };
}

/** A button on a message (card, alert, conflict, deal thread) pressed by `userId`. */
export async function press(h: SlackHarness, actionId: string, value: string, userId: string): Promise<Outcome> {
  sent += 1;
  const actionTs = `1763640100.${String(sent).padStart(6, '0')}`;
  const responseId = `matrix-${sent}`;
  const res = await h.action({ actionId, value, userId, actionTs, messageTs: '1763640000.000100', responseUrl: h.fake.responseUrl(responseId) });
  const answerKeys = [`reply:action:${actionId}:${userId}:${actionTs}:`];
  return { ack: await ackOf(res), answerKeys, delivery: { kind: 'response_url', responseId } };
}

/** A Home tab button: the answer is the Home tab published again. */
export async function pressHome(h: SlackHarness, actionId: string, userId: string): Promise<Outcome> {
  const res = await h.action({ actionId, value: actionId, userId, messageTs: '1763640000.000200' });
  return { ack: await ackOf(res), answerKeys: [`home:${userId}`], delivery: { kind: 'home', userId } };
}

/** The Home tab opened by `userId` (Slack's `app_home_opened`). */
export async function openHome(h: SlackHarness, userId: string): Promise<Outcome> {
  const res = await postEvent(h, { type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home', event_ts: '1.1' });
  return { ack: await ackOf(res), answerKeys: [`home:${userId}`], delivery: { kind: 'home', userId } };
}

type Values = Record<string, Record<string, Record<string, unknown>>>;

/** A modal submitted by `userId`; `metadata` is what the modal was opened with. */
export async function submitView(
  h: SlackHarness,
  callbackId: string,
  values: Values,
  metadata: Record<string, unknown>,
  userId: string,
): Promise<Outcome> {
  sent += 1;
  const viewId = `V0MATRIX${String(sent).padStart(4, '0')}`;
  const responseId = `matrix-${sent}`;
  const privateMetadata = JSON.stringify({ ...metadata, responseUrl: h.fake.responseUrl(responseId) });
  const res = await h.submit({ callbackId, values, privateMetadata, userId, viewId });
  return { ack: await ackOf(res), answerKeys: [`reply:view:${viewId}:`], delivery: { kind: 'response_url', responseId } };
}

export type Answer = { where: 'ack' | 'modal' | 'reply' | 'home'; text: string };

/**
 * What the person was told: the ack's text, the modal's error, or the answer the listener stored
 * in the outbox after its ack (waited for, since it comes after Slack got its 200).
 */
export async function answerOf(h: SlackHarness, outcome: Outcome): Promise<Answer> {
  if (outcome.ack?.response_action === 'errors') {
    return { where: 'modal', text: Object.values(outcome.ack.errors ?? {}).join(' ') };
  }
  if (outcome.ack !== null) return { where: 'ack', text: outcome.ack.text ?? textOf(outcome.ack.blocks) };
  const row = await storedAnswer(h, outcome);
  if (outcome.delivery.kind === 'home') return { where: 'home', text: textOf(row.payload.view?.blocks) };
  return { where: 'reply', text: row.payload.text ?? '' };
}

/** The interaction's answer in the outbox, once the listener stored it (its last step). */
function storedAnswer(h: SlackHarness, outcome: Outcome) {
  return rowOnceThere<{ payload: { text?: string; view?: { blocks: unknown[] } } }>(
    h,
    `SELECT payload FROM slack_outbox o
     WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS p(prefix) WHERE starts_with(o.key, p.prefix)) ORDER BY id LIMIT 1`,
    [outcome.answerKeys],
  );
}

/** The answer as Slack received it: the ephemeral on the response_url, or the published Home tab. */
export async function delivered(h: SlackHarness, outcome: Outcome): Promise<Record<string, unknown>> {
  // Delivering only once the answer is stored keeps the dispatcher out of the listener's work.
  await storedAnswer(h, outcome);
  const { delivery } = outcome;
  const call = await waitForCall(h, (c) =>
    delivery.kind === 'home'
      ? c.method === 'views.publish' && c.body['user_id'] === delivery.userId
      : c.method === 'response_url' && c.responseId === delivery.responseId,
  );
  return call.body;
}

/** The text of the answer a press got on its response_url (for allowed cells). */
export async function replyText(h: SlackHarness, outcome: Outcome): Promise<string> {
  return readable(await delivered(h, outcome));
}

function readable(body: Record<string, unknown>): string {
  const view = body['view'] as { blocks?: unknown[] } | undefined;
  return view === undefined ? `${String(body['text'] ?? '')}\n${textOf(body['blocks'])}` : textOf(view.blocks);
}

/** The modal Bolt opened with the press's trigger id, by its callback id. */
export async function openedView(h: SlackHarness, callbackId: string): Promise<void> {
  await waitForCall(h, (c) => c.method === 'views.open' && (c.body['view'] as { callback_id?: string }).callback_id === callbackId);
}

export type Snapshot = Record<string, unknown[]>;

/**
 * Every row of every Leadline table, and every queued job but the Slack wake-ups, as JSON: what a
 * refusal must leave exactly as it was. The kept tables hold migrations and rulesets only.
 */
export async function snapshot(h: SlackHarness): Promise<Snapshot> {
  const { rows: tables } = await h.db.pool.query<{ name: string }>(
    `SELECT quote_ident(tablename) AS name FROM pg_tables
     WHERE schemaname = 'public' AND tablename NOT IN ('leadline_migrations', 'rulesets') ORDER BY tablename`,
  );
  const out: Snapshot = {};
  for (const { name } of tables) {
    const { rows } = await h.db.pool.query<{ rows: unknown[] }>(
      `SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]'::jsonb) AS rows FROM ${name} t`,
    );
    out[name] = rows[0]!.rows;
  }
  const { rows: jobs } = await h.db.pool.query<{ rows: unknown[] }>(
    `SELECT coalesce(jsonb_agg(jsonb_build_object('name', name, 'data', data, 'state', state, 'key', singleton_key) ORDER BY id), '[]'::jsonb) AS rows
     FROM pgboss.job WHERE name <> $1`,
    [SLACK_DELIVERY_QUEUE],
  );
  out['pgboss.job'] = jobs[0]!.rows;
  return out;
}

/** The snapshot without the outbox rows that answer the interaction (the refusal itself). */
export function withoutAnswer(snap: Snapshot, outcome: Outcome): Snapshot {
  const isAnswer = (row: unknown) => {
    const key = (row as { key?: string }).key ?? '';
    return outcome.answerKeys.some((prefix) => key.startsWith(prefix));
  };
  return { ...snap, slack_outbox: (snap['slack_outbox'] ?? []).filter((row) => !isAnswer(row)) };
}
