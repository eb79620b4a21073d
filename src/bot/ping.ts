import type { App } from '@slack/bolt';

/**
 * Proves the Slack wiring end to end: `/lead ping` answers an ephemeral `pong` in the HTTP
 * response itself (no Web API call). Any other `/lead` text is left to the real `/lead` listener,
 * so this can stay registered beside it without acknowledging a request twice.
 *
 * @example
 * registerPing(slack.app); // then `/lead ping` in Slack → "pong", visible only to the caller
 */
export function registerPing(app: App): void {
  app.command('/lead', async ({ command, ack }) => {
    if (command.text.trim().toLowerCase() !== 'ping') return;
    await ack({ response_type: 'ephemeral', text: 'pong' });
  });
}
