/**
 * The one error type Leadline throws on purpose. `code` is stable and machine-readable;
 * `status` is the HTTP status an edge should answer with when the error reaches it.
 *
 * @example
 * throw new LeadlineError('invalid_payload', 'events.0.lead.email: Invalid email address', { status: 400 });
 */
export type ErrorCode =
  | 'config_invalid'
  | 'ruleset_invalid'
  | 'unknown_source'
  | 'signature_missing'
  | 'signature_invalid'
  | 'signature_stale'
  | 'payload_too_large'
  | 'invalid_json'
  | 'invalid_payload'
  | 'database_unavailable'
  | 'migration_checksum_mismatch'
  | 'migration_failed'
  | 'job_payload_invalid'
  | 'not_found'
  | 'forbidden'
  | 'upstream_failed'
  | 'upstream_rate_limited'
  | 'automation_action_failed';

export interface ErrorIssue {
  path: string;
  message: string;
}

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
