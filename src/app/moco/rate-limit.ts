/**
 * MOCO's request budget, shared by every Leadline process through PostgreSQL: MOCO counts requests
 * per account, so a budget per process would let two workers together exceed it and meet 429s.
 * The MOCO client calls `take()` before each request; it never learns where the budget is kept.
 */
import type { MocoLimiter } from '../../clients/moco.ts';
import { type Queryable, run } from '../../db/pool.ts';
import { ensureMocoSlots, takeMocoSlot } from '../../db/sql/moco.ts';
import { LeadlineError } from '../../errors.ts';

/** MOCO counts its rate limit over two minutes. */
export const MOCO_RATE_WINDOW_MS = 120_000;

export interface MocoLimiterOptions {
  pool: Queryable;
  /** Requests per window for the account (`MOCO_RATE_LIMIT`). Every process must use the same. */
  limit: number;
  /** Default MOCO's two minutes. */
  windowMs?: number;
  /** Whose budget: the account's API host, so two accounts never share one. Default `moco`. */
  account?: string;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

// Every free slot was being taken by someone else at that instant: look again shortly.
const CONTENDED_RECHECK_MS = 25;

/**
 * Creates the shared limiter. `take()` resolves once a slot is this caller's, waiting (through
 * `sleep`) until the oldest request of the window is a full window old when all slots are used.
 *
 * @example
 * const limiter = createMocoLimiter({ pool, limit: config.moco.rateLimit, account: new URL(config.moco.baseUrl).host });
 * const moco = createMocoClient({ baseUrl: config.moco.baseUrl, apiKey: config.moco.apiKey, limiter });
 */
export function createMocoLimiter(options: MocoLimiterOptions): MocoLimiter {
  const { pool, limit } = options;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new LeadlineError('config_invalid', `MOCO rate limit must be a positive integer, not ${limit}`);
  }
  const windowMs = options.windowMs ?? MOCO_RATE_WINDOW_MS;
  const account = options.account ?? 'moco';
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let ensured: Promise<void> | null = null;
  // Once per limiter, shared by concurrent first takers; forgotten on failure so the next take tries again.
  const ensure = () => {
    ensured ??= run(pool, ensureMocoSlots(account, limit)).then(
      () => undefined,
      (err: unknown) => {
        ensured = null;
        throw err;
      },
    );
    return ensured;
  };
  return {
    take: async () => {
      await ensure();
      for (;;) {
        const at = now();
        const [row] = await run(pool, takeMocoSlot(account, at, new Date(at.getTime() - windowMs)));
        if (row?.slot != null) return;
        if (row === undefined || row.slots === 0) {
          // The slots are gone (a test reset, a restore without them): lay them out again.
          ensured = null;
          await ensure();
          continue;
        }
        const waitMs =
          row.oldest_busy === null
            ? CONTENDED_RECHECK_MS
            : Math.max(1, row.oldest_busy.getTime() + windowMs - at.getTime());
        await sleep(waitMs);
      }
    },
  };
}
