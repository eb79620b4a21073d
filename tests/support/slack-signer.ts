/**
 * Sign requests exactly as Slack does and build realistic request bodies, so transport tests go
 * through Bolt's real verification and parsing. Bodies are the exact strings to send, with
 * `content-type: application/x-www-form-urlencoded` (Slack's content type for commands and
 * interactions; Bolt compares it exactly, without parameters).
 */
import { createHmac } from 'node:crypto';

export const FORM = 'application/x-www-form-urlencoded';

/** Ids in Slack's shapes for one fictional workspace. */
export const SLACK_IDS = {
  team: 'T0LEADLINE',
  teamDomain: 'acme-sales',
  appId: 'A0LEADLINE',
  user: 'U024BE7LH',
  channel: 'C0ROUTING1',
  botUser: 'U0LEADBOT',
} as const;

/**
 * Slack's v0 signature: hex HMAC-SHA256 of `v0:{timestamp}:{body}` keyed by the signing secret.
 * `timestamp` is unix seconds.
 *
 * @example
 * const headers = signSlackRequest({ signingSecret, body, timestamp: Math.floor(Date.now() / 1000) });
 * // { 'x-slack-signature': 'v0=5f1c…', 'x-slack-request-timestamp': '1763…' }
 */
export function signSlackRequest(input: {
  signingSecret: string;
  body: string;
  timestamp: number;
}): Record<string, string> {
  const timestamp = String(input.timestamp);
  const mac = createHmac('sha256', input.signingSecret).update(`v0:${timestamp}:${input.body}`);
  return { 'x-slack-signature': `v0=${mac.digest('hex')}`, 'x-slack-request-timestamp': timestamp };
}

/**
 * A slash command as Slack posts it (form fields).
 *
 * @example
 * slashCommandBody({ command: '/lead', text: 'ping' })
 * // 'token=…&team_id=T0LEADLINE&…&command=%2Flead&text=ping&…'
 */
// Slack gives every interaction its own trigger id, action_ts and view id; a retry resends the
// same body. Counters keep test interactions distinct the same way.
let interactions = 0;
const nextInteraction = () => (interactions += 1);

export function slashCommandBody(input: {
  command: string;
  text: string;
  userId?: string;
  channelId?: string;
  responseUrl?: string;
  triggerId?: string;
}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: SLACK_IDS.team,
    team_domain: SLACK_IDS.teamDomain,
    channel_id: input.channelId ?? SLACK_IDS.channel,
    channel_name: 'lead-routing',
    user_id: input.userId ?? SLACK_IDS.user,
    user_name: 'dana.sales',
    command: input.command,
    text: input.text,
    api_app_id: SLACK_IDS.appId,
    is_enterprise_install: 'false',
    response_url: input.responseUrl ?? `https://hooks.slack.com/commands/${SLACK_IDS.team}/1/abc`,
    trigger_id: input.triggerId ?? `1337.4242.c${nextInteraction()}`,
  }).toString();
}

/**
 * A `block_actions` interaction (a button press on a message): form field `payload` holding JSON.
 *
 * @example
 * blockActionsBody({ actionId: 'lead.claim', value: 'lead_42', messageTs: '1763640000.000100' })
 */
export function blockActionsBody(input: {
  userId?: string;
  actionId: string;
  value: string;
  blockId?: string;
  messageTs: string;
  channelId?: string;
  responseUrl?: string;
  triggerId?: string;
  actionTs?: string;
}): string {
  const n = nextInteraction();
  const channelId = input.channelId ?? SLACK_IDS.channel;
  const userId = input.userId ?? SLACK_IDS.user;
  const blockId = input.blockId ?? 'lead-actions';
  const payload = {
    type: 'block_actions',
    user: { id: userId, username: 'dana.sales', name: 'dana.sales', team_id: SLACK_IDS.team },
    api_app_id: SLACK_IDS.appId,
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: input.messageTs, channel_id: channelId, is_ephemeral: false },
    trigger_id: input.triggerId ?? `1337.4242.a${n}`,
    team: { id: SLACK_IDS.team, domain: SLACK_IDS.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channelId, name: 'lead-routing' },
    message: {
      type: 'message',
      user: SLACK_IDS.botUser,
      ts: input.messageTs,
      text: 'New lead',
      blocks: [],
    },
    state: { values: {} },
    response_url: input.responseUrl ?? `https://hooks.slack.com/actions/${SLACK_IDS.team}/1/def`,
    actions: [
      {
        action_id: input.actionId,
        block_id: blockId,
        text: { type: 'plain_text', text: 'Claim', emoji: true },
        value: input.value,
        type: 'button',
        action_ts: input.actionTs ?? `1763640100.${String(n).padStart(6, '0')}`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/**
 * A `view_submission` (a modal's submit button). `values` is `state.values`:
 * `{ [blockId]: { [actionId]: { type, value } } }`.
 *
 * @example
 * viewSubmissionBody({ callbackId: 'lead.handover', values: { note: { note_input: { type: 'plain_text_input', value: 'Call Friday' } } }, privateMetadata: '{"leadId":"lead_42"}' })
 */
export function viewSubmissionBody(input: {
  userId?: string;
  callbackId: string;
  values: Record<string, Record<string, Record<string, unknown>>>;
  privateMetadata?: string;
  viewId?: string;
}): string {
  const n = nextInteraction();
  const payload = {
    type: 'view_submission',
    team: { id: SLACK_IDS.team, domain: SLACK_IDS.teamDomain },
    user: {
      id: input.userId ?? SLACK_IDS.user,
      username: 'dana.sales',
      name: 'dana.sales',
      team_id: SLACK_IDS.team,
    },
    api_app_id: SLACK_IDS.appId,
    token: 'deprecated-verification-token',
    trigger_id: `1337.4242.v${n}`,
    view: {
      id: input.viewId ?? `V0MODAL${String(n).padStart(4, '0')}`,
      team_id: SLACK_IDS.team,
      type: 'modal',
      callback_id: input.callbackId,
      private_metadata: input.privateMetadata ?? '',
      title: { type: 'plain_text', text: 'Leadline' },
      blocks: [],
      state: { values: input.values },
      hash: '1763640200.aBcDeF',
      root_view_id: 'V0MODAL001',
      app_id: SLACK_IDS.appId,
      bot_id: 'B0LEADBOT',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
