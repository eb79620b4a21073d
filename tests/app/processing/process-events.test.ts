import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RULES_PATH } from '../../../src/config.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { loadRulesetFile } from '../../../src/ruleset-file.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import {
  event,
  fixedClock,
  jobContext,
  leadByEmail,
  storeEvents,
  testRuleset,
} from '../../support/engine-fixtures.ts';

describe('process-events job', () => {
  let db: TestDatabase;
  const ruleset = testRuleset();
  const clock = fixedClock('2026-11-20T12:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());
  beforeEach(async () => {
    await db.reset();
  });

  const ctx = () => jobContext(db, ruleset, clock.now);

  it('creates a lead, scores it, detects intent and records what changed', async () => {
    const ids = await storeEvents(db, [
      event('form.submitted', {
        metadata: { form_type: 'demo' },
        utm: { source: 'google', campaign: 'q4-sequencing' },
      }),
    ]);
    const summary = await processEvents(ids, ctx());
    expect(summary).toMatchObject({ events: 1, leads: 1, created: 1 });
    const lead = await leadByEmail(db, 'ada@genomics-lab.example');
    expect(lead).toMatchObject({
      score: 30,
      grade: 'D',
      primary_intent: 'b2b',
      intent_confidence: 100,
      first_touch_source: 'google',
      first_touch_campaign: 'q4-sequencing',
      organization_domain: 'genomics-lab.example',
      ruleset_version: 'test-rules',
    });
    const { rows: changes } = await db.pool.query('SELECT kind FROM lead_changes ORDER BY id');
    expect(changes.map((c) => c.kind)).toContain('critical_signal');
    const { rows: events } = await db.pool.query('SELECT processed_at, lead_id FROM intake_events');
    expect(events[0].processed_at).not.toBeNull();
    expect(events[0].lead_id).toBe(lead?.id);
  });

  it('stops repeated email opens at the cap (no Mautic-style inflation)', async () => {
    const opens = Array.from({ length: 20 }, (_, i) =>
      event('email.opened', {
        occurredAt: `2026-11-${String(10 + Math.floor(i / 5)).padStart(2, '0')}T09:0${i % 5}:00Z`,
      }),
    );
    // In several batches, as separate jobs would deliver them.
    for (let i = 0; i < opens.length; i += 3) {
      await processEvents(await storeEvents(db, opens.slice(i, i + 3)), ctx());
    }
    const lead = await leadByEmail(db, 'ada@genomics-lab.example');
    expect(lead?.score).toBe(5);
    const { rows } = await db.pool.query(
      `SELECT day_key::text AS day, sum(points)::int AS points FROM score_rows GROUP BY 1 ORDER BY 1`,
    );
    for (const row of rows) expect(row.points).toBeLessThanOrEqual(2);
  });

  it('changes nothing when the same events are processed again', async () => {
    const ids = await storeEvents(db, [
      event('form.submitted', { metadata: { form_type: 'demo' } }),
      event('page.viewed', { metadata: { url: '/pricing' } }),
    ]);
    await processEvents(ids, ctx());
    const before = await leadByEmail(db, 'ada@genomics-lab.example');
    const again = await processEvents(ids, ctx());
    expect(again.events).toBe(0);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM score_rows');
    expect(rows[0].n).toBe(2);
    expect(await leadByEmail(db, 'ada@genomics-lab.example')).toEqual(before);
  });

  it('clamps a lead deep in penalties at zero without error', async () => {
    const ids = await storeEvents(db, [
      event('page.viewed', { metadata: { url: '/pricing' } }),
      event('email.bounced', { occurredAt: '2026-11-20T11:00:00Z' }),
    ]);
    await processEvents(ids, ctx());
    expect(await leadByEmail(db, 'ada@genomics-lab.example')).toMatchObject({ score: 0, grade: 'F' });
  });

  it('loses no points when two workers process one lead’s events at the same time', async () => {
    await processEvents(await storeEvents(db, [event('email.opened')]), ctx());
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 5 }, (_, i) =>
        event('page.viewed', { metadata: { url: '/pricing' }, occurredAt: `2026-11-${10 + b}T0${i}:00:00Z` }),
      ),
    );
    const stored = await Promise.all(batches.map((batch) => storeEvents(db, batch)));
    // Two workers, each with its own connection, race over the same lead.
    await Promise.all([
      (async () => {
        for (const ids of stored.slice(0, 4)) await processEvents(ids, ctx());
      })(),
      (async () => {
        for (const ids of stored.slice(4)) await processEvents(ids, ctx());
      })(),
    ]);
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n, sum(points)::int AS points FROM score_rows WHERE rule_id = 'pricing-page'`,
    );
    // 8 days × daily cap 10: one award per day, none lost, none doubled. Expired ones included.
    expect(rows[0]).toEqual({ n: 8, points: 80 });
    const lead = await leadByEmail(db, 'ada@genomics-lab.example');
    // Pricing points live 7 days: at 2026-11-20T12:00 the awards of the 14th–17th still count
    // (4 × 10), plus the one open.
    expect(lead?.score).toBe(41);
  });

  it('hands the events of a lead another batch holds back to the queue instead of waiting', async () => {
    await processEvents(await storeEvents(db, [event('email.opened')]), ctx());
    const lead = await leadByEmail(db, 'ada@genomics-lab.example');
    const [busyEvent] = await storeEvents(db, [event('page.viewed', { metadata: { url: '/pricing' } })]);
    const [freeEvent] = await storeEvents(db, [event('email.opened', { email: 'grace@hopper-lab.example' })]);
    // Another batch's transaction holds Ada's row.
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM leads WHERE id = $1 FOR UPDATE', [lead?.id]);
      const summary = await processEvents([busyEvent!, freeEvent!], ctx(), { deferBusyLeads: true });
      expect(summary).toMatchObject({ events: 1, leads: 1, created: 1 });
      await holder.query('COMMIT');
    } finally {
      holder.release();
    }
    const { rows } = await db.pool.query(
      `SELECT e.id::text, e.processed_at IS NOT NULL AS processed,
         (SELECT count(*)::int FROM pgboss.job j WHERE j.name = 'process-events' AND j.data->>'eventId' = e.id::text
            AND j.start_after > j.created_on) AS deferred
       FROM intake_events e WHERE e.id = ANY($1::uuid[]) ORDER BY e.id = $2 DESC`,
      [[busyEvent, freeEvent], busyEvent],
    );
    expect(rows).toEqual([
      { id: busyEvent, processed: false, deferred: 1 },
      { id: freeEvent, processed: true, deferred: 0 },
    ]);
    // The retry finds the lead free and applies the event.
    await processEvents([busyEvent!], ctx(), { deferBusyLeads: true });
    expect((await leadByEmail(db, 'ada@genomics-lab.example'))?.score).toBe(11);
  });

  it('names in the hot-lead alert the owner an automation rule just routed the lead to', async () => {
    const { ruleset: shipped } = await loadRulesetFile(DEFAULT_RULES_PATH);
    // The shipped rules: a demo request from a work address (30 points, below routing's 40) is a
    // CRITICAL signal, and strong B2B intent routes it through automation in the same transaction.
    await processEvents(
      await storeEvents(db, [
        event('form.submitted', { email: 'buyer@pharma-y.example', metadata: { form_type: 'demo' } }),
      ]),
      jobContext(db, shipped, clock.now),
    );
    const { rows } = await db.pool.query(
      `SELECT a.owner_member_id AS alert_owner, l.owner_member_id AS lead_owner, o.payload::text AS payload
       FROM lead_alerts a JOIN leads l ON l.id = a.lead_id JOIN slack_outbox o ON o.key = a.outbox_key
       WHERE l.email = 'buyer@pharma-y.example'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].lead_owner).not.toBeNull();
    expect(rows[0].alert_owner).toBe(rows[0].lead_owner);
    const owner = shipped.team.members.find((m) => m.id === rows[0].lead_owner);
    expect(rows[0].payload).toContain(owner?.slack_user_id);
  });

  it('creates one lead when two workers see two events of a new person at once', async () => {
    const a = await storeEvents(db, [event('email.opened', { email: 'new.person@biotech.example' })]);
    const b = await storeEvents(db, [
      event('page.viewed', {
        email: 'New.Person@Biotech.example',
        metadata: { url: '/pricing' },
        lead: { email: 'New.Person@Biotech.example', ids: { hubspot_id: '901' } },
      }),
    ]);
    await Promise.all([processEvents(a, ctx()), processEvents(b, ctx())]);
    const { rows } = await db.pool.query('SELECT id FROM leads');
    expect(rows).toHaveLength(1);
    const { rows: identifiers } = await db.pool.query(
      'SELECT kind, value FROM lead_identifiers ORDER BY kind',
    );
    expect(identifiers).toEqual([
      { kind: 'email', value: 'new.person@biotech.example' },
      { kind: 'hubspot_id', value: '901' },
    ]);
  });

  it('finds a lead by an external id and merges profile fields without blanking known ones', async () => {
    await processEvents(
      await storeEvents(db, [
        event('form.submitted', {
          lead: { email: 'pi@uni.example', ids: { lemlist_id: 'lem_1' }, company: 'Uni Lab', title: 'PI' },
          metadata: { form_type: 'contact' },
        }),
      ]),
      ctx(),
    );
    await processEvents(
      await storeEvents(db, [
        event('email.opened', {
          occurredAt: '2026-11-20T11:00:00Z',
          lead: { ids: { lemlist_id: 'lem_1' }, company: '', title: 'Head of Genomics' },
        }),
      ]),
      ctx(),
    );
    const { rows } = await db.pool.query('SELECT email, company, title FROM leads');
    expect(rows).toEqual([{ email: 'pi@uni.example', company: 'Uni Lab', title: 'Head of Genomics' }]);
  });

  it('links no organization for free-mail addresses', async () => {
    await processEvents(
      await storeEvents(db, [event('email.opened', { email: 'someone@gmail.com' })]),
      ctx(),
    );
    const lead = await leadByEmail(db, 'someone@gmail.com');
    expect(lead?.organization_id).toBeNull();
  });
  it('queues free text for classification only when OpenAI is configured', async () => {
    const reply = event('email.replied', {
      email: 'writer@biotech.example',
      metadata: { reply_text: 'We would like to co-develop an assay with your team next year.' },
    });
    const [withoutKey] = await storeEvents(db, [reply]);
    await processEvents([withoutKey!], ctx());
    const [withKey] = await storeEvents(db, [{ ...reply, id: `${reply.id}-2` }]);
    await processEvents([withKey!], { ...ctx(), classifyText: true });
    const { rows } = await db.pool.query(`SELECT id::text FROM pgboss.job WHERE name = 'classify-text' ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([withKey]);
  });
});
