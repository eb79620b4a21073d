import type { App, ViewResponseAction, webApi } from '@slack/bolt';
import { z } from 'zod';
import { leadByEmail, leadById, openDealCount } from '../app/queries/find-leads.ts';
import type { LeadlineEvent } from '../engine/event.ts';
import { normalizeEmail } from '../engine/identity.ts';
import { leadOf } from '../engine/mappers/common.ts';
import { memberBySlackUser } from '../engine/team.ts';
import { forgetLead } from '../app/commands/forget.ts';
import type { IntakeWriter } from '../app/intake/intake-writer.ts';
import type { AppContext } from '../app/context.ts';
import { displayName } from '../app/queries/lead-card.ts';
import { notice } from '../slack/render/lead-lists.ts';
import {
  FORGET_MODAL,
  forgetModal,
  NEW_LEAD_MODAL,
  NOTE_MAX,
  NOTE_MODAL,
  newLeadModal,
  noteModal,
  REASSIGN_MODAL,
  reassignModal,
} from '../slack/render/modals.ts';
import {
  ADMINS_ONLY,
  afterAck,
  callerOf,
  MANAGERS_ONLY,
  NOT_ON_TEAM,
} from './lead-respond.ts';
import { addNote, reassignLead } from './lead-subcommands.ts';
import { actionInteraction, viewInteraction, type ReplyTarget, respond } from '../slack/respond.ts';

/**
 * The `/lead` modals: opened from card buttons (Reassign, Note) and subcommands (`new`, `forget`),
 * submitted here. Invalid input is answered in the modal (`response_action: 'errors'`, keyed by
 * block id); valid input is acknowledged (the modal closes) and the work runs afterwards, answering
 * through the response_url the modal was opened from (kept in private_metadata) or by DM.
 */

export interface LeadModalDeps {
  /** Where hand-made leads enter the normal intake path. */
  intake: IntakeWriter;
}

export const REASSIGN_BUTTON = 'lead.reassign';
export const NOTE_BUTTON = 'lead.note';

/** What every modal carries in private_metadata. */
const metadataSchema = z.object({
  leadId: z.number().int().positive().optional(),
  email: z.string().optional(),
  responseUrl: z.string().nullable().default(null),
});
type Metadata = z.output<typeof metadataSchema>;

const stateSchema = z.record(
  z.string(),
  z.record(
    z.string(),
    z.object({ type: z.string(), value: z.string().nullish(), selected_user: z.string().nullish() }).loose(),
  ),
);
const leadIdValue = z.coerce.number().int().positive();

/**
 * Opens the modal for `/lead new` (call right after the ack: trigger ids last 3 s).
 *
 * @example
 * await openNewLeadModal(client, command.trigger_id, command.response_url);
 */
export async function openNewLeadModal(client: webApi.WebClient, triggerId: string, responseUrl: string) {
  await client.views.open({ trigger_id: triggerId, view: newLeadModal({ metadata: meta({ responseUrl }) }) });
}

/**
 * Opens the erase confirmation for `/lead forget <email>`; nothing is read or changed until it is submitted.
 *
 * @example
 * await openForgetModal(client, command.trigger_id, 'ada@genomics-lab.example', command.response_url);
 */
export async function openForgetModal(
  client: webApi.WebClient,
  triggerId: string,
  email: string,
  responseUrl: string,
) {
  await client.views.open({
    trigger_id: triggerId,
    view: forgetModal({ email, metadata: meta({ email, responseUrl }) }),
  });
}

function meta(data: Partial<Metadata>): string {
  return JSON.stringify(data);
}

function readMetadata(raw: string): Metadata {
  try {
    return metadataSchema.parse(JSON.parse(raw === '' ? '{}' : raw));
  } catch {
    return { responseUrl: null };
  }
}

function errors(block: string, reason: string): ViewResponseAction {
  return { response_action: 'errors', errors: { [block]: reason } };
}

/** Reads one input of a submitted view; `undefined` when absent, blank or malformed. */
function input(values: unknown, ids: { block: string; action: string }): string | undefined {
  const parsed = stateSchema.safeParse(values);
  if (!parsed.success) return undefined;
  const field = parsed.data[ids.block]?.[ids.action];
  const value = (field?.value ?? field?.selected_user ?? '').trim();
  return value === '' ? undefined : value;
}

const newLeadSchema = z.object({
  email: z
    .string({ error: 'An email is required.' })
    .max(320, 'That is too long for an email.')
    .transform((value, ctx) => {
      const email = normalizeEmail(value);
      if (email === null || !z.email().safeParse(email).success) {
        ctx.addIssue({ code: 'custom', message: 'That does not look like an email address.' });
        return z.NEVER;
      }
      return email;
    }),
  name: z.string().max(200, 'At most 200 characters.').optional(),
  company: z.string().max(200, 'At most 200 characters.').optional(),
  title: z.string().max(200, 'At most 200 characters.').optional(),
});

