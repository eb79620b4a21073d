import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { loadLeadCard } from '../../../src/app/queries/lead-card.ts';
import { loadLeadDetails } from '../../../src/app/queries/lead-details.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { event, jobContext, storeEvents } from '../../support/engine-fixtures.ts';
import { leadDeskRuleset } from '../../support/lead-desk.ts';

const AT = '2026-11-20T10:00:00.000Z';

describe('a lead’s recent events', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('are listed in one order by the lead card and the Details modal, ties included', async () => {
    const ruleset = leadDeskRuleset();
    const ctx = jobContext(db, ruleset, () => new Date('2026-11-20T11:00:00Z'));
    // Seven events that happened, and arrived, at the same moment: only their ids tell them apart.
    const types = ['page.viewed', 'form.submitted', 'email.opened', 'email.clicked', 'page.viewed', 'webinar.attended', 'content.downloaded'];
    const ids = await storeEvents(db, types.map((type) => event(type, { email: 'tie@lab.example', occurredAt: AT })));
    await processEvents(ids, ctx);
    const { rows } = await db.pool.query<{ id: number }>(`SELECT id FROM leads WHERE email = 'tie@lab.example'`);
    const leadId = rows[0]!.id;
    const { rows: expected } = await db.pool.query<{ event_type: string }>(
      'SELECT event_type FROM intake_events WHERE lead_id = $1 ORDER BY id DESC',
      [leadId],
    );

    const card = await loadLeadCard(db.pool, ruleset, leadId, ctx.now());
    const details = await loadLeadDetails(db.pool, ruleset, leadId, ctx.now());
    const cardTypes = card!.events.map((e) => e.type);
    const detailTypes = details!.events.map((e) => e.type);
    expect(cardTypes).toHaveLength(5);
    expect(detailTypes).toEqual(expected.map((e) => e.event_type));
    expect(cardTypes).toEqual(detailTypes.slice(0, 5));
  });
});
