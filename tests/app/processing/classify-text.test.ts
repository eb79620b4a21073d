import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIntentClassifier, type IntentClassifier, MAX_CLASSIFY_TEXT } from '../../../src/clients/openai-intent.ts';
import { withTransaction } from '../../../src/db/pool.ts';
import type { LeadlineEvent } from '../../../src/engine/event.ts';
import {
  classifyEvent,
  enqueueClassification,
  freeTextOf,
  shouldClassify,
} from '../../../src/app/processing/classify-text.ts';
import type { AppContext } from '../../../src/app/context.ts';
import type { Boss } from '../../../src/jobs/boss.ts';
import { createClassifyTextJob } from '../../../src/jobs/classify-text.ts';
import { CLASSIFY_QUEUE } from '../../../src/app/queues.ts';
import { processEvents } from '../../../src/app/processing/process-events.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import {
  event,
  fixedClock,
  jobContext,
  leadByEmail,
  scoringOnly,
  storeEvents,
  TEST_RULES_YAML,
  testRuleset,
} from '../../support/engine-fixtures.ts';
import { type FakeOpenAi, startFakeOpenAi } from '../../support/fake-openai.ts';

/** The two intent rules the report proposes for rules/default.yml, checked here against the schema. */
const CLASSIFIED_RULES = `    - id: llm-b2b
      description: A model read buying intent in the lead's own words
      event: intent.classified
      when:
        - { field: metadata.intent, op: equals, value: b2b }
        - { field: metadata.confidence, op: gte, value: 0.7 }
      intent: b2b
      signal: LLM_B2B_TEXT
      weight: 20
      tier: HIGH
      decay_hours: 336
    - id: llm-co-creation
      description: A model read partnership intent in the lead's own words
      event: intent.classified
      when:
        - { field: metadata.intent, op: equals, value: co_creation }
        - { field: metadata.confidence, op: gte, value: 0.7 }
      intent: co_creation
      signal: LLM_CO_CREATION_TEXT
      weight: 20
      tier: HIGH
      decay_hours: 720
`;

const ruleset = scoringOnly(
  testRuleset(TEST_RULES_YAML.replace('    - { id: pricing-b2b,', `${CLASSIFIED_RULES}    - { id: pricing-b2b,`)),
);

const REPLY = 'Thanks for the note. We run about 400 samples a month and would like a quote for a yearly contract.';

