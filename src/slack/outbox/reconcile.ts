import type { SlackApi } from '../../clients/slack-api.ts';

/** The metadata event type every outbox post carries, naming its outbox key. */
export const OUTBOX_METADATA_EVENT = 'leadline_outbox_message';

/** A chat.postMessage payload with the metadata that lets a later try find this post. */
export function withOutboxMetadata(payload: Record<string, unknown>, key: string): Record<string, unknown> {
  return { ...payload, metadata: { event_type: OUTBOX_METADATA_EVENT, event_payload: { key } } };
}

const channelIds = new WeakMap<SlackApi, Map<string, string>>();

/**
 * The post an earlier try of this outbox key made, if Slack has it: a process that died (or a call
 * that timed out) after Slack accepted the message but before its ts was recorded. Looked up in the
 * conversation's recent history by the post's metadata. Null when there is none, or when the
 * conversation cannot be read (then posting again is the only way to deliver at all).
 *
 * @example
 * await findEarlierPost(slack, { key: 'alert:lead:42', channel: '#hot-leads' }, attemptedAt) // { ts: '1733.0001', channel: 'C0HOT' }
 */
export async function findEarlierPost(
  slack: SlackApi,
  row: { key: string; channel: string | null },
  attemptedAt: Date,
): Promise<{ ts: string; channel: string } | null> {
  const channel = row.channel === null ? null : await conversationId(slack, row.channel);
  if (channel === null) return null;
  // A minute of slack for clocks that disagree.
  const oldest = String(Math.floor(attemptedAt.getTime() / 1000) - 60);
  const history = await slack.call('conversations.history', { channel, oldest, include_all_metadata: true, limit: 200 });
  if (!history.ok || !Array.isArray(history.data['messages'])) return null;
  for (const message of history.data['messages'] as Record<string, unknown>[]) {
    const metadata = message['metadata'] as { event_type?: unknown; event_payload?: { key?: unknown } } | undefined;
    if (metadata?.event_type === OUTBOX_METADATA_EVENT && metadata.event_payload?.key === row.key && typeof message['ts'] === 'string') {
      return { ts: message['ts'], channel };
    }
  }
  return null;
}

// History is read by conversation id: a DM's is opened from the user id, a channel name is looked up.
async function conversationId(slack: SlackApi, channel: string): Promise<string | null> {
  if (/^[CGD][A-Z0-9]+$/.test(channel)) return channel;
  if (/^[UW][A-Z0-9]+$/.test(channel)) {
    const opened = await slack.call('conversations.open', { users: channel });
    const id = opened.ok ? (opened.data['channel'] as { id?: unknown } | undefined)?.id : undefined;
    return typeof id === 'string' ? id : null;
  }
  if (!channel.startsWith('#')) return null;
  let known = channelIds.get(slack);
  if (known === undefined) {
    known = new Map();
    channelIds.set(slack, known);
  }
  if (!known.has(channel)) {
    for (let cursor = '', page = 0; page < 20; page += 1) {
      const listed = await slack.call('conversations.list', { types: 'public_channel,private_channel', exclude_archived: true, limit: 1000, cursor });
      if (!listed.ok) return null;
      for (const c of (listed.data['channels'] as { id?: unknown; name?: unknown }[] | undefined) ?? []) {
        if (typeof c.id === 'string' && typeof c.name === 'string') known.set(`#${c.name}`, c.id);
      }
      cursor = String((listed.data['response_metadata'] as { next_cursor?: unknown } | undefined)?.next_cursor ?? '');
      if (cursor === '') break;
    }
  }
  return known.get(channel) ?? null;
}
