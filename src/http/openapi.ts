import { Scalar } from '@scalar/hono-api-reference';
import type { Hono } from 'hono';
import { z } from 'zod';
import { MAX_EVENTS_PER_DELIVERY, nativeBodySchema, nativeEventSchema } from '../engine/event.ts';
import { calendlySchema } from '../engine/mappers/calendly.ts';
import { subscriptionEventSchema, workflowContactSchema } from '../engine/mappers/hubspot.ts';
import { activitySchema } from '../engine/mappers/lemlist.ts';
import { entitySchema, paymentSchema, personSchema } from '../engine/mappers/moco.ts';
import { typeformSchema } from '../engine/mappers/typeform.ts';
import { ERROR_CODES } from '../errors.ts';
import type { AppEnv } from './env.ts';
import {
  IMPORT_EXAMPLE_CSV,
  STANDARD_SIGNATURE_EXAMPLE,
  standardSignature,
  TOKEN_WEBHOOK_EXAMPLES,
  WEBHOOK_EXAMPLES,
} from './openapi-examples.ts';
import { MAX_WEBHOOK_BYTES } from './webhooks.ts';

type Json = Record<string, unknown>;

/**
 * `GET /openapi.json` (the document, built once from the zod schemas) and `GET /docs` (Scalar's
 * reference page, which loads its script from the jsDelivr CDN and reads /openapi.json).
 *
 * @example
 * mountApiDocs(app);
 * // curl https://…/openapi.json | jq '.paths | keys'
 */
export function mountApiDocs(app: Hono<AppEnv>): void {
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  app.get('/docs', Scalar<AppEnv>({ url: '/openapi.json', pageTitle: 'Leadline API reference' }));
}

let built: Json | undefined;

/** The OpenAPI 3.1 document of the webhook, import and health API (built on first use, then kept). */
export function openApiDocument(): Json {
  built ??= buildDocument();
  return built;
}

function buildDocument(): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'Leadline webhook and import API', version: '1', description: INTRO },
    tags: [
      { name: 'webhooks', description: 'Signed deliveries from marketing and sales tools' },
      { name: 'imports', description: 'Bulk CSV imports through the same durable intake' },
      { name: 'health', description: 'Liveness and readiness for load balancers' },
    ],
    paths: {
      '/webhooks/{source}': { post: webhookOperation(false) },
      '/webhooks/{source}/{token}': { post: webhookOperation(true) },
      '/imports': { post: importOperation() },
      '/healthz': { get: healthOperation('healthz') },
      '/readyz': { get: healthOperation('readyz') },
    },
    components: { schemas: schemaComponents(), securitySchemes: SECURITY_SCHEMES, parameters: PARAMETERS },
  };
}

// ── Schemas: the mappers' own zod schemas, as senders write them (zod's `io: 'input'`) ──────────

const issueSchema = z.object({ path: z.string(), message: z.string() });
const errorBodySchema = z.object({
  error: z.enum(ERROR_CODES).describe('stable machine-readable code'),
  message: z.string(),
  issues: z.array(issueSchema).optional().describe('field problems, with dotted paths into the body'),
});
const acceptedSchema = z.object({
  accepted: z.int().describe('new events stored'),
  duplicates: z.int().describe('events already known (their original ids are in `ids`)'),
  ignored: z.int().describe('items the format reads but Leadline has no lead for (e.g. HubSpot deal events)'),
  ids: z.array(z.string()).describe('intake ids, in body order'),
});
const parkedSchema = z.object({
  accepted: z.literal(0),
  parked: z.string().describe('id in invalid_deliveries (`npm run deliveries:parked`)'),
  reason: z.string(),
  detail: z.string(),
});
const importSummarySchema = z.object({
  rows: z.int(),
  accepted: z.int(),
  duplicates: z.int(),
  rejected: z.int(),
  errors: z.array(z.object({ line: z.int(), issues: z.array(issueSchema) })),
  errorsOmitted: z.int(),
});
const lemlistActivitySchema = activitySchema.extend({
  secret: z.string().describe('the secret chosen when the hook was created; checked, never stored'),
});
const mocoEntitySchema = entitySchema.extend({ person: personSchema.optional(), contact: personSchema.optional() });

