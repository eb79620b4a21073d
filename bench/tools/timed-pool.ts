/**
 * A pool whose transactions time every statement by kind (diagnostic tools only). Leadline's
 * writers and jobs take connections with pool.connect(), so wrapping that one method sees all.
 */
import type { Pool } from '../../src/db/pool.ts';
import { round, summarize } from '../stats.ts';

export interface StatementTimes {
  pool: Pool;
  times: Map<string, number[]>;
  print(): void;
}

/** Names a statement by its first words and target table, e.g. "INSERT score_rows". */
function kindOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (/^(BEGIN|COMMIT|ROLLBACK)/i.test(flat)) return flat.split(' ')[0]!.toUpperCase();
  const verb = (flat.match(/^(WITH|SELECT|INSERT|UPDATE|DELETE)/i)?.[1] ?? 'SQL').toUpperCase();
  const table = flat.match(/(?:INTO|UPDATE|FROM)\s+([a-z_.]+)/i)?.[1] ?? '?';
  const lock = /FOR UPDATE/i.test(flat) ? ' FOR UPDATE' : '';
  const advisory = /pg_advisory_xact_lock/.test(flat) ? ' advisory locks' : '';
  return `${verb} ${table}${lock}${advisory}`;
}

export function timedPool(pool: Pool): StatementTimes {
  const times = new Map<string, number[]>();
  const record = (kind: string, ms: number) => {
    const list = times.get(kind) ?? [];
    list.push(ms);
    times.set(kind, list);
  };
  const proxy = new Proxy(pool, {
    get(target, property) {
      if (property !== 'connect') {
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async () => {
        const client = await target.connect();
        const original = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<unknown>;
        const release = client.release.bind(client);
        Object.assign(client, {
          query: async (text: string, values?: unknown[]) => {
            const t0 = performance.now();
            try {
              return await original(text, values);
            } finally {
              record(kindOf(text), performance.now() - t0);
            }
          },
          release: (err?: boolean | Error) => {
            Object.assign(client, { query: original, release });
            release(err);
          },
        });
        return client;
      };
    },
  });
  return {
    pool: proxy,
    times,
    print: () => {
      const rows = [...times].map(([kind, list]) => ({
        kind,
        s: summarize(list),
        sum: list.reduce((a, b) => a + b, 0),
      }));
      for (const { kind, s, sum } of rows.sort((a, b) => b.sum - a.sum)) {
        console.log(
          `  ${kind.padEnd(44)} n=${String(s.count).padStart(5)}  mean ${round(s.mean, 2).toString().padStart(6)} ms  p99 ${round(s.p99, 1).toString().padStart(6)} ms  total ${Math.round(sum)} ms`,
        );
      }
    },
  };
}