/**
 * Registers the modal buttons (Reassign, Note) and every `/lead` modal submission.
 * registerLeadCommand calls this; do not register it twice.
 *
 * @example
 * registerLeadModals(slack.app, ctx, { intake: new IntakeWriter(pool, boss) });
 */
export function registerLeadModals(app: App, ctx: AppContext, deps: LeadModalDeps): void {
  registerReassignButton(app, ctx);
  registerNoteButton(app, ctx);
  registerReassignSubmit(app, ctx);
  registerNoteSubmit(app, ctx);
  registerNewLeadSubmit(app, ctx, deps);
  registerForgetSubmit(app, ctx);
}

/** The Reassign button on a lead card: managers get the reassign modal, others a refusal. */
function registerReassignButton(app: App, ctx: AppContext): void {
  app.action(REASSIGN_BUTTON, async ({ ack, body, action, client }) => {
    await ack();
    const target = targetOf(body, action);
    const leadId = leadIdValue.safeParse('value' in action ? action.value : undefined);
    const caller = callerOf(ctx.ruleset, body.user.id);
    if (!caller.canManage)
      return afterAck(ctx, target, 'reassign', () => respond(ctx, target, notice(MANAGERS_ONLY)));
    if (!leadId.success || !('trigger_id' in body)) return;
    const metadata = meta({ leadId: leadId.data, responseUrl: target.responseUrl });
    await client.views.open({
      trigger_id: body.trigger_id,
      view: reassignModal({ leadId: leadId.data, metadata }),
    });
  });
}

/** The Note button on a lead card: team members get the note modal, others a refusal. */
function registerNoteButton(app: App, ctx: AppContext): void {
  app.action(NOTE_BUTTON, async ({ ack, body, action, client }) => {
    await ack();
    const target = targetOf(body, action);
    const leadId = leadIdValue.safeParse('value' in action ? action.value : undefined);
    if (!callerOf(ctx.ruleset, body.user.id).onTeam) {
      return afterAck(ctx, target, 'note', () => respond(ctx, target, notice(NOT_ON_TEAM)));
    }
    if (!leadId.success || !('trigger_id' in body)) return;
    const metadata = meta({ leadId: leadId.data, responseUrl: target.responseUrl });
    await client.views.open({
      trigger_id: body.trigger_id,
      view: noteModal({ leadId: leadId.data, metadata }),
    });
  });
}

/** The reassign modal submitted: checks the new owner and the lead in the ack, reassigns after it. */
function registerReassignSubmit(app: App, ctx: AppContext): void {
  app.view(REASSIGN_MODAL.callbackId, async ({ ack, body, view }) => {
    const caller = callerOf(ctx.ruleset, body.user.id);
    const metadata = readMetadata(view.private_metadata);
    const block = REASSIGN_MODAL.assignee.block;
    if (!caller.canManage) return ack(errors(block, MANAGERS_ONLY));
    const chosen = input(view.state.values, REASSIGN_MODAL.assignee);
    if (chosen === undefined) return ack(errors(block, 'Choose the new owner.'));
    const member = memberBySlackUser(ctx.ruleset, chosen);
    if (member === null || !member.active)
      return ack(errors(block, 'That person is not an active member of the team.'));
    if (metadata.leadId === undefined)
      return ack(errors(block, 'This modal lost track of its lead; open it again.'));
    // Indexed reads, well within the 3 s: a modal can only show the error while it is still open.
    const lead = await leadById(ctx.pool, metadata.leadId);
    if (lead === null) return ack(errors(block, 'This lead no longer exists.'));
    if ((await openDealCount(ctx.pool, metadata.leadId)) === 0)
      return ack(errors(block, 'This lead has no open deal yet; route it to a pipeline first.'));
    await ack();
    const target = { userId: caller.userId, responseUrl: metadata.responseUrl, interaction: viewInteraction(view.id) };
    await afterAck(ctx, target, 'reassign', () =>
      reassignLead(ctx, caller, target, { id: lead.id, name: displayName(lead) }, member),
    );
  });
}

/** The note modal submitted: checks the note in the ack, adds it to the lead after it. */
function registerNoteSubmit(app: App, ctx: AppContext): void {
  app.view(NOTE_MODAL.callbackId, async ({ ack, body, view }) => {
    const caller = callerOf(ctx.ruleset, body.user.id);
    const metadata = readMetadata(view.private_metadata);
    const block = NOTE_MODAL.note.block;
    if (!caller.onTeam) return ack(errors(block, NOT_ON_TEAM));
    const text = input(view.state.values, NOTE_MODAL.note);
    if (text === undefined) return ack(errors(block, 'Write a note first.'));
    if (text.length > NOTE_MAX) return ack(errors(block, `A note holds at most ${NOTE_MAX} characters.`));
    if (metadata.leadId === undefined)
      return ack(errors(block, 'This modal lost track of its lead; open it again.'));
    const leadId = metadata.leadId;
    await ack();
    const target = { userId: caller.userId, responseUrl: metadata.responseUrl, interaction: viewInteraction(view.id) };
    await afterAck(ctx, target, 'note', async () => {
      const lead = await leadById(ctx.pool, leadId);
      if (lead === null) return respond(ctx, target, notice(`Lead #${leadId} no longer exists.`));
      await addNote(ctx, caller, target, { id: lead.id, name: displayName(lead) }, text);
    });
  });
}

