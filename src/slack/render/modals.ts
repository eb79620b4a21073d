/**
 * The `/lead` modals: reassign (a users_select), add a note, create a lead by hand, and the
 * confirmation before erasing a lead's data. Pure view builders; block and action ids are exported
 * so the submission handlers read `state.values[block][action]` by the same names.
 */
import type { types } from '@slack/bolt';
import { plain, section } from './mrkdwn.ts';

export const NOTE_MAX = 2_000;

export const REASSIGN_MODAL = {
  callbackId: 'lead.reassign.submit',
  assignee: { block: 'assignee', action: 'user' },
} as const;
export const NOTE_MODAL = {
  callbackId: 'lead.note.submit',
  note: { block: 'note', action: 'text' },
} as const;
export const NEW_LEAD_MODAL = {
  callbackId: 'lead.new.submit',
  email: { block: 'email', action: 'email' },
  name: { block: 'name', action: 'name' },
  company: { block: 'company', action: 'company' },
  title: { block: 'title', action: 'title' },
} as const;
export const FORGET_MODAL = {
  callbackId: 'lead.forget.confirm',
  confirm: { block: 'confirm', action: 'word' },
  word: 'ERASE',
} as const;

const text = (value: string): types.PlainTextElement => ({ type: 'plain_text', text: value });

function modal(input: {
  callbackId: string;
  title: string;
  submit: string;
  metadata: string;
  blocks: types.KnownBlock[];
}): types.ModalView {
  return {
    type: 'modal',
    callback_id: input.callbackId,
    title: text(input.title),
    submit: text(input.submit),
    close: text('Cancel'),
    private_metadata: input.metadata,
    blocks: input.blocks,
  };
}

function textInput(
  ids: { block: string; action: string },
  label: string,
  options: {
    optional?: boolean;
    multiline?: boolean;
    maxLength?: number;
    placeholder?: string;
    hint?: string;
  } = {},
): types.InputBlock {
  return {
    type: 'input',
    block_id: ids.block,
    label: text(label),
    optional: options.optional ?? false,
    ...(options.hint === undefined ? {} : { hint: text(options.hint) }),
    element: {
      type: 'plain_text_input',
      action_id: ids.action,
      multiline: options.multiline ?? false,
      ...(options.maxLength === undefined ? {} : { max_length: options.maxLength }),
      ...(options.placeholder === undefined ? {} : { placeholder: text(options.placeholder) }),
    },
  };
}

/**
 * Pick the new owner of a lead's open deals. `metadata` is the submission's private_metadata.
 *
 * @example
 * reassignModal({ leadId: 42, metadata: '{"leadId":42}' })
 */
export function reassignModal(input: { leadId: number; metadata: string }): types.ModalView {
  return modal({
    callbackId: REASSIGN_MODAL.callbackId,
    title: 'Reassign lead',
    submit: 'Reassign',
    metadata: input.metadata,
    blocks: [
      section(`Give the open deals of lead #${input.leadId} to someone else on the team.`),
      {
        type: 'input',
        block_id: REASSIGN_MODAL.assignee.block,
        label: text('New owner'),
        element: {
          type: 'users_select',
          action_id: REASSIGN_MODAL.assignee.action,
          placeholder: text('Choose a teammate'),
        },
      },
    ],
  });
}

/**
 * A note on a lead: multiline, required, at most 2,000 characters.
 *
 * @example
 * noteModal({ leadId: 42, metadata: '{"leadId":42}' })
 */
export function noteModal(input: { leadId: number; metadata: string }): types.ModalView {
  return modal({
    callbackId: NOTE_MODAL.callbackId,
    title: 'Add a note',
    submit: 'Save note',
    metadata: input.metadata,
    blocks: [
      section(`Your note is stored on lead #${input.leadId} and shown on its card.`),
      textInput(NOTE_MODAL.note, 'Note', { multiline: true, maxLength: NOTE_MAX }),
    ],
  });
}

/**
 * A lead typed in by hand: email required, name, company and title optional.
 *
 * @example
 * newLeadModal({ metadata: '{}' })
 */
export function newLeadModal(input: { metadata: string }): types.ModalView {
  return modal({
    callbackId: NEW_LEAD_MODAL.callbackId,
    title: 'New lead',
    submit: 'Create lead',
    metadata: input.metadata,
    blocks: [
      textInput(NEW_LEAD_MODAL.email, 'Email', { maxLength: 320, placeholder: 'ada@genomics-lab.example' }),
      textInput(NEW_LEAD_MODAL.name, 'Name', { optional: true, maxLength: 200 }),
      textInput(NEW_LEAD_MODAL.company, 'Company', { optional: true, maxLength: 200 }),
      textInput(NEW_LEAD_MODAL.title, 'Job title', { optional: true, maxLength: 200 }),
    ],
  });
}

/**
 * The last step before erasing a lead's personal data: typing ERASE confirms.
 *
 * @example
 * forgetModal({ email: 'ada@genomics-lab.example', metadata: '{"email":"ada@genomics-lab.example"}' })
 */
export function forgetModal(input: { email: string; metadata: string }): types.ModalView {
  return modal({
    callbackId: FORGET_MODAL.callbackId,
    title: 'Erase lead data',
    submit: 'Erase',
    metadata: input.metadata,
    blocks: [
      section(
        `This erases the personal data of *${plain(input.email, 320)}* for good: name, email, phone, company, ` +
          'events, identifiers and notes. Score and counts stay, anonymized. It cannot be undone.',
      ),
      textInput(FORGET_MODAL.confirm, `Type ${FORGET_MODAL.word} to confirm`, { maxLength: 20 }),
    ],
  });
}