function schemaComponents(): Json {
  // The registry names the components (and turns reuse into $refs); descriptions are added after,
  // because metadata is read from zod's global registry, where `.describe()` puts field notes.
  const registry = z.registry<{ id: string }>();
  const descriptions = new Map<string, string>();
  const add = (schema: z.ZodType, id: string, description?: string) => {
    registry.add(schema, { id });
    if (description !== undefined) descriptions.set(id, description);
  };
  add(nativeEventSchema, 'NativeEvent', 'One event. `lead` needs an `email` or at least one id in `lead.ids`.');
  add(nativeBodySchema, 'NativeBody', `Format \`native\` (sources with scheme \`standard\` or \`url-token\`): one event, or \`{"events": [...]}\` with up to ${MAX_EVENTS_PER_DELIVERY}.`);
  add(subscriptionEventSchema, 'HubSpotSubscriptionEvent');
  add(workflowContactSchema, 'HubSpotWorkflowContact', 'A workflow "Send a webhook" body: becomes `form.submitted` (or `crm.deal_won` / `crm.deal_lost` with a closed `dealstage`). Needs an email or a contact id.');
  add(z.union([z.array(subscriptionEventSchema).min(1).max(MAX_EVENTS_PER_DELIVERY), workflowContactSchema]), 'HubSpotBody', 'Format `hubspot`: an array of subscription events (only `contact.*` reach the engine; others count as ignored) or one workflow contact.');
  add(calendlySchema, 'CalendlyBody', 'Format `calendly`: `invitee.created` → `meeting.booked`, `invitee.canceled` → `meeting.canceled`.');
  add(typeformSchema, 'TypeformBody', 'Format `typeform`: `form_response` → `form.submitted`; the email comes from the hidden field `email` or the first email answer.');
  add(lemlistActivitySchema, 'LemlistActivity');
  add(z.union([lemlistActivitySchema, z.array(lemlistActivitySchema).min(1).max(MAX_EVENTS_PER_DELIVERY)]), 'LemlistBody', 'Format `lemlist`: one activity or an array. `emailsOpened` → `email.opened`, `linkedinInviteAccepted` → `linkedin.connected`, `interested` → `lead.interested`, …; other types become `lemlist.<type>`.');
  add(mocoEntitySchema, 'MocoEntity', 'A contact, deal or offer (`X-Moco-Target`). Deals and offers need a `person` (offers: `contact`) to name a lead.');
  add(paymentSchema, 'MocoInvoicePayment', '`X-Moco-Target: Invoice::Payment`: applied to the deal holding the invoice.');
  add(z.union([mocoEntitySchema, paymentSchema]), 'MocoBody', 'Format `moco`: the entity MOCO changed; the event type is `moco.<target>_<event>ed` from the headers.');
  add(errorBodySchema, 'ErrorBody', 'Every error answer (src/http/errors.ts).');
  add(acceptedSchema, 'WebhookAccepted');
  add(parkedSchema, 'WebhookParked', 'A delivery from an `on_invalid: park` source that could not be read: stored for inspection, header `Leadline-Parked`.');
  add(importSummarySchema, 'ImportSummary');
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ zodSchema, jsonSchema }) => optionalWhereAccepted(zodSchema, jsonSchema),
  });
  // Components are named by their key; a fragment-only `$id` is not a valid 2020-12 id.
  const components: Json = {};
  for (const [id, generated] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...schema } = generated as Json;
    components[id] = { title: id, ...(descriptions.has(id) ? { description: descriptions.get(id) } : {}), ...schema };
  }
  return components;
}

/**
 * A field is required only when the real schema refuses it absent. Zod cannot see that a
 * preprocess (`looseArray`: anything not an array counts as empty) accepts a missing value.
 */
