import type { IncomingMessage } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { Logger } from '../log.ts';

/**
 * What stands between a request to `/slack/events` and Bolt. Bolt trusts that a correctly signed
 * body has Slack's shape: a signed `null` makes its receiver read `null.ssl_check` outside any
 * handler (the process exits), `{"actions":null}` or a `user` that is not an object throws inside
 * its dispatch (a 500). So the body is read here, checked for the fields Bolt reads, and only
 * then handed over, already buffered. Bolt's own checks (signature, timestamps) still run after.
 */

/** Larger than any payload Slack sends (a full modal's state is well under 1 MiB). */
export const SLACK_BODY_LIMIT_BYTES = 5 * 1024 * 1024;

/** Reads the whole body, or null once it passes `limit` (the rest is drained, not kept). */
export async function readSlackBody(req: IncomingMessage, limit = SLACK_BODY_LIMIT_BYTES): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? null : Buffer.concat(chunks);
}

const object = z.looseObject({});
const optionalObject = object.nullish();
const withUser = { user: z.looseObject({ id: z.string() }), team: optionalObject, enterprise: optionalObject, channel: optionalObject };

// What Bolt's dispatch reads, per kind of request, in the order Bolt tells them apart
// (`getTypeAndConversation`, `buildSource` and the built-in middleware).
const eventBody = z.looseObject({
  event: z.looseObject({
    type: z.string(),
    item: object.optional(),
    // A user id, or (user_change) the whole user; a channel id, or (some events) the channel.
    user: z.union([z.string(), object]).optional(),
    channel: z.union([z.string(), object]).optional(),
  }),
  authorizations: z.array(object).optional(),
});
// Slack always sends these with a command (text may be empty).
const commandBody = z.looseObject({
  command: z.string().min(1),
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  text: z.string(),
});
const actionBody = z.looseObject({
  ...withUser,
  actions: z.array(z.looseObject({ action_id: z.string().optional(), type: z.string().optional() })).optional(),
  container: optionalObject,
  message: optionalObject,
  view: optionalObject,
});
const viewBody = z.looseObject({
  ...withUser,
  view: z.looseObject({ id: z.string(), callback_id: z.string().optional(), state: optionalObject }),
});

/**
 * Why a body Bolt would parse cannot be handed to it, or null when it can (or when Bolt itself
 * will refuse it: unparseable text is Bolt's to answer, after its signature check).
 *
 * @example
 * slackBodyProblem(Buffer.from('null'), 'application/json') // 'the body must be a JSON object'
 * slackBodyProblem(Buffer.from('{"type":"block_actions","user":null}'), 'application/json') // 'user: …'
 */
export function slackBodyProblem(raw: Buffer, contentType: string | undefined): string | null {
  let body: unknown;
  try {
    body = parseLikeBolt(raw.toString('utf8'), contentType);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const record = body as Record<string, unknown>;
  const schema = schemaFor(record);
  if (schema === null) return null;
  const parsed = schema.safeParse(record);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0]!;
  return `${issue.path.join('.') || '(root)'}: ${issue.message}`;
}

function schemaFor(body: Record<string, unknown>): z.ZodType | null {
  if (body['ssl_check'] !== undefined || body['type'] === 'url_verification') return null;
  if (body['event'] !== undefined) return eventBody;
  if (body['command'] !== undefined) return commandBody;
  if (body['type'] === 'view_submission' || body['type'] === 'view_closed') return viewBody;
  const interactive = ['block_actions', 'block_suggestion', 'dialog_submission', 'shortcut', 'message_action', 'interactive_message'];
  if (body['actions'] !== undefined || body['name'] !== undefined || interactive.includes(String(body['type']))) {
    return actionBody;
  }
  return null;
}

// Bolt's `parseHTTPRequestBody`: form bodies carry the JSON in `payload`, or are the fields.
function parseLikeBolt(text: string, contentType: string | undefined): unknown {
  if (contentType === 'application/x-www-form-urlencoded') {
    const fields = parseQuery(text);
    return typeof fields['payload'] === 'string' ? JSON.parse(fields['payload']) : { ...fields };
  }
  return JSON.parse(text);
}

/**
 * Acknowledges what no listener did, as soon as Bolt has run every listener that matched: an
 * event or interaction Leadline does not handle gets its 200 at once rather than after the ack
 * deadline, and a command whose listener never answered gets `commandFailed` (Slack shows it).
 *
 * @example
 * acknowledgeLeftovers(app, log, { response_type: 'ephemeral', text: COMMAND_FAILED_TEXT });
 */
export function acknowledgeLeftovers(app: App, log: Logger, commandFailed: Record<string, unknown>): void {
  const processEvent = app.processEvent.bind(app);
  app.processEvent = async (event) => {
    let acked = false;
    const ack: typeof event.ack = async (response) => {
      acked = true;
      await event.ack(response);
    };
    await processEvent({ ...event, ack });
    if (acked) return;
    const body = event.body as Record<string, unknown>;
    const command = typeof body['command'] === 'string';
    log.warn({ type: body['type'], command: body['command'] }, 'no listener acknowledged this Slack request; acknowledged for it');
    try {
      await event.ack(command ? commandFailed : undefined);
    } catch (err) {
      // The ack deadline answered already.
      log.debug({ err }, 'Slack request was answered before its leftover ack');
    }
  };
}
