import { z } from 'zod';
import type { ErrorIssue } from '../../errors.ts';
import type { MapContext, MapResult } from './common.ts';
import {
  fail,
  idSchema,
  isoFrom,
  isRecord,
  leadOf,
  looseArray,
  looseText,
  metadata,
  normalizeEmail,
  ok,
  optionalObject,
  optionalTimestamp,
  pathOf,
  text,
  utmOf,
  zodIssues,
} from './common.ts';

/** A Typeform webhook body as the mapper reads it (also the source of its OpenAPI schema). */
export const typeformSchema = z.object({
  event_id: idSchema.optional(),
  event_type: z.string(),
  form_response: z.object({
    form_id: looseText,
    token: looseText,
    submitted_at: optionalTimestamp,
    hidden: z
      .record(z.string(), z.unknown())
      .optional()
      .catch(() => undefined),
    calculated: optionalObject({ score: z.number().optional().catch(undefined) }),
    definition: optionalObject({ title: looseText }),
    answers: looseArray,
  }),
});

/** An email offered by the body, with where it sits so a bad one can be pointed at. */
interface EmailCandidate {
  value: unknown;
  path: string;
}

/**
 * Maps a Typeform `form_response` webhook to one `form.submitted` event. The email comes from
 * the hidden `email` field, else the first email answer; one of them is required.
 *
 * @example
 * mapTypeform({ event_id: '01H…', event_type: 'form_response', form_response: { form_id: 'lT4Z3j', token: 'a3a1…', answers: [{ type: 'email', email: 'ada@example.com', field: { ref: 'email' } }] } }, ctx)
 * // events[0]: { id: '01H…', type: 'form.submitted', lead: { email: 'ada@example.com', ids: { typeform_respondent: 'a3a1…' } }, … }
 */
export function mapTypeform(body: unknown, ctx: MapContext): MapResult {
  const eventType = isRecord(body) ? body.event_type : undefined;
  if (eventType !== 'form_response') {
    return fail([
      {
        path: isRecord(body) ? 'event_type' : '(root)',
        message: 'expected a Typeform webhook of event_type form_response',
      },
    ]);
  }
  const parsed = typeformSchema.safeParse(body);
  if (!parsed.success) return fail(zodIssues(parsed.error));
  const response = parsed.data.form_response;
  const hidden = response.hidden ?? {};
  const { lines, emails, phone } = readAnswers(response.answers);
  const candidates: EmailCandidate[] = [
    { value: hidden.email, path: 'form_response.hidden.email' },
    ...emails,
  ].filter((candidate) => text(candidate.value) !== undefined);
  const email = candidates
    .map((candidate) => normalizeEmail(candidate.value))
    .find((found) => found !== null);
  if (email === undefined) return fail([emailIssue(candidates)]);
  return ok([
    {
      id: parsed.data.event_id ?? null,
      type: 'form.submitted',
      source: ctx.source,
      occurredAt: isoFrom(response.submitted_at) ?? ctx.receivedAt.toISOString(),
      lead: leadOf(
        {
          firstName: text(hidden.first_name),
          lastName: text(hidden.last_name),
          company: text(hidden.company),
          phone,
        },
        email,
        { typeform_respondent: response.token },
      ),
      metadata: metadata({
        form_id: response.form_id,
        form_title: response.definition?.title,
        form_type: hidden.form_type,
        score: response.calculated?.score,
        answers: lines.length === 0 ? undefined : lines.join('\n'),
      }),
      utm: utmOf({
        source: hidden.utm_source,
        medium: hidden.utm_medium,
        campaign: hidden.utm_campaign,
        term: hidden.utm_term,
        content: hidden.utm_content,
      }),
    },
  ]);
}

function emailIssue(candidates: EmailCandidate[]): ErrorIssue {
  const first = candidates[0];
  if (first !== undefined) return { path: first.path, message: 'Invalid email address' };
  return {
    path: 'form_response.answers',
    message: 'an email answer or a hidden field named email is required to identify the lead',
  };
}

/**
 * Answers as `ref: value` lines (email answers become candidates for the lead's email instead),
 * plus the first phone answer. File uploads and payments carry nothing a lead desk shows.
 */
function readAnswers(answers: unknown[]): { lines: string[]; emails: EmailCandidate[]; phone?: string } {
  const lines: string[] = [];
  const emails: EmailCandidate[] = [];
  let phone: string | undefined;
  answers.forEach((answer, index) => {
    if (!isRecord(answer)) return;
    if (answer.type === 'email') {
      emails.push({ value: answer.email, path: pathOf('form_response', 'answers', index, 'email') });
      return;
    }
    if (answer.type === 'phone_number') phone ??= text(answer.phone_number);
    const value = answerText(answer);
    if (value === undefined) return;
    const field = isRecord(answer.field) ? answer.field : {};
    lines.push(`${text(field.ref) ?? text(field.id) ?? `answer_${index}`}: ${value}`);
  });
  return { lines, emails, phone };
}

function answerText(answer: Record<string, unknown>): string | undefined {
  switch (answer.type) {
    case 'text':
    case 'date':
    case 'url':
    case 'phone_number':
      return text(answer[answer.type], 2000);
    case 'number':
      return text(answer.number);
    case 'boolean':
      return typeof answer.boolean === 'boolean' ? String(answer.boolean) : undefined;
    case 'choice': {
      const choice = isRecord(answer.choice) ? answer.choice : {};
      return text(choice.label) ?? text(choice.other);
    }
    case 'choices': {
      const choices = isRecord(answer.choices) ? answer.choices : {};
      const labels = Array.isArray(choices.labels) ? choices.labels : [];
      const picked = [...labels, choices.other]
        .map((label) => text(label))
        .filter((label) => label !== undefined);
      return picked.length === 0 ? undefined : picked.join(', ');
    }
    default:
      return undefined;
  }
}
