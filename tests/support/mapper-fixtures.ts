import { paymentOf } from '../../src/engine/deals.ts';
import { expect } from 'vitest';
import type { LeadlineEvent } from '../../src/engine/event.ts';
import { eventTypeSchema, IDENTITY_KINDS } from '../../src/engine/event.ts';
import type { MapContext, PayloadFormat } from '../../src/engine/mappers/index.ts';
import { mapPayload } from '../../src/engine/mappers/index.ts';
import type { ErrorIssue } from '../../src/errors.ts';

/** Shared by the per-format mapper tests: a fixed context, and map-and-check helpers. */

export const RECEIVED = new Date('2026-11-21T08:00:00.000Z');

export function ctx(headers: Record<string, string> = {}): MapContext {
  return { source: 'test-source', receivedAt: RECEIVED, headers: new Headers(headers) };
}

/** Maps and asserts success plus the invariants every event must hold. */
export function events(format: PayloadFormat, body: unknown, headers: Record<string, string> = {}): LeadlineEvent[] {
  const result = mapPayload(format, body, ctx(headers));
  if (!result.ok) throw new Error(`expected ${format} to map, got ${JSON.stringify(result.issues)}`);
  for (const event of result.events) expectWellFormed(event);
  return result.events;
}

export function issues(format: PayloadFormat, body: unknown, headers: Record<string, string> = {}): ErrorIssue[] {
  const result = mapPayload(format, body, ctx(headers));
  if (result.ok) throw new Error(`expected ${format} to fail, got ${JSON.stringify(result.events)}`);
  return result.issues;
}

export const paths = (list: ErrorIssue[]) => list.map((issue) => issue.path);

export function expectWellFormed(event: LeadlineEvent): void {
  expect(eventTypeSchema.safeParse(event.type).success, event.type).toBe(true);
  expect(event.source).toBe('test-source');
  expect(new Date(event.occurredAt).toISOString()).toBe(event.occurredAt);
  // A MOCO payment names its invoice instead of a person; every other event names someone.
  const payment = paymentOf(event) !== null;
  expect(payment || event.lead.email !== undefined || Object.keys(event.lead.ids).length > 0).toBe(true);
  if (event.lead.email !== undefined) expect(event.lead.email).toBe(event.lead.email.trim().toLowerCase());
  for (const kind of Object.keys(event.lead.ids)) {
    expect(IDENTITY_KINDS.filter((k) => k !== 'email')).toContain(kind);
  }
  for (const value of Object.values(event.metadata)) {
    expect(value === null || ['string', 'number', 'boolean'].includes(typeof value)).toBe(true);
    if (typeof value === 'string') expect(value.length).toBeLessThanOrEqual(2000);
  }
}
