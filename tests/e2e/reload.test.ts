import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { rulesetVersion } from '../../src/ruleset-file.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { createTestDatabase, type TestDatabase, waitFor } from '../support/db.ts';
import { TEST_RULES_YAML, testRuleset } from '../support/engine-fixtures.ts';

// The test team with an admin, who hears of a refused ruleset.
const RULES = `${TEST_RULES_YAML}
team:
  members:
    - { id: anna, slack_user_id: U0ANNA001, name: Anna, role: rep }
    - { id: sam, slack_user_id: U0SAMADM5, name: Sam, role: admin }
`;
// The next version: a second webhook source, so the web side visibly picks it up.
const NEXT = RULES.replace(
  'sources:\n',
  'sources:\n  - { name: fair-booth, scheme: url-token, secret: fair-booth-token-2026-0001 }\n',
);

describe('reloading the ruleset without a restart', () => {
  let db: TestDatabase;
  let dir: string;
  let first: Runtime;
  let second: Runtime;
  const runtime = async (file: string, watch = '0') =>
    startRuntime({
      config: { ...loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LEADLINE_RULES: file, LEADLINE_RULES_WATCH: watch }), dataDir: '/nonexistent' },
      ruleset: testRuleset(RULES),
      rulesetText: RULES,
      log: createLogger('silent'),
      schedules: false,
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'leadline-reload-'));
    await writeFile(path.join(dir, 'first.yml'), RULES);
    await writeFile(path.join(dir, 'second.yml'), RULES);
    first = await runtime(path.join(dir, 'first.yml'));
    second = await runtime(path.join(dir, 'second.yml'));
  });
  afterAll(async () => {
    await first.stop();
    await second.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('announces a valid new file to every process, which all load the same version', async () => {
    const post = (r: Runtime) => fetch(`${r.url}/webhooks/fair-booth/fair-booth-token-2026-0001`, { method: 'POST', body: '{}' });
    expect((await post(second)).status).toBe(404);
    await writeFile(path.join(dir, 'first.yml'), NEXT);
    expect(await first.reloadRuleset()).toBe('announced');
    const version = rulesetVersion(NEXT);
    await waitFor(async () => (first.ctx.ruleset.version === version && second.ctx.ruleset.version === version ? true : undefined));
    // The second process never read the new file: it loaded the announced text from the database.
    expect(second.ctx.ruleset.sources.map((s) => s.name)).toContain('fair-booth');
    expect((await post(second)).status).toBe(400);
    expect(await (await fetch(`${second.url}/metrics`)).text()).toContain(`leadline_ruleset_info{version="${version}"} 1`);
    expect(await first.reloadRuleset()).toBe('unchanged');
  });

  it('refuses a broken file, keeps the running version and tells the admins once', async () => {
    const running = first.ctx.ruleset.version;
    await writeFile(path.join(dir, 'first.yml'), NEXT.replace('scoring:', 'scoring:\n  nonsense: true'));
    expect(await first.reloadRuleset()).toBe('refused');
    expect(await first.reloadRuleset()).toBe('refused');
    expect([first.ctx.ruleset.version, second.ctx.ruleset.version]).toEqual([running, running]);
    const { rows } = await db.pool.query(`SELECT channel, payload->>'text' AS text FROM slack_outbox WHERE kind = 'ruleset'`);
    expect(rows).toEqual([{ channel: 'U0SAMADM5', text: expect.stringContaining('Leadline refused the new ruleset') }]);
    expect(rows[0].text).toContain('scoring');
  });

  it('with LEADLINE_RULES_WATCH=1, a saved file is a reload', async () => {
    const file = path.join(dir, 'watched.yml');
    await writeFile(file, NEXT);
    const watching = await runtime(file, '1');
    try {
      const third = NEXT.replace('fair-booth-token-2026-0001', 'fair-booth-token-2026-0002');
      await writeFile(file, third);
      const version = rulesetVersion(third);
      await waitFor(async () => ([watching, first, second].every((r) => r.ctx.ruleset.version === version) ? true : undefined));
    } finally {
      await watching.stop();
    }
  });
});
