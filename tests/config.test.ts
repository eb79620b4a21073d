import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES_PATH, loadConfig } from '../src/config.ts';
import { isLeadlineError, type LeadlineError } from '../src/errors.ts';

describe('configuration', () => {
  it('runs on defaults with an empty environment', () => {
    const config = loadConfig({}, '/srv/leadline');
    expect(config).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      dataDir: '/srv/leadline/.data',
      rulesPath: DEFAULT_RULES_PATH,
      role: 'all',
      logLevel: 'info',
    });
  });

  it('names the variable and the reason, never the value', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://root:hunter2@db/leads' });
    } catch (err) {
      error = err;
    }
    expect(isLeadlineError(error, 'config_invalid')).toBe(true);
    const issues = (error as LeadlineError).issues.map((i) => i.path);
    expect(issues).toEqual(expect.arrayContaining(['PORT', 'DATABASE_URL']));
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('treats blank variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: ' ' }).port).toBe(3000);
  });

  it('switches MOCO on with a key and a subdomain, or a URL', () => {
    const key = '0123456789abcdef0123456789abcdef';
    expect(loadConfig({}).moco).toBeUndefined();
    expect(loadConfig({ MOCO_SUBDOMAIN: 'acme' }).moco).toBeUndefined();
    expect(loadConfig({ MOCO_API_KEY: key, MOCO_SUBDOMAIN: 'acme' }).moco).toEqual({
      apiKey: key,
      baseUrl: 'https://acme.mocoapp.com/api/v1',
      rateLimit: 120,
      timeoutMs: 15_000,
    });
    const local = loadConfig({
      MOCO_API_KEY: key,
      MOCO_SUBDOMAIN: 'acme',
      MOCO_API_URL: 'http://127.0.0.1:4010/api/v1/',
      MOCO_RATE_LIMIT: '1200',
    }).moco;
    expect(local).toMatchObject({ baseUrl: 'http://127.0.0.1:4010/api/v1', rateLimit: 1200 });
  });

  it('refuses a MOCO key with nowhere to send it, and a host in place of the subdomain', () => {
    const error = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return err as LeadlineError;
      }
      throw new Error('expected config_invalid');
    };
    const key = '0123456789abcdef0123456789abcdef';
    const missing = error({ MOCO_API_KEY: key });
    expect(isLeadlineError(missing, 'config_invalid')).toBe(true);
    expect(missing.issues.map((i) => i.path)).toEqual(['MOCO_SUBDOMAIN']);
    expect(missing.message).toContain('MOCO_API_URL');
    expect(missing.message).not.toContain(key);
    expect(error({ MOCO_API_KEY: key, MOCO_SUBDOMAIN: 'acme.mocoapp.com' }).issues.map((i) => i.path)).toEqual([
      'MOCO_SUBDOMAIN',
    ]);
  });
});
