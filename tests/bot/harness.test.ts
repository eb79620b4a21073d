import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPing } from '../../src/bot/ping.ts';
import { testRuleset } from '../support/engine-fixtures.ts';
import { type SlackHarness, startSlackHarness } from '../support/slack-harness.ts';

describe('Slack test harness', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness(testRuleset(), (app) => registerPing(app));
  });
  afterAll(() => h.stop());

  it('serves Slack-signed commands on the one-port server against a fake Slack', async () => {
    const res = await h.command({ command: '/lead', text: 'ping' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ response_type: 'ephemeral', text: 'pong' });
    await h.deliver();
    expect(h.fake.violations()).toEqual([]);
  });
});
