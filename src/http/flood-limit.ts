/**
 * A token bucket per source: `perSecond` tokens flow in, at most `burst` are kept, a delivery takes
 * one. Kept in the web process (not Postgres), so the limit is per web process and costs no round
 * trip; a deployment with N web processes lets a source through at up to N times the rate.
 */
export class FloodLimit {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Takes a token for `source`; when none is left, the seconds until one is (for Retry-After). */
  take(source: string, limit: { perSecond: number; burst: number }): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.#now();
    const bucket = this.#buckets.get(source) ?? { tokens: limit.burst, at: now };
    const tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1_000) * limit.perSecond);
    if (tokens >= 1) {
      this.#buckets.set(source, { tokens: tokens - 1, at: now });
      return { ok: true };
    }
    this.#buckets.set(source, { tokens, at: now });
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / limit.perSecond)) };
  }
}
