/**
 * Calendar arithmetic in the team's time zone: the local day an instant falls on (daily caps, the
 * digest's date), wall-clock fields, local midnights and weeks. Pure: the caller passes the instant.
 */

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

export interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
}


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

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * The calendar day of an instant in a time zone, as YYYY-MM-DD. Daily caps are bucketed by it,
 * so "3 opens a day" means a day in the team's time zone, not in UTC.
 *
 * @example
 * dayKey(new Date('2025-03-01T23:30:00Z'), 'Europe/Berlin') // '2025-03-02'
 */
export function dayKey(at: Date, timeZone: string): string {
  let format = dayFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dayFormats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((part) => [part.type, part.value]));
  return `${parts['year']}-${parts['month']}-${parts['day']}`;
}
