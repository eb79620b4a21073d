import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntakeWriter } from '../../src/app/intake/intake-writer.ts';
import { registerAlertActions } from '../../src/bot/alert-actions.ts';
import { registerConflictActions } from '../../src/bot/conflict-actions.ts';
import { registerHome } from '../../src/bot/home.ts';
import { registerLeadCommand } from '../../src/bot/lead-command.ts';
import { registerMocoActions } from '../../src/bot/moco-actions.ts';
import { registerPing } from '../../src/bot/ping.ts';
import { leadDeskRuleset } from '../support/lead-desk.ts';
import { SIGNING_SECRET, useSlackHarness } from '../support/slack-harness.ts';
import { FORM, signSlackRequest, slashCommandBody } from '../support/slack-signer.ts';

/**
 * Correctly signed requests whose bodies are not what Slack sends: every one gets a 2xx or 4xx and
 * the server keeps serving. (Bolt alone let a signed `null` stop the process and answered 500 for
 * bodies such as `{"actions":null}`.)
 */
describe('signed Slack requests that are not Slack payloads', () => {
  const h = useSlackHarness(
    leadDeskRuleset(),
    (app, ctx) => {
      registerPing(app);
      registerConflictActions(app, ctx);
      registerAlertActions(app, ctx);
      registerLeadCommand(app, ctx, { intake: new IntakeWriter(ctx.pool, ctx.queue) });
      registerHome(app, ctx);
      registerMocoActions(app, ctx);
    },
    { start: '2026-11-20T10:00:00Z' },
  );

  const send = (body: string, contentType: string) =>
    fetch(`${h.url}/slack/events`, {
      method: 'POST',
      body,
      headers: { 'content-type': contentType, ...signSlackRequest({ signingSecret: SIGNING_SECRET, body, timestamp: Math.floor(Date.now() / 1000) }) },
    });
  const asJson = (value: string) => send(value, 'application/json');
  const asPayload = (value: string) => send(`payload=${encodeURIComponent(value)}`, FORM);
  const stillServing = async () => {
    const res = await h.post(slashCommandBody({ command: '/lead', text: 'ping' }));
    expect(await res.json()).toEqual({ response_type: 'ephemeral', text: 'pong' });
  };

  it('refuses bodies without the fields Bolt reads with 400, naming the field', async () => {
    const hostile = [
      'null',
      '1',
      '"text"',
      '[]',
      '{"actions":null}',
      '{"type":"block_actions","user":null,"actions":[]}',
      '{"type":"event_callback","event":1}',
      '{"type":"event_callback","event":{"type":"message","item":3}}',
      '{"type":"view_submission","user":{"id":"U1"},"view":null}',
      '{"command":5,"user_id":"U1"}',
      '{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"lead.claim"}],"channel":7}',
    ];
    for (const body of hostile) {
      for (const res of [await asJson(body), await asPayload(body)]) {
        expect(res.status, body).toBe(400);
        expect((await res.json()) as unknown, body).toMatchObject({ error: 'invalid_payload' });
      }
    }
    const named = await asJson('{"type":"block_actions","user":null,"actions":[]}');
    expect(await named.json()).toEqual({ error: 'invalid_payload', message: 'user: Invalid input: expected object, received null' });
    await stillServing();
  });

  it('acknowledges payload types Leadline does not handle at once, with 200', async () => {
    // Bolt's own answer after the ack deadline is a 404: a 200 is Leadline's immediate ack.
    expect((await asJson('{"type":"something_new"}')).status).toBe(200);
    expect((await asPayload('{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"nobody.handles"}]}')).status).toBe(200);
    expect((await asJson('{"type":"event_callback","event":{"type":"reaction_added"},"team_id":"T1"}')).status).toBe(200);
    await stillServing();
  });

  it('answers every fuzzed signed body with a 2xx or 4xx and keeps serving', async () => {
    const slackish = fc.record(
      {
        type: fc.constantFrom('block_actions', 'view_submission', 'view_closed', 'event_callback', 'shortcut', 'block_suggestion', 'url_verification'),
        user: fc.oneof(fc.jsonValue(), fc.record({ id: fc.string() })),
        actions: fc.oneof(fc.jsonValue(), fc.array(fc.record({ action_id: fc.constantFrom('lead.claim', 'lead.snooze', 'moco.retry', 'x'), value: fc.jsonValue() }))),
        view: fc.jsonValue(),
        event: fc.oneof(fc.jsonValue(), fc.record({ type: fc.constantFrom('app_home_opened', 'user_change', 'message'), user: fc.jsonValue() })),
        command: fc.oneof(fc.constant('/lead'), fc.jsonValue()),
        text: fc.jsonValue(),
        user_id: fc.jsonValue(),
        channel: fc.jsonValue(),
        team: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(fc.jsonValue({ maxDepth: 4 }), slackish).map((value) => JSON.stringify(value) ?? 'null');
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (text, form) => {
        const res = form ? await asPayload(text) : await asJson(text);
        await res.arrayBuffer();
        expect(res.status, text).toBeLessThan(500);
      }),
      { seed: 20261203, numRuns: 250 },
    );
    await stillServing();
  });
});
