import { describe, expect, it } from 'vitest';
import { AWAY_UNTIL_BACK, awayTimeMs } from '../../src/engine/presence.ts';

const at = (hhmm: string) => new Date(`2026-11-20T${hhmm}:00Z`);
const HOUR = 3_600_000;

describe('away time in a window', () => {
  it('ends an away at its until, at the next change, or at the end of the window', () => {
    const changes = [
      { at: at('09:00'), until: at('11:00') }, // ends at its until
      { at: at('12:00'), until: AWAY_UNTIL_BACK }, // ends when they come back
      { at: at('13:30'), until: null },
      { at: at('15:00'), until: AWAY_UNTIL_BACK }, // still away at the window's end
    ];
    expect(awayTimeMs(changes, at('00:00'), at('16:00'))).toBe(2 * HOUR + 1.5 * HOUR + 1 * HOUR);
  });

  it('counts only the part inside the window, including an away that began before it', () => {
    const changes = [{ at: at('06:00'), until: AWAY_UNTIL_BACK }, { at: at('10:00'), until: null }];
    expect(awayTimeMs(changes, at('08:00'), at('12:00'))).toBe(2 * HOUR);
    expect(awayTimeMs(changes, at('10:30'), at('12:00'))).toBe(0);
  });

  it('is zero without changes, and for a back with no away before it', () => {
    expect(awayTimeMs([], at('00:00'), at('12:00'))).toBe(0);
    expect(awayTimeMs([{ at: at('09:00'), until: null }], at('00:00'), at('12:00'))).toBe(0);
  });
});
