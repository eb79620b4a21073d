import type { ErrorIssue } from '../errors.ts';

/** The JSON body of every error Leadline's HTTP edge answers: a stable code, a reason, field issues. */
export function errorBody(code: string, message: string, issues?: readonly ErrorIssue[]) {
  return issues === undefined || issues.length === 0
    ? { error: code, message }
    : { error: code, message, issues };
}