describe('classify-text job', () => {
  let db: TestDatabase;
  let openai: FakeOpenAi;
  let classifier: IntentClassifier;
  let ctx: AppContext;
  const clock = fixedClock('2026-11-20T12:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase();
    openai = await startFakeOpenAi();
    // Generous, so a loaded machine never turns an answered call into a timeout.
    classifier = createIntentClassifier({
      apiKey: openai.apiKey,
      baseUrl: openai.baseUrl,
      model: 'gpt-test',
      timeoutMs: 5_000,
    });
    ctx = jobContext(db, ruleset, clock.now);
    // The registry does not know this queue yet; create it as it will, unless it already does.
    const job = createClassifyTextJob(classifier);
    const boss = ctx.queue as Boss;
    if ((await boss.getQueue(CLASSIFY_QUEUE)) === null) await boss.createQueue(job.name, job.queue);
  });
  afterAll(async () => {
    await openai.close();
    await db.drop();
  });
  beforeEach(async () => {
    openai.reset();
    await db.reset();
    await db.pool.query(`DELETE FROM pgboss.job WHERE name IN ('process-events', $1)`, [CLASSIFY_QUEUE]);
  });

  /** Stores and processes an event the way intake and the processing job would; returns its id. */
  const processed = async (e: LeadlineEvent): Promise<string> => {
    const [id] = await storeEvents(db, [e]);
    await processEvents([id!], ctx);
    return id!;
  };
  const reply = (text = REPLY) =>
    event('email.replied', { source: 'lemlist', metadata: { reply_text: text }, utm: { campaign: 'q4-labs' } });
  const runJob = (eventId: string, job = createClassifyTextJob(classifier)) =>
    job.handler([{ id: eventId, data: { eventId } }], ctx);
  const classifiedRows = async () =>
    (
      await db.pool.query(
        `SELECT id, source, scheme, external_id, event_type, occurred_at, lead_id, processed_at, event
         FROM intake_events WHERE event_type = 'intent.classified' ORDER BY received_at`,
      )
    ).rows;
  const queued = async (queue: string) =>
    (await db.pool.query(`SELECT id, data FROM pgboss.job WHERE name = $1 ORDER BY created_on`, [queue])).rows as {
      id: string;
      data: { eventId: string };
    }[];

  it('stores a reply text classification as one intent.classified event with one process-events job', async () => {
    const sourceId = await processed(reply());
    await runJob(sourceId);

    const rows = await classifiedRows();
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    const lead = await leadByEmail(db, 'ada@genomics-lab.example');
    expect(row).toMatchObject({
      source: 'leadline',
      scheme: 'internal',
      external_id: `classify:${sourceId}`,
      lead_id: lead?.id,
      processed_at: null,
    });
    expect(row.event.metadata).toEqual({
      intent: 'b2b',
      confidence: 0.86,
      reason: 'Asks for a quote for monthly sequencing volumes.',
      model: 'gpt-test-2025-01-01',
      source_event_id: sourceId,
    });
    expect(row.occurred_at.toISOString()).toBe('2026-11-20T10:00:00.000Z');
    expect(await queued('process-events')).toEqual([{ id: row.id, data: { eventId: row.id } }]);

    const [request] = openai.requests();
    expect(request).toMatchObject({ path: '/v1/chat/completions', authorization: `Bearer ${openai.apiKey}` });
    expect(request!.body).toMatchObject({
      model: 'gpt-test',
      response_format: { type: 'json_schema', json_schema: { strict: true } },
    });
    expect(openai.userMessage(request!)).toContain(REPLY);
  });

  it('lets the ruleset weigh the classification when the processing job applies it', async () => {
    const sourceId = await processed(reply());
    await runJob(sourceId);
    const [row] = await classifiedRows();
    await processEvents([row!.id], ctx);

    const { rows: signals } = await db.pool.query(`SELECT rule_id, intent, weight FROM signals WHERE event_id = $1`, [
      row!.id,
    ]);
    expect(signals).toEqual([{ rule_id: 'llm-b2b', intent: 'b2b', weight: 20 }]);
    const lead = await leadByEmail(db, 'ada@genomics-lab.example');
    expect(lead).toMatchObject({ primary_intent: 'b2b', score: 0, last_touch_source: 'lemlist' });
    // The classification is never classified in turn.
    expect(shouldClassify(row!.event)).toBe(false);
  });

  it('gives no weight to a classification below the confidence the rules ask for', async () => {
    openai.setDefault({ intent: 'b2b', confidence: 0.4, reason: 'Vague interest.' });
    const sourceId = await processed(reply());
    await runJob(sourceId);
    const [row] = await classifiedRows();
    await processEvents([row!.id], ctx);
    const { rows } = await db.pool.query(`SELECT 1 FROM signals WHERE event_id = $1`, [row!.id]);
    expect(rows).toHaveLength(0);
  });

  it('stores one event and asks the model once when the job runs twice', async () => {
    const sourceId = await processed(reply());
    await runJob(sourceId);
    await runJob(sourceId);
    expect(await classifiedRows()).toHaveLength(1);
    expect(await queued('process-events')).toHaveLength(1);
    expect(openai.requests()).toHaveLength(1);
  });

  it('stores one event when two runs race past the check', async () => {
    const sourceId = await processed(reply());
    const outcomes = await Promise.all([
      classifyEvent(classifier, sourceId, ctx),
      classifyEvent(classifier, sourceId, ctx),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['already_classified', 'classified']);
    expect(await classifiedRows()).toHaveLength(1);
    expect(await queued('process-events')).toHaveLength(1);
  });

  it.each([
    ['a 429', { status: 429, retryAfter: 7 } as const, /rate limited \(retry after 7s\)/],
    ['a 500', { status: 500 } as const, /unavailable: http_500/],
    ['a 503', { status: 503 } as const, /unavailable: http_503/],
  ])('throws on %s so the queue retries, storing nothing', async (_name, answer, message) => {
    const sourceId = await processed(reply());
    openai.answerNext(1, answer);
    await expect(runJob(sourceId)).rejects.toThrow(message);
    expect(await classifiedRows()).toHaveLength(0);
    expect(await queued('process-events')).toHaveLength(0);
    // The retry succeeds and stores the classification.
    await runJob(sourceId);
    expect(await classifiedRows()).toHaveLength(1);
  });

  it('reports the Retry-After of a 429', async () => {
    openai.answerNext(1, { status: 429, retryAfter: 12 });
    expect(await classifier.classify(REPLY, ['b2b'])).toEqual({
      ok: false,
      kind: 'rate_limited',
      retryAfterSeconds: 12,
    });
  });

  it('throws when the model hangs past the timeout or cannot be reached', async () => {
    const sourceId = await processed(reply());
    const impatient = createIntentClassifier({
      apiKey: openai.apiKey,
      baseUrl: openai.baseUrl,
      model: 'gpt-test',
      timeoutMs: 200,
    });
    openai.answerNext(1, { hang: true });
    await expect(runJob(sourceId, createClassifyTextJob(impatient))).rejects.toThrow(/unavailable: timeout/);

    const closed = await startFakeOpenAi();
    await closed.close();
    const unreachable = createIntentClassifier({
      apiKey: closed.apiKey,
      baseUrl: closed.baseUrl,
      model: 'gpt-test',
      timeoutMs: 2_000,
    });
    await expect(runJob(sourceId, createClassifyTextJob(unreachable))).rejects.toThrow(/unavailable: network/);
    expect(await classifiedRows()).toHaveLength(0);
  });

  it.each([
    ['prose instead of JSON', { content: 'Sure! This lead is clearly b2b.' }, 'not_json'],
    ['an intent the ruleset does not have', { content: '{"intent":"sales","confidence":0.9,"reason":"x"}' }, 'bad_fields:intent'],
    ['a confidence out of range', { content: '{"intent":"b2b","confidence":85,"reason":"x"}' }, 'bad_fields:confidence'],
    ['a missing reason', { content: '{"intent":"b2b","confidence":0.9}' }, 'bad_fields:reason'],
    ['a body that is not JSON', { rawBody: '<html>502 bad gateway</html>' }, 'SyntaxError'],
    ['a refusal', { refusal: 'I cannot help with that.' }, 'refused'],
  ] as const)('completes without storing anything on %s', async (_name, answer, error) => {
    openai.answerNext(1, answer);
    expect(await classifier.classify(REPLY, ['research', 'b2b', 'co_creation'])).toEqual({
      ok: false,
      kind: 'invalid_answer',
      error,
    });
    const sourceId = await processed(reply());
    openai.answerNext(1, answer);
    await expect(runJob(sourceId)).resolves.toBeUndefined();
    expect(await classifiedRows()).toHaveLength(0);
    expect(await queued('process-events')).toHaveLength(0);
  });

  it('completes without retrying when the key is refused (401) or lacks access (403)', async () => {
    const sourceId = await processed(reply());
    const wrongKey = createIntentClassifier({
      apiKey: 'sk-not-the-key',
      baseUrl: openai.baseUrl,
      model: 'gpt-test',
      timeoutMs: 5_000,
    });
    expect(await wrongKey.classify(REPLY, ['b2b'])).toMatchObject({ ok: false, kind: 'unauthorized' });
    await expect(runJob(sourceId, createClassifyTextJob(wrongKey))).resolves.toBeUndefined();
    openai.answerNext(1, { status: 403 });
    await expect(classifyEvent(classifier, sourceId, ctx)).resolves.toEqual({
      status: 'failed',
      kind: 'unauthorized',
      eventId: null,
    });
    openai.answerNext(1, { status: 404 });
    await expect(classifyEvent(classifier, sourceId, ctx)).resolves.toMatchObject({ kind: 'rejected' });
    expect(await classifiedRows()).toHaveLength(0);
  });

  it('stores nothing when the model sees no intent', async () => {
    openai.setDefault({ intent: 'none', confidence: 0.95, reason: 'An out-of-office reply.' });
    const sourceId = await processed(reply('I am out of the office until Monday and will reply then.'));
    await expect(classifyEvent(classifier, sourceId, ctx)).resolves.toEqual({ status: 'no_intent', eventId: null });
    expect(await classifiedRows()).toHaveLength(0);
  });

  it(`sends at most ${MAX_CLASSIFY_TEXT} characters of text`, async () => {
    const long = `${'a'.repeat(MAX_CLASSIFY_TEXT)}${'Z'.repeat(1_000)}`;
    const sourceId = await processed(reply(long));
    await runJob(sourceId);
    const sent = openai.userMessage(openai.requests()[0]!);
    expect(sent).toContain('a'.repeat(MAX_CLASSIFY_TEXT));
    expect(sent).not.toContain('Z');
    // A surrogate pair at the cut is dropped whole, never halved.
    await classifier.classify(`${'b'.repeat(MAX_CLASSIFY_TEXT - 1)}😀tail`, ['b2b']);
    const cut = openai.userMessage(openai.requests()[1]!);
    expect(cut).toContain(`${'b'.repeat(MAX_CLASSIFY_TEXT - 1)}\n</lead_text>`);
  });

  it('leaves events without enough free text alone', async () => {
    const pageView = await processed(event('page.viewed', { metadata: { url: '/pricing' } }));
    const thanks = await processed(reply('Thanks!'));
    await runJob(pageView);
    await runJob(thanks);
    expect(openai.requests()).toHaveLength(0);
    expect(await classifiedRows()).toHaveLength(0);
  });

  it('waits for processing and skips events that are gone or whose lead was erased', async () => {
    const [unprocessed] = await storeEvents(db, [reply()]);
    await expect(runJob(unprocessed!)).rejects.toThrow(/not processed yet/);
    await expect(runJob('00000000-0000-4000-8000-000000000000')).resolves.toBeUndefined();

    const sourceId = await processed(reply());
    await db.pool.query(`UPDATE leads SET erased_at = now()`);
    await expect(classifyEvent(classifier, sourceId, ctx)).resolves.toEqual({ status: 'lead_erased', eventId: null });
    expect(await classifiedRows()).toHaveLength(0);
    expect(await queued('process-events')).toHaveLength(0);
  });

  it('enqueues classification in the caller transaction, once per event', async () => {
    const a = await processed(reply());
    const b = await processed(reply());
    await withTransaction(db.pool, async (tx) => {
      await enqueueClassification(tx, ctx.queue, [a, b, a]);
      await enqueueClassification(tx, ctx.queue, []);
    });
    await withTransaction(db.pool, (tx) => enqueueClassification(tx, ctx.queue, [a]));
    const jobs = await queued(CLASSIFY_QUEUE);
    expect(jobs.map((j) => j.id).sort()).toEqual([a, b].sort());
    for (const job of jobs) expect(job.data).toEqual({ eventId: job.id });

    // Rolled back with its transaction: the processing that would have made the event visible failed.
    const c = await processed(reply());
    await expect(
      withTransaction(db.pool, async (tx) => {
        await enqueueClassification(tx, ctx.queue, [c]);
        throw new Error('processing failed');
      }),
    ).rejects.toThrow('processing failed');
    expect((await queued(CLASSIFY_QUEUE)).map((j) => j.id)).not.toContain(c);

    const queue = await (ctx.queue as Boss).getQueue(CLASSIFY_QUEUE);
    expect(queue).toMatchObject({ retryLimit: 5, retryBackoff: true });
  });
});

describe('free text', () => {
  const base = event('form.submitted');

  it('joins every free-text field in a fixed order and ignores the rest', () => {
    expect(
      freeTextOf({
        ...base,
        metadata: { comment: ' third ', answers: 'first', url: '/pricing', notes: '   ', message: 'second', reply_text: 7 },
      }),
    ).toBe('first\n\nsecond\n\nthird');
    expect(freeTextOf({ ...base, metadata: { form_type: 'demo' } })).toBeNull();
  });

  it('classifies 20 characters or more, never a classification itself', () => {
    expect(shouldClassify({ ...base, metadata: { answers: 'x'.repeat(19) } })).toBe(false);
    expect(shouldClassify({ ...base, metadata: { answers: 'x'.repeat(20) } })).toBe(true);
    expect(
      shouldClassify({ ...base, type: 'intent.classified', metadata: { message: 'x'.repeat(100) } }),
    ).toBe(false);
  });
});
