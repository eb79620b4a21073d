/**
 * Time as Leadline's Slack messages show it: relative to an injected `now` (so a message renders
 * the same in a test and in production) and local dates in the ruleset's time zone (the calendar
 * arithmetic is engine/calendar.ts). Pure.
 */
import { zonedParts } from '../../engine/calendar.ts';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A short local date and time, e.g. `Fri 20 Nov, 11:00`.
 *
 * @example
 * formatLocal(new Date('2026-11-20T10:00:00Z'), 'Europe/Berlin') // 'Fri 20 Nov, 11:00'
 */
export function formatLocal(date: Date, timeZone: string): string {
  const p = zonedParts(date, timeZone);
  const time = `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
  return `${WEEKDAYS[p.weekday]} ${p.day} ${MONTHS[p.month - 1]}, ${time}`;
}

/**
 * `in 12 min`, `3 h ago`, `2 d ago`: coarse on purpose, a card is read at a glance.
 *
 * @example
 * relativeTime(new Date('2026-11-20T09:45:00Z'), new Date('2026-11-20T10:00:00Z')) // '15 min ago'
 */
export function relativeTime(at: Date, now: Date): string {
  const diff = at.getTime() - now.getTime();
  const abs = Math.abs(diff);
  const minutes = Math.round(abs / 60_000);
  const span =
    minutes < 1
      ? 'less than a minute'
      : minutes < 60
        ? `${minutes} min`
        : minutes < 48 * 60
          ? `${Math.round(minutes / 60)} h`
          : `${Math.round(minutes / (24 * 60))} d`;
  if (minutes < 1) return diff >= 0 ? 'in less than a minute' : 'just now';
  return diff >= 0 ? `in ${span}` : `${span} ago`;
}

/**
 * A duration in words, e.g. `1 h 5 min` or `12 min`.
 *
 * @example
 * formatDuration(65 * 60_000) // '1 h 5 min'
 */
export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/**
 * A local date with its year and time, e.g. `2025-11-20 11:00`: for records that may be years old.
 *
 * @example
 * formatStamp(new Date('2025-11-20T10:00:00Z'), 'Europe/Berlin') // '2025-11-20 11:00'
 */
export function formatStamp(date: Date, timeZone: string): string {
  const p = zonedParts(date, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
}