function optionalWhereAccepted(zodSchema: z.core.$ZodType, jsonSchema: { required?: string[] }): void {
  if (!(zodSchema instanceof z.ZodObject) || jsonSchema.required === undefined) return;
  const shape = zodSchema.shape as Record<string, z.ZodType>;
  const required = jsonSchema.required.filter((key) => shape[key]?.safeParse(undefined).success !== true);
  if (required.length > 0) jsonSchema.required = required;
  else delete jsonSchema.required;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

// ── Security: one scheme per signing method (README, "Receiving events") ─────────────────────────

const WORKED_SIGNATURE = standardSignature(STANDARD_SIGNATURE_EXAMPLE);

const SECURITY_SCHEMES: Json = {
  StandardWebhooks: apiKey('webhook-signature', `Scheme \`standard\` (Standard Webhooks / Svix; \`svix-*\` header names work too). Send \`webhook-id\`, \`webhook-timestamp\` (unix seconds, within ±5 minutes) and \`webhook-signature: v1,<base64>\`: HMAC-SHA256, keyed with the base64-decoded part of the \`whsec_\` secret, over \`{webhook-id}.{webhook-timestamp}.{raw body}\`. Several space-separated \`v1,…\` entries are allowed (key rotation).`),
  HubSpotV3: apiKey('X-HubSpot-Signature-v3', 'Scheme `hubspot-v3`: base64 HMAC-SHA256 with the app\'s client secret over `method + full URL + raw body + X-HubSpot-Request-Timestamp` (epoch ms, within ±5 minutes).'),
  Calendly: apiKey('Calendly-Webhook-Signature', 'Scheme `calendly`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">` with the webhook signing key; `t` within ±5 minutes.'),
  Typeform: apiKey('Typeform-Signature', 'Scheme `typeform`: `sha256=<base64 HMAC-SHA256 of the raw body>` with the form\'s webhook secret. No timestamp is signed.'),
  Moco: apiKey('X-Moco-Signature', 'Scheme `moco`: lowercase hex HMAC-SHA256 of the raw body with the hook\'s key. MOCO\'s timestamp header is not signed.'),
  UrlToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'Scheme `url-token` (RB2B and senders that cannot sign): the source\'s secret as `?token=`, or as the last path segment (`/webhooks/{source}/{token}`).',
  },
  ImportToken: { type: 'http', scheme: 'bearer', description: '`LEADLINE_IMPORT_TOKEN`; unset turns imports off (503).' },
};

function apiKey(name: string, description: string): Json {
  return { type: 'apiKey', in: 'header', name, description };
}

const header = (name: string, description: string, example?: string) => ({
  name,
  in: 'header',
  required: false,
  description,
  schema: { type: 'string' },
  ...(example === undefined ? {} : { example }),
});

const PARAMETERS: Json = {
  Source: { name: 'source', in: 'path', required: true, description: 'a `sources:` entry of the ruleset (default: website, hubspot, calendly, typeform, lemlist, moco, rb2b)', schema: { type: 'string' } },
  Token: { name: 'token', in: 'path', required: true, description: 'the source\'s secret (scheme `url-token` only)', schema: { type: 'string' } },
  WebhookId: header('webhook-id', 'scheme `standard`: the delivery id, also the idempotency key', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W'),
  WebhookTimestamp: header('webhook-timestamp', 'scheme `standard`: unix seconds, within ±5 minutes', '1763630100'),
  HubSpotTimestamp: header('X-HubSpot-Request-Timestamp', 'scheme `hubspot-v3`: epoch milliseconds, within ±5 minutes'),
  MocoTarget: header('X-Moco-Target', 'format `moco`: the entity (`Contact`, `Deal`, `Offer`, `Invoice::Payment`, `Company`)', 'Deal'),
  MocoEvent: header('X-Moco-Event', 'format `moco`: what happened (`create`, `update`, `delete`, `archive`)', 'update'),
  MocoTimestamp: header('X-Moco-Timestamp', 'format `moco`: epoch milliseconds; used as the event time'),
};

const paramRef = (name: string) => ({ $ref: `#/components/parameters/${name}` });

// ── Operations ─────────────────────────────────────────────────────────────────────────────────

function errorResponse(description: string, codes: readonly string[], retryAfter = false): Json {
  return {
    description: `${description} (\`error\`: ${codes.map((code) => `\`${code}\``).join(', ')})`,
    ...(retryAfter ? { headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } } } : {}),
    content: { 'application/json': { schema: ref('ErrorBody') } },
  };
}

function webhookOperation(withToken: boolean): Json {
  const formats = ['NativeBody', 'HubSpotBody', 'CalendlyBody', 'TypeformBody', 'LemlistBody', 'MocoBody'];
  return {
    tags: ['webhooks'],
    operationId: withToken ? 'receiveWebhookWithToken' : 'receiveWebhook',
    summary: withToken ? 'Receive a delivery with the secret in the URL' : 'Receive a signed delivery',
    description: withToken
      ? 'For `url-token` sources only (RB2B): the path\'s last segment is the source\'s secret. Otherwise the same as `POST /webhooks/{source}`.'
      : `The signature is checked over the raw bytes, the body mapped by the source's \`format\` and stored with its processing job before the answer. Bodies up to ${MAX_WEBHOOK_BYTES} bytes. Lemlist sources prove themselves with the \`secret\` in every activity instead of a header.`,
    parameters: withToken
      ? [paramRef('Source'), paramRef('Token')]
      : ['Source', 'WebhookId', 'WebhookTimestamp', 'HubSpotTimestamp', 'MocoTarget', 'MocoEvent', 'MocoTimestamp'].map(paramRef),
    security: withToken
      ? [{}]
      : [{ StandardWebhooks: [] }, { HubSpotV3: [] }, { Calendly: [] }, { Typeform: [] }, { Moco: [] }, { UrlToken: [] }, {}],
    requestBody: {
      required: true,
      description: withToken
        ? 'Format `native` (the format of `url-token` sources).'
        : 'One body per payload format; the source\'s `format` (by default its scheme\'s) decides which applies.',
      content: {
        'application/json': {
          schema: withToken ? ref('NativeBody') : { anyOf: formats.map(ref) },
          examples: withToken ? TOKEN_WEBHOOK_EXAMPLES : WEBHOOK_EXAMPLES,
        },
      },
    },
    responses: webhookResponses(),
  };
}

