import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerLeadCommand } from '../../src/bot/lead-command.ts';
import { processEvents } from '../../src/app/processing/process-events.ts';
import { leadDeskRuleset, seedLead, USERS, waitForCall } from '../support/lead-desk.ts';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.ts';

const ADA = 'ada@genomics-lab.example';
const POOLED = 'early@bio-start.example';

type Values = Record<string, Record<string, Record<string, unknown>>>;
const text = (block: string, action: string, value: string | null): Values => ({
  [block]: { [action]: { type: 'plain_text_input', value } },
});

describe('/lead modals', () => {
  let h: SlackHarness;
  let ada: number;
  let pooled: number;
  let replies = 0;

  beforeAll(async () => {
    h = await startSlackHarness(leadDeskRuleset(), (app, ctx) => registerLeadCommand(app, ctx));
    ada = await seedLead(h, ADA, { firstName: 'Ada', lastName: 'Lovelace' });
    pooled = await seedLead(h, POOLED, { fullName: 'Early Bird' }, { pricing: false });
  });
  afterAll(async () => {
    expect(h.fake.violations()).toEqual([]);
    await h.stop();
  });

  /** Submits a modal with the response_url it was opened from; returns the ack and the later reply. */
  async function submit(
    callbackId: string,
    values: Values,
    metadata: object,
    userId: string = USERS.lena,
    viewId?: string,
  ) {
    replies += 1;
    const responseId = `modal-${replies}`;
    const privateMetadata = JSON.stringify({ ...metadata, responseUrl: h.fake.responseUrl(responseId) });
    const res = await h.submit({ callbackId, values, privateMetadata, userId, ...(viewId ? { viewId } : {}) });
    const raw = await res.text();
    return {
      status: res.status,
      ack:
        raw === '' ? null : (JSON.parse(raw) as { response_action: string; errors: Record<string, string> }),
      reply: async () =>
        (await waitForCall(h, (c) => c.method === 'response_url' && c.responseId === responseId)).body as {
          text: string;
        },
    };
  }

  const owner = async (leadId: number) =>
    (await h.db.pool.query('SELECT owner_member_id FROM deals WHERE lead_id = $1', [leadId])).rows;

  describe('reassign', () => {
    it('opens a users_select for managers and refuses reps in private', async () => {
      await h.action({ actionId: 'lead.reassign', value: String(ada), messageTs: '1.1', userId: USERS.lena });
      const open = await waitForCall(h, (c) => c.method === 'views.open');
      const view = open.body['view'] as { callback_id: string; blocks: { element?: { type: string } }[] };
      expect(view.callback_id).toBe('lead.reassign.submit');
      expect(view.blocks.some((b) => b.element?.type === 'users_select')).toBe(true);

      const responseUrl = h.fake.responseUrl('reassign-rep');
      await h.action({
        actionId: 'lead.reassign',
        value: String(ada),
        messageTs: '1.1',
        userId: USERS.anna,
        responseUrl,
      });
      const refusal = await waitForCall(h, (c) => c.responseId === 'reassign-rep');
      expect(refusal.body['text']).toBe('Only managers and admins can do that.');
      expect(h.fake.calls('views.open')).toHaveLength(1);
    });

    it('answers invalid choices in the modal', async () => {
      const user = (id: string | null) => ({
        assignee: { user: { type: 'users_select', selected_user: id } },
      });
      const cases: [Values, object, string, string][] = [
        [user(null), { leadId: ada }, USERS.lena, 'Choose the new owner.'],
        [
          user(USERS.outsider),
          { leadId: ada },
          USERS.lena,
          'That person is not an active member of the team.',
        ],
        [
          user(USERS.ben),
          { leadId: pooled },
          USERS.lena,
          'This lead has no open deal yet; route it to a pipeline first.',
        ],
        [user(USERS.ben), { leadId: 999_999 }, USERS.lena, 'This lead no longer exists.'],
        [user(USERS.ben), { leadId: ada }, USERS.anna, 'Only managers and admins can do that.'],
      ];
      for (const [values, metadata, userId, reason] of cases) {
        const { ack } = await submit('lead.reassign.submit', values as Values, metadata, userId);
        expect(ack).toEqual({ response_action: 'errors', errors: { assignee: reason } });
      }
      expect(await owner(ada)).toEqual([{ owner_member_id: 'anna' }]);
    });

    it('gives the open deal to the chosen member', async () => {
      const values = { assignee: { user: { type: 'users_select', selected_user: USERS.carla } } };
      const run = await submit('lead.reassign.submit', values, { leadId: ada });
      expect(run.ack).toBeNull();
      expect((await run.reply()).text).toBe('*Ada Lovelace* now belongs to <@U0CARLA03> (one deal).');
      expect(await owner(ada)).toEqual([{ owner_member_id: 'carla' }]);
      const audit = await h.db.pool.query(
        `SELECT actor, lead_id, detail FROM audit_log WHERE action = 'assign'`,
      );
      expect(audit.rows).toEqual([
        { actor: USERS.lena, lead_id: ada, detail: { to: 'carla', deals: [expect.any(Number)] } },
      ]);
    });
  });

  describe('note', () => {
    it('opens from the card button', async () => {
      await h.action({ actionId: 'lead.note', value: String(ada), messageTs: '1.2', userId: USERS.anna });
      const open = await waitForCall(
        h,
        (c) =>
          c.method === 'views.open' &&
          (c.body['view'] as { callback_id: string }).callback_id === 'lead.note.submit',
      );
      expect(JSON.parse((open.body['view'] as { private_metadata: string }).private_metadata)).toMatchObject({
        leadId: ada,
      });
    });

    it('requires text of at most 2,000 characters', async () => {
      for (const [value, reason] of [
        [null, 'Write a note first.'],
        ['   ', 'Write a note first.'],
        ['x'.repeat(2_001), 'A note holds at most 2000 characters.'],
      ] as const) {
        const { ack } = await submit(
          'lead.note.submit',
          text('note', 'text', value),
          { leadId: ada },
          USERS.anna,
        );
        expect(ack).toEqual({ response_action: 'errors', errors: { note: reason } });
      }
      const outsider = await submit(
        'lead.note.submit',
        text('note', 'text', 'hi'),
        { leadId: ada },
        USERS.outsider,
      );
      expect(outsider.ack?.errors['note']).toContain('members of the sales team only');
      expect((await h.db.pool.query('SELECT 1 FROM lead_notes')).rowCount).toBe(0);
    });

    it('stores the note', async () => {
      const note = 'Prefers <email> over calls & wants a quote';
      const run = await submit('lead.note.submit', text('note', 'text', note), { leadId: ada }, USERS.anna);
      expect(run.ack).toBeNull();
      expect((await run.reply()).text).toBe('Note added to *Ada Lovelace*.');
      const { rows } = await h.db.pool.query('SELECT lead_id, author_slack_user, text FROM lead_notes');
      expect(rows).toEqual([{ lead_id: ada, author_slack_user: USERS.anna, text: note }]);
    });
  });

  describe('new lead', () => {
    const values = (email: string | null, name: string | null = null) => ({
      ...text('email', 'email', email),
      ...text('name', 'name', name),
      ...text('company', 'company', 'Helix Works'),
      ...text('title', 'title', 'CTO'),
    });

    it('validates the email and field lengths', async () => {
      for (const [v, errors] of [
        [values(null), { email: 'An email is required.' }],
        [values('not an email'), { email: 'That does not look like an email address.' }],
        [values('grace@helix.example', 'G'.repeat(201)), { name: 'At most 200 characters.' }],
      ] as const) {
        const { ack } = await submit('lead.new.submit', v, {}, USERS.anna);
        expect(ack).toEqual({ response_action: 'errors', errors });
      }
      expect((await h.db.pool.query(`SELECT 1 FROM intake_events WHERE source = 'slack'`)).rowCount).toBe(0);
    });

    it('creates the lead through the intake path, once per modal', async () => {
      const run = await submit(
        'lead.new.submit',
        values(' Grace@Helix.example ', 'Grace Hopper'),
        {},
        USERS.anna,
        'V0NEWLEAD1',
      );
      expect(run.ack).toBeNull();
      expect((await run.reply()).text).toBe('Lead created: it shows up in `/lead` within seconds.');
      // The same modal submitted again (Slack retrying it).
      const again = await submit(
        'lead.new.submit',
        values('grace@helix.example', 'Grace Hopper'),
        {},
        USERS.anna,
        'V0NEWLEAD1',
      );
      expect((await again.reply()).text).toBe(
        'Lead created (already submitted): it shows up in `/lead` within seconds.',
      );
      const { rows } = await h.db.pool.query(
        `SELECT id, scheme, event_type, event FROM intake_events WHERE source = 'slack'`,
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ scheme: 'slack', event_type: 'lead.created_manually' });
      expect(rows[0].event.lead).toEqual({
        email: 'grace@helix.example',
        fullName: 'Grace Hopper',
        company: 'Helix Works',
        title: 'CTO',
        ids: {},
      });
      await processEvents([rows[0].id], h.ctx);
      const lead = await h.db.pool.query(
        `SELECT full_name, company, title, first_touch_source FROM leads WHERE email = 'grace@helix.example'`,
      );
      expect(lead.rows).toEqual([
        { full_name: 'Grace Hopper', company: 'Helix Works', title: 'CTO', first_touch_source: 'slack' },
      ]);
    });
  });

  describe('forget confirmation', () => {
    const confirm = (word: string | null) => text('confirm', 'word', word);

    it('refuses non-admins, a wrong confirmation and an unknown email in the modal', async () => {
      const cases: [Values, object, string, string][] = [
        [confirm('ERASE'), { email: ADA }, USERS.lena, 'Only admins can do that.'],
        [confirm('yes'), { email: ADA }, USERS.sam, 'Type ERASE to confirm.'],
        [
          confirm('ERASE'),
          { email: 'nobody@nowhere.example' },
          USERS.sam,
          'No lead has this email (any more).',
        ],
      ];
      for (const [values, metadata, userId, reason] of cases) {
        const { ack } = await submit('lead.forget.confirm', values, metadata, userId);
        expect(ack).toEqual({ response_action: 'errors', errors: { confirm: reason } });
      }
      expect(
        (await h.db.pool.query('SELECT erased_at FROM leads WHERE id = $1', [ada])).rows[0].erased_at,
      ).toBeNull();
    });

    it('erases the lead once confirmed and reports counts only', async () => {
      const run = await submit('lead.forget.confirm', confirm('erase'), { email: ADA }, USERS.sam);
      expect(run.ack).toBeNull();
      const done = await run.reply();
      expect(done.text).toMatch(
        new RegExp(`^Lead #${ada} erased: 2 events, 1 identifiers and 1 notes deleted`),
      );
      expect(done.text).not.toContain('Ada');
      const { rows } = await h.db.pool.query('SELECT email, first_name, erased_at FROM leads WHERE id = $1', [
        ada,
      ]);
      expect(rows[0]).toMatchObject({ email: null, first_name: null, erased_at: expect.any(Date) });
    });
  });
});
