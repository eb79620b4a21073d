/** Child-process entry of the Slack side (see `startSlackSide` in slack-side.ts). */
import { startFakeSlack } from '../tests/support/fake-slack.ts';
import { type AckSpec, type HotLeadSpec, runAcks, runHotLeads, slackStats } from './slack-probes.ts';
import { SLACK_BOT_TOKEN } from './slack-side.ts';

type Request =
  | { id: number; op: 'hot'; spec: HotLeadSpec }
  | { id: number; op: 'acks'; spec: AckSpec }
  | { id: number; op: 'stats' }
  | { id: number; op: 'close' };

const slack = await startFakeSlack({ token: SLACK_BOT_TOKEN });
process.send?.({ id: 0, ok: true, result: { baseUrl: slack.baseUrl } });

const handle = async (request: Request): Promise<unknown> => {
  switch (request.op) {
    case 'hot':
      return runHotLeads(slack, request.spec);
    case 'acks':
      return runAcks(slack, request.spec);
    case 'stats':
      return slackStats(slack);
    case 'close':
      await slack.close();
      return null;
  }
};

process.on('message', (request: Request) => {
  handle(request).then(
    (result) =>
      process.send?.({ id: request.id, ok: true, result }, () => {
        if (request.op === 'close') process.exit(0);
      }),
    (err: unknown) =>
      process.send?.({ id: request.id, ok: false, error: err instanceof Error ? err.stack : String(err) }),
  );
});
// The parent going away (crash, Ctrl-C) must not leave this process listening.
process.on('disconnect', () => process.exit(0));