function webhookResponses(): Json {
  return {
    202: {
      description: 'Stored with its processing jobs (or, for an `on_invalid: park` source, parked: header `Leadline-Parked`).',
      headers: { 'Leadline-Parked': { description: 'set when the delivery was parked: the reason', schema: { type: 'string' } } },
      content: { 'application/json': { schema: { anyOf: [ref('WebhookAccepted'), ref('WebhookParked')] } } },
    },
    200: { description: 'Every event was already known; the original ids come back.', content: { 'application/json': { schema: ref('WebhookAccepted') } } },
    400: errorResponse('The body is not JSON or does not validate; `issues` name the field paths', ['invalid_json', 'invalid_payload']),
    401: errorResponse('The signature did not verify; nothing was stored', ['signature_missing', 'signature_invalid', 'signature_stale']),
    404: errorResponse('No such source in the ruleset', ['unknown_source']),
    413: errorResponse(`Body over ${MAX_WEBHOOK_BYTES} bytes`, ['payload_too_large']),
    429: errorResponse('The source\'s `rate_limit` is used up (counted after the signature)', ['rate_limited'], true),
    503: errorResponse('The source has no secret configured, or storage is unreachable', ['source_not_configured', 'database_unavailable'], true),
  };
}

function importOperation(): Json {
  return {
    tags: ['imports'],
    operationId: 'importCsv',
    summary: 'Import leads from a CSV file',
    description: 'Header row first. Known columns (`id`, `type`, `occurred_at`, `email`, `first_name`, `last_name`, `name`, `company`, `title`, `phone`, `country`, `region`, `website`, `hubspot_id`, `lemlist_id`, `linkedin_url`, `crm_id`, `utm_*`) match case-insensitively; other columns become `metadata.<header>`. Rows are stored in batches; bad rows are reported by line. `type` defaults to `lead.imported`.',
    security: [{ ImportToken: [] }],
    parameters: [{ name: 'source', in: 'query', required: false, description: 'source name stored on every row (default `csv`)', schema: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,62}$', default: 'csv' } }],
    requestBody: {
      required: true,
      content: { 'text/csv': { schema: { type: 'string' }, examples: { leads: { summary: 'two leads from a trade fair', value: IMPORT_EXAMPLE_CSV } } } },
    },
    responses: {
      202: { description: 'Every batch committed; something new was stored.', content: { 'application/json': { schema: ref('ImportSummary') } } },
      200: { description: 'Every batch committed; nothing new (a re-upload).', content: { 'application/json': { schema: ref('ImportSummary') } } },
      400: errorResponse('The source name is unusable, or the file is (batches before the problem stay stored; the body also carries the summary)', ['invalid_source', 'invalid_csv']),
      401: errorResponse('Missing or wrong bearer token', ['unauthorized']),
      415: errorResponse('Not a CSV media type', ['unsupported_media_type']),
      503: errorResponse('Imports are off (no token configured), or storage is unreachable', ['imports_not_configured', 'database_unavailable'], true),
    },
  };
}

function healthOperation(which: 'healthz' | 'readyz'): Json {
  const status = (values: string[]) => ({ type: 'string', enum: values });
  if (which === 'healthz') {
    return {
      tags: ['health'],
      operationId: 'healthz',
      summary: 'The process is alive',
      responses: { 200: { description: 'alive', content: { 'application/json': { schema: { type: 'object', properties: { status: status(['ok']) }, required: ['status'] } } } } },
    };
  }
  const body = {
    type: 'object',
    properties: { status: status(['ready', 'unavailable', 'shutting_down']), database: status(['ok', 'down']), queue: status(['ok', 'down']) },
    required: ['status'],
  };
  return {
    tags: ['health'],
    operationId: 'readyz',
    summary: 'Database and job queue answer',
    responses: {
      200: { description: 'ready', content: { 'application/json': { schema: body } } },
      503: { description: 'not ready, or shutting down', content: { 'application/json': { schema: body } } },
    },
  };
}

// ── The introduction: signing per scheme and a worked Standard Webhooks signature ─────────────────

const WORKED = STANDARD_SIGNATURE_EXAMPLE;
const INTRO = `Leadline receives signed webhooks at \`POST /webhooks/{source}\` and CSV files at \`POST /imports\`. An answer of 202 (or 200 for duplicates) comes only after the events and their processing jobs are committed.

## Signing, per scheme

Every source in the ruleset names a signing scheme; signatures cover the **raw body bytes** as sent.

| scheme | headers | signed |
| --- | --- | --- |
| \`standard\` | \`webhook-id\`, \`webhook-timestamp\`, \`webhook-signature\` | \`v1,\` base64 HMAC-SHA256 of \`{id}.{timestamp}.{body}\`, key = base64-decoded \`whsec_\` secret; ±5 min |
| \`hubspot-v3\` | \`X-HubSpot-Signature-v3\`, \`X-HubSpot-Request-Timestamp\` | base64 HMAC-SHA256 of method + URL + body + timestamp (ms); ±5 min |
| \`calendly\` | \`Calendly-Webhook-Signature: t=…,v1=…\` | hex HMAC-SHA256 of \`{t}.{body}\`; ±5 min |
| \`typeform\` | \`Typeform-Signature: sha256=…\` | base64 HMAC-SHA256 of the body |
| \`moco\` | \`X-Moco-Signature\` | hex HMAC-SHA256 of the body |
| \`lemlist\` | none | the hook's \`secret\` echoed in every activity (never stored) |
| \`url-token\` | none | \`/webhooks/{source}/{token}\` or \`?token=\` |

## Worked example: a Standard Webhooks signature

Secret \`${WORKED.secret}\`, \`webhook-id: ${WORKED.id}\`, \`webhook-timestamp: ${WORKED.timestamp}\`, body (exact bytes):

\`\`\`
${WORKED.body}
\`\`\`

1. Key: base64-decode the part after \`whsec_\` (\`${WORKED.secret.slice('whsec_'.length)}\`), giving ${Buffer.from(WORKED.secret.slice('whsec_'.length), 'base64').length} bytes.
2. Signed content: \`${WORKED.id}.${WORKED.timestamp}.\` followed by the body.
3. HMAC-SHA256 of the content with the key, base64-encoded, prefixed \`v1,\`:

\`\`\`
webhook-signature: ${WORKED_SIGNATURE}
\`\`\`

The same with a shell:

\`\`\`sh
key=$(printf '%s' '${WORKED.secret.slice('whsec_'.length)}' | base64 -d | xxd -p -c 256)
printf '%s' '${WORKED.id}.${WORKED.timestamp}.${WORKED.body}' \\
  | openssl dgst -sha256 -mac HMAC -macopt hexkey:$key -binary | base64
\`\`\`

A real delivery must use the current time: timestamps more than 5 minutes away are refused as \`signature_stale\`.`;
