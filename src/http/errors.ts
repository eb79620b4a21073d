import type { ErrorCode, ErrorIssue } from '../errors.ts';

/**
 * The JSON body of every error Leadline's HTTP edge answers: a stable code from ERROR_CODES, a
 * reason, field issues.
 *
 * @example
 * errorBody('unknown_source', 'no such webhook source') // { error: 'unknown_source', message: 'no such webhook source' }
 */
export function errorBody(code: ErrorCode, message: string, issues?: readonly ErrorIssue[]) {
  return issues === undefined || issues.length === 0
    ? { error: code, message }
    : { error: code, message, issues };
}
