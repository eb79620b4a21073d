import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerHome } from '../../../src/bot/home.ts';
import { registerLeadCommand } from '../../../src/bot/lead-command.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { event, storeEvents } from '../../support/engine-fixtures.ts';
import { lead, leadDeskRuleset, postEvent, seedLead, USERS, waitForCall } from '../../support/lead-desk.ts';
import { type SlackHarness, startSlackHarness } from '../../support/slack-harness.ts';

const PERSON = {
  email: 'quintessa.vorhallen@zyxgenomics.example',
  firstName: 'Quintessa',
  lastName: 'Vorhallen',
  company: 'Zyxgenomics Labs',
  phone: '+49 30 5550199',
  title: 'Head of Xylography',
};
/** What must not be found anywhere once the lead is forgotten. */
const NEEDLES = [PERSON.email, PERSON.firstName, PERSON.lastName, PERSON.company, PERSON.phone, 'Xylography'];

describe('/lead forget', () => {
  let h: SlackHarness;
  let leadId: number;

  const q = (text: string, values: unknown[] = []) => h.db.pool.query(text, values);

  /** Every text-like column of every table in `public`, searched for every needle. */
  async function personalDataHits(): Promise<string[]> {
    const { rows: columns } = await q(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
         AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')
       ORDER BY 1, 2`,
    );
    expect(columns.length).toBeGreaterThan(40);
    const hits: string[] = [];
    for (const { table_name: table, column_name: column } of columns) {
      for (const needle of NEEDLES) {
        const { rows } = await q(
          `SELECT count(*)::int AS n FROM "${table}" WHERE "${column}"::text ILIKE $1`,
          [`%${needle}%`],
        );
        if (rows[0].n > 0) hits.push(`${table}.${column} ~ ${needle} (${rows[0].n})`);
      }
    }
    return hits;
  }

  const aggregates = async () =>
    (
      await q(
        `SELECT (SELECT count(*)::int FROM leads) AS leads, (SELECT sum(score)::int FROM leads) AS score,
           (SELECT count(*)::int FROM deals) AS deals, (SELECT count(*)::int FROM score_rows) AS score_rows,
           (SELECT count(*)::int FROM signals) AS signals, (SELECT count(*)::int FROM assignments) AS assignments`,
      )
    ).rows[0];

  beforeAll(async () => {
    h = await startSlackHarness(leadDeskRuleset(), (app, ctx) => {
      registerLeadCommand(app, ctx);
      registerHome(app, ctx);
    });
    const { email, ...profile } = PERSON;
    leadId = await seedLead(h, email, profile);
    await seedLead(h, 'bob@other-lab.example', { fullName: 'Bob Builder', company: 'Other Lab' });
    // Someone else's form names her: that event goes too.
    await processEvents(
      await storeEvents(h.db, [
        event('form.submitted', { email: 'carl@refer.example', metadata: { referred_by: PERSON.email } }),
      ]),
      h.ctx,
    );

    // Her data spreads: a note, the card, a shared card, a Home tab, an export, free text elsewhere.
    await (await lead(h, `note ${PERSON.email} Quintessa Vorhallen wants a quote`)).reply();
    await (await lead(h, PERSON.email)).reply();
    await h.action({
      actionId: 'lead.share',
      value: String(leadId),
      messageTs: '1.1',
      channelId: 'C0ROUTING1',
      userId: USERS.anna,
    });
    await waitForCall(h, (c) => c.method === 'chat.postMessage' && c.body['channel'] === 'C0ROUTING1');
    await postEvent(h, {
      type: 'app_home_opened',
      user: USERS.anna,
      channel: 'D0HOME',
      tab: 'home',
      event_ts: '1.2',
    });
    await waitForCall(h, (c) => c.method === 'views.publish');
    await (await lead(h, `export ${PERSON.email}`, USERS.sam)).reply();
    await q(
      `INSERT INTO tasks (lead_id, title) VALUES ($1, 'Call Quintessa Vorhallen at Zyxgenomics Labs')`,
      [leadId],
    );
    await q(`UPDATE deals SET next_step = 'Send Zyxgenomics Labs a quote' WHERE lead_id = $1`, [leadId]);
    await q(
      `INSERT INTO upkeep_findings (key, kind, severity, lead_id, detail, first_seen_at, last_seen_at)
       VALUES ('stale:1', 'stale_lead', 'info', $1, $2, now(), now())`,
      [leadId, JSON.stringify({ lead: 'Quintessa Vorhallen', phone: PERSON.phone })],
    );
    for (let i = 0; i < 5; i += 1) {
      await h.deliver();
      h.clock.advance(1_000);
    }
    expect((await personalDataHits()).length).toBeGreaterThan(10);
  });
  afterAll(async () => {
    expect(h.fake.violations()).toEqual([]);
    await h.stop();
  });

  it('leaves no personal data of the lead in any table, keeps the counts, and audits the erasure', async () => {
    const before = await aggregates();
    const { rows: org } = await q('SELECT organization_id FROM leads WHERE id = $1', [leadId]);
    expect(org[0].organization_id).not.toBeNull();

    const res = await h.submit({
      callbackId: 'lead.forget.confirm',
      userId: USERS.sam,
      values: { confirm: { word: { type: 'plain_text_input', value: 'ERASE' } } },
      privateMetadata: JSON.stringify({ email: PERSON.email, responseUrl: h.fake.responseUrl('forget') }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    const done = await waitForCall(h, (c) => c.responseId === 'forget');
    expect(done.body['text']).toMatch(
      new RegExp(`^Lead #${leadId} erased: 3 events, 1 identifiers and 1 notes deleted`),
    );

    expect(await personalDataHits()).toEqual([]);
    expect(await aggregates()).toEqual(before);
    const { rows: anonymized } = await q(
      'SELECT email, first_name, last_name, full_name, company, phone, title, score, grade, erased_at FROM leads WHERE id = $1',
      [leadId],
    );
    expect(anonymized[0]).toMatchObject({
      email: null,
      first_name: null,
      company: null,
      score: 40,
      grade: 'C',
    });
    expect(anonymized[0].erased_at).toBeInstanceOf(Date);
    expect((await q('SELECT 1 FROM organizations WHERE id = $1', [org[0].organization_id])).rowCount).toBe(0);
    expect(
      (await q(`SELECT 1 FROM intake_events WHERE event->'lead'->>'email' = 'carl@refer.example'`)).rowCount,
    ).toBe(0);
    expect(
      (await q(`SELECT 1 FROM intake_events WHERE event->'lead'->>'email' = 'bob@other-lab.example'`))
        .rowCount,
    ).toBe(2);

    const { rows: audit } = await q(`SELECT actor, lead_id, detail FROM audit_log WHERE action = 'forget'`);
    expect(audit).toEqual([
      {
        actor: USERS.sam,
        lead_id: leadId,
        detail: expect.objectContaining({ events: 3, identifiers: 1, notes: 1, alreadyErased: false }),
      },
    ]);
    expect(audit[0].detail.scrubbed).toMatchObject({
      'tasks.title': 1,
      'deals.next_step': 1,
      'upkeep_findings.detail': 1,
    });
  });

  it('edits the messages Slack already shows, and lookups no longer find the lead', async () => {
    for (let i = 0; i < 5; i += 1) {
      h.clock.advance(1_000);
      await h.deliver();
    }
    const shared = h.fake.messages('C0ROUTING1');
    expect(shared).toHaveLength(1);
    expect(shared[0]).toMatchObject({
      text: 'This message was removed: the lead’s data was erased on request.',
    });
    expect(shared[0]!.updates).toBeGreaterThan(0);
    for (const message of h.fake.messages()) {
      expect(JSON.stringify(message)).not.toContain(PERSON.lastName);
    }
    const lookup = await (await lead(h, PERSON.email)).reply();
    expect(lookup.text).toContain('No lead matches');
  });
});