/** The `/lead new` modal submitted: validates the fields in the ack, writes the lead to intake after it. */
function registerNewLeadSubmit(app: App, ctx: AppContext, deps: LeadModalDeps): void {
  app.view(NEW_LEAD_MODAL.callbackId, async ({ ack, body, view }) => {
    const caller = callerOf(ctx.ruleset, body.user.id);
    if (!caller.onTeam) return ack(errors(NEW_LEAD_MODAL.email.block, NOT_ON_TEAM));
    const values = view.state.values;
    const parsed = newLeadSchema.safeParse({
      email: input(values, NEW_LEAD_MODAL.email),
      name: input(values, NEW_LEAD_MODAL.name),
      company: input(values, NEW_LEAD_MODAL.company),
      title: input(values, NEW_LEAD_MODAL.title),
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = (issue?.path[0] ?? 'email') as 'email' | 'name' | 'company' | 'title';
      return ack(errors(NEW_LEAD_MODAL[field].block, issue?.message ?? 'Invalid input.'));
    }
    await ack();
    const responseUrl = readMetadata(view.private_metadata).responseUrl;
    const target = { userId: caller.userId, responseUrl, interaction: viewInteraction(view.id) };
    await afterAck(ctx, target, 'new lead', async () => {
      const lead = parsed.data;
      const now = ctx.now();
      // The view id makes a resubmitted modal the same event, so intake stores it once.
      const externalId = `manual:${view.id}`;
      const event: LeadlineEvent = {
        id: externalId,
        type: 'lead.created_manually',
        source: 'slack',
        occurredAt: now.toISOString(),
        lead: leadOf({ fullName: lead.name, company: lead.company, title: lead.title }, lead.email, {}),
        metadata: { created_by: caller.userId },
        utm: {},
      };
      const [outcome] = await deps.intake.write([
        {
          source: 'slack',
          externalId,
          scheme: 'slack',
          receivedAt: now,
          payload: { ...lead, created_by: caller.userId },
          event,
          eventType: event.type,
          occurredAt: event.occurredAt,
        },
      ]);
      const again = outcome?.duplicate === true ? ' (already submitted)' : '';
      await respond(ctx, target, notice(`Lead created${again}: it shows up in \`/lead\` within seconds.`));
    });
  });
}

/** The `/lead forget` modal submitted: checks the confirmation and the email in the ack, erases the lead after it. */
function registerForgetSubmit(app: App, ctx: AppContext): void {
  app.view(FORGET_MODAL.callbackId, async ({ ack, body, view }) => {
    const caller = callerOf(ctx.ruleset, body.user.id);
    const metadata = readMetadata(view.private_metadata);
    const block = FORGET_MODAL.confirm.block;
    if (!caller.isAdmin) return ack(errors(block, ADMINS_ONLY));
    const word = input(view.state.values, FORGET_MODAL.confirm);
    if (word?.toUpperCase() !== FORGET_MODAL.word)
      return ack(errors(block, `Type ${FORGET_MODAL.word} to confirm.`));
    const email = normalizeEmail(metadata.email);
    const lead = email === null ? null : await leadByEmail(ctx.pool, email);
    if (lead === null) return ack(errors(block, 'No lead has this email (any more).'));
    await ack();
    const target = { userId: caller.userId, responseUrl: metadata.responseUrl, interaction: viewInteraction(view.id) };
    await afterAck(ctx, target, 'forget', async () => {
      const summary = await forgetLead(ctx, { leadId: lead.id, actor: caller.userId });
      if (summary === null) return respond(ctx, target, notice(`Lead #${lead.id} no longer exists.`));
      await respond(
        ctx,
        target,
        notice(
          `Lead #${summary.leadId} erased: ${summary.events} events, ${summary.identifiers} identifiers and ` +
            `${summary.notes} notes deleted; ${summary.slackMessages} Slack messages redacted. Counts and score stay, anonymized.`,
        ),
      );
    });
  });
}

/**
 * Where to answer a button press: its response_url (ephemeral in place), else a DM (Home tab
 * buttons have no response_url).
 *
 * @example
 * targetOf(body, action) // { userId: 'U0ANNA001', responseUrl: 'https://hooks.slack.com/actions/…', interaction: 'action:lead.note:U0ANNA001:…' }
 */
export function targetOf(
  body: { user: { id: string }; response_url?: string; trigger_id?: string },
  action: object,
): ReplyTarget {
  const read = (field: string) => {
    const value = (action as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  };
  const interaction = actionInteraction({
    actionId: read('action_id') ?? 'unknown',
    userId: body.user.id,
    actionTs: read('action_ts') ?? body.trigger_id ?? 'unknown',
  });
  return { userId: body.user.id, responseUrl: body.response_url ?? null, interaction };
}
