/**
 * Time as Leadline's Slack messages show it: relative to an injected `now` (so a message renders
 * the same in a test and in production) and local dates in the ruleset's time zone. Pure.
 */

export interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/**
 * The wall-clock fields of `date` in `timeZone`.
 *
 * @example
 * zonedParts(new Date('2026-11-20T10:00:00Z'), 'Europe/Berlin') // { year: 2026, month: 11, day: 20, hour: 11, minute: 0, weekday: 5 }
 */
export function zonedParts(date: Date, timeZone: string): ZonedParts & { second: number } {
  const out: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(date)) out[part.type] = part.value;
  return {
    year: Number(out['year']),
    month: Number(out['month']),
    day: Number(out['day']),
    hour: Number(out['hour']),
    minute: Number(out['minute']),
    second: Number(out['second']),
    weekday: WEEKDAYS.indexOf(out['weekday'] ?? ''),
  };
}

function offsetMs(date: Date, timeZone: string): number {
  const p = zonedParts(date, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(date.getTime() / 1000) * 1000;
}

/**
 * The instant a wall-clock time happens in `timeZone` (days past the month's end roll over).
 * Across a DST gap the later offset wins.
 *
 * @example
 * zonedTime(2026, 12, 4, 0, 0, 'Europe/Berlin') // 2026-12-03T23:00:00.000Z
 */
export function zonedTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timeZone: string,
): Date {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const first = wall - offsetMs(new Date(wall), timeZone);
  const second = wall - offsetMs(new Date(first), timeZone);
  return new Date(second);
}

/**
 * Midnight `days` days after the local date of `now`.
 *
 * @example
 * localMidnight(new Date('2026-11-20T10:00:00Z'), 1, 'Europe/Berlin') // 2026-11-20T23:00:00.000Z
 */
export function localMidnight(now: Date, days: number, timeZone: string): Date {
  const p = zonedParts(now, timeZone);
  return zonedTime(p.year, p.month, p.day + days, 0, 0, timeZone);
}

/**
 * Monday 00:00 of the local week containing `now`.
 *
 * @example
 * startOfWeek(new Date('2026-11-20T10:00:00Z'), 'Europe/Berlin') // 2026-11-15T23:00:00.000Z (Mon 16 Nov)
 */
export function startOfWeek(now: Date, timeZone: string): Date {
  const back = (zonedParts(now, timeZone).weekday + 6) % 7;
  return localMidnight(now, -back, timeZone);
}

/**
 * The local calendar date, `YYYY-MM-DD`.
 *
 * @example
 * localDateKey(new Date('2026-11-20T23:30:00Z'), 'Europe/Berlin') // '2026-11-21'
 */
export function localDateKey(date: Date, timeZone: string): string {
  const p = zonedParts(date, timeZone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

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
