import type { LeadlineEvent } from '../../src/engine/event.ts';
import type { StoredEvent } from '../../src/engine/lead-processor.ts';
import { parseRuleset, type Ruleset } from '../../src/engine/ruleset.ts';

export const T0 = new Date('2025-03-03T09:00:00Z');
export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;

export function at(offsetMs: number): Date {
  return new Date(T0.getTime() + offsetMs);
}

let counter = 0;

/** A stored event with sensible defaults; `occurredAt` may be given as a Date. */
export function storedEvent(
  partial: Partial<Omit<LeadlineEvent, 'occurredAt' | 'lead'>> & {
    occurredAt?: Date | string;
    lead?: Partial<LeadlineEvent['lead']>;
  } = {},
): StoredEvent {
  counter += 1;
  const occurredAt = partial.occurredAt ?? T0;
  return {
    id: partial.id ?? `evt-${String(counter).padStart(6, '0')}`,
    type: partial.type ?? 'page.viewed',
    source: partial.source ?? 'website',
    occurredAt: typeof occurredAt === 'string' ? occurredAt : occurredAt.toISOString(),
    lead: { ids: {}, email: 'jane@lab.example.org', ...partial.lead },
    metadata: partial.metadata ?? {},
    utm: partial.utm ?? {},
  };
}

export function rules(yaml: string): Ruleset {
  return parseRuleset(yaml, { version: 'test' });
}
