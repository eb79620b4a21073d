const HOUR_MS = 3_600_000;

/**
 * How long an alert can be snoozed: the choices the alert's Snooze menu offers, and the one place
 * their lengths are defined.
 */
export const SNOOZE_DURATIONS = { '1h': HOUR_MS, '4h': 4 * HOUR_MS, '1d': 24 * HOUR_MS } as const;

export type SnoozeOption = keyof typeof SNOOZE_DURATIONS;

/**
 * When a snooze chosen at `now` ends.
 *
 * @example
 * snoozeEnds('4h', new Date('2026-11-20T10:00:00Z')) // 2026-11-20T14:00:00.000Z
 */
export function snoozeEnds(option: SnoozeOption, now: Date): Date {
  return new Date(now.getTime() + SNOOZE_DURATIONS[option]);
}

/** True for a value that names a snooze choice (a button value is only what a message carried). */
export function isSnoozeOption(value: string): value is SnoozeOption {
  return Object.hasOwn(SNOOZE_DURATIONS, value);
}
