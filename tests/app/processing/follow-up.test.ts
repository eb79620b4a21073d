import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import {
  event,
  fixedClock,
  jobContext,
  ROUTING_YAML,
  storeEvents,
  testRuleset,
} from '../../support/engine-fixtures.ts';

const YAML = `${ROUTING_YAML}
automation:
  - id: demo-task
    trigger: { type: event, event: form.submitted, where: [{ field: metadata.form_type, op: equals, value: demo }] }
    actions: [{ type: create_task, title: Call about the demo, due_in_hours: 4, assignee: owner }]
  - id: new-b2b-deal
    trigger: { type: stage_entered, pipeline: b2b, stage: new }
    actions: [{ type: update_field, field: deal.priority, value: high }]
  - id: turned-warm
    trigger: { type: score_threshold, threshold: warm }
    actions: [{ type: create_task, title: Warm lead, due_in_hours: 24, assignee: owner }]
`;

describe('automation after scoring and routing, in the processing transaction', () => {
  let db: TestDatabase;
  const ruleset = testRuleset(YAML);
  const clock = fixedClock('2026-11-20T12:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('runs event, stage-entered and threshold rules once, even when the batch is processed again', async () => {
    const ids = await storeEvents(db, [
      event('form.submitted', { email: 'auto@pharma.example', metadata: { form_type: 'demo' } }),
      event('page.viewed', {
        email: 'auto@pharma.example',
        metadata: { url: '/pricing' },
        occurredAt: '2026-11-20T10:05:00Z',
      }),
      event('page.viewed', {
        email: 'auto@pharma.example',
        metadata: { url: '/pricing?x' },
        occurredAt: '2026-11-21T10:05:00Z',
      }),
    ]);
    const ctx = jobContext(db, ruleset, clock.now);
    await processEvents(ids, ctx);
    await processEvents(ids, ctx);
    const { rows: tasks } = await db.pool.query('SELECT title, assignee_member_id FROM tasks ORDER BY title');
    expect(tasks).toEqual([
      { title: 'Call about the demo', assignee_member_id: 'anna' },
      { title: 'Warm lead', assignee_member_id: 'anna' },
    ]);
    const { rows: deals } = await db.pool.query('SELECT priority FROM deals');
    expect(deals).toEqual([{ priority: 'high' }]);
    const { rows: actions } = await db.pool.query(
      'SELECT rule_id, status FROM automation_actions ORDER BY rule_id',
    );
    expect(actions).toEqual([
      { rule_id: 'demo-task', status: 'done' },
      { rule_id: 'new-b2b-deal', status: 'done' },
      { rule_id: 'turned-warm', status: 'done' },
    ]);
  });
});
