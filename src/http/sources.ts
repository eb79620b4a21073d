import type { PayloadFormat } from '../engine/mappers/index.ts';
import type { Ruleset } from '../engine/ruleset.ts';
import type { SignatureScheme } from './signatures.ts';

/** A webhook source from the ruleset with its secret resolved (null when its env var is unset or blank). */
export interface WebhookSource {
  name: string;
  scheme: SignatureScheme;
  format: PayloadFormat;
  secret: string | null;
  secretEnv: string | null;
  /** Deliveries per second and the burst above it, per web process; null: no limit. */
  rateLimit: { perSecond: number; burst: number } | null;
  onInvalid: 'refuse' | 'park';
}

/**
 * Resolves every source's secret from the ruleset or the environment. A source whose secret is
 * missing stays known but refuses deliveries, so a fresh install starts without any secrets set.
 */
export function resolveSources(ruleset: Ruleset, env: NodeJS.ProcessEnv): Map<string, WebhookSource> {
  const sources = new Map<string, WebhookSource>();
  for (const source of ruleset.sources) {
    const fromEnv = source.secret_env === undefined ? undefined : env[source.secret_env];
    // An empty or blank variable is a secret nobody set, not a key anyone could sign with.
    const secret = source.secret ?? (fromEnv === undefined || fromEnv.trim() === '' ? null : fromEnv);
    sources.set(source.name, {
      name: source.name,
      scheme: source.scheme,
      format: source.format,
      secret,
      secretEnv: source.secret_env ?? null,
      rateLimit:
        source.rate_limit === undefined
          ? null
          : { perSecond: source.rate_limit.per_second, burst: source.rate_limit.burst ?? Math.max(1, Math.ceil(source.rate_limit.per_second * 2)) },
      onInvalid: source.on_invalid,
    });
  }
  return sources;
}
