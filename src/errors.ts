/**
 * Leadline's error vocabulary: every `LeadlineError` code and every `error` an HTTP answer carries.
 * Codes are snake_case and stable; clients match on them, so rename none and add sparingly.
 */
export const ERROR_CODES = [
  // Startup: configuration, ruleset, storage.
  'config_invalid',
  'ruleset_invalid',
  'database_unavailable',
  'migration_checksum_mismatch',
  'migration_failed',
  // Webhook and import edge: who is asking, what they sent.
  'unknown_source',
  'source_not_configured',
  'invalid_source',
  'imports_not_configured',
  'unauthorized',
  'forbidden',
  'signature_missing',
  'signature_invalid',
  'signature_stale',
  'unsupported_media_type',
  'payload_too_large',
  'invalid_json',
  'invalid_payload',
  'invalid_csv',
  // A source sent more than its ruleset `rate_limit` allows; Retry-After says when to send again.
  'rate_limited',
  // Work on stored state: jobs, lookups, outbound calls, automation.
  'job_payload_invalid',
  'not_found',
  // A change the stored state does not allow (a closed deal moved, an owner given to a won deal).
  'invalid_state',
  'upstream_failed',
  'upstream_rate_limited',
  // MOCO's circuit breaker is open: no call was made; the sync is retried after the pause.
  'moco_paused',
  // MOCO refused Leadline's key (401/403): syncing stops until an admin fixes it.
  'moco_unauthorized',
  // MOCO refused a request as invalid (422 and other 4xx); the message is MOCO's, retrying will not help.
  'moco_rejected',
  'automation_action_failed',
  // Leadline's own fault: a state the code rules out, or anything unexpected at the edge.
  'invariant_broken',
  'internal_error',
] as const;

/** Every code Leadline throws or answers with; see {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorIssue {
  path: string;
  message: string;
}

/**
 * The one error type Leadline throws on purpose. `code` is stable and machine-readable;
 * `status` is the HTTP status an edge should answer with when the error reaches it.
 *
 * @example
 * throw new LeadlineError('invalid_payload', 'events.0.lead.email: Invalid email address', { status: 400 });
 */
export class LeadlineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly issues: readonly ErrorIssue[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { status?: number; issues?: readonly ErrorIssue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LeadlineError';
    this.code = code;
    this.status = options.status ?? 500;
    this.issues = options.issues ?? [];
  }
}

/** True when `err` is a LeadlineError with the given code (or any code when omitted). */
export function isLeadlineError(err: unknown, code?: ErrorCode): err is LeadlineError {
  return err instanceof LeadlineError && (code === undefined || err.code === code);
}

/**
 * Turns zod-style issues into `path: reason` pairs with dotted paths.
 *
 * @example
 * formatIssues([{ path: ['events', 0, 'type'], message: 'Required' }]) // [{ path: 'events.0.type', message: 'Required' }]
 */
export function formatIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  prefix = '',
): ErrorIssue[] {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part !== '').join('.');
    return { path: path === '' ? '(root)' : path, message: issue.message };
  });
}
