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
});
