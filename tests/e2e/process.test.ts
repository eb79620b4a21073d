import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
// The Node flags of package.json's start script (`node <flags> src/main.ts`), so these tests start
// Leadline exactly as `npm start` does.
const START_FLAGS = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .trim()
  .split(/\s+/)
  .slice(1, -1);

interface Started {
  child: ChildProcess;
  url: string;
  lines: string[];
  exit: Promise<number | null>;
}

// Starts `node src/main.ts` as `npm start` does and waits for its "listening" log line.
function startLeadline(env: Record<string, string>): Promise<Started> {
  const child = spawn(
    process.execPath,
    [...START_FLAGS, 'src/main.ts'],
    {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line.includes('"Leadline is listening"'))
          resolve({ child, url: JSON.parse(line).url, lines, exit });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    void exit.then((code) => reject(new Error(`Leadline exited with ${code}:\n${lines.join('\n')}`)));
  });
}

describe('the Leadline process', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'leadline-process-'));
    // Run as root, embedded PostgreSQL is the `postgres` user, who must be able to enter it.
    await chmod(dir, 0o711);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('starts on embedded PostgreSQL, shuts down on SIGTERM, and reuses its data on restart', async () => {
    const env = {
      LEADLINE_DATA_DIR: path.join(dir, 'data'),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    const first = await startLeadline(env);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    expect(first.lines.some((line) => line.includes('"migrations applied"'))).toBe(true);
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    const second = await startLeadline(env);
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    expect(second.lines.some((line) => line.includes('"migrations applied"'))).toBe(false);
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  });

  it('refuses to start with a broken ruleset and names the bad field', async () => {
    const rules = path.join(dir, 'broken.yml');
    await writeFile(
      rules,
      'version: x\nscoring:\n  rules:\n    - { id: a, event: page.viewed, points: lots, category: engagement }\n',
    );
    const child = spawn(
      process.execPath,
      [...START_FLAGS, 'src/main.ts'],
      {
        cwd: ROOT,
        env: {
          PATH: process.env['PATH'] ?? '',
          LEADLINE_RULES: rules,
          LEADLINE_DATA_DIR: path.join(dir, 'unused'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('ruleset_invalid');
    expect(stderr).toContain('scoring.rules.0.points');
  });

  it('refuses to start with a bad environment variable and names it', async () => {
    const child = spawn(
      process.execPath,
      [...START_FLAGS, 'src/main.ts'],
      {
        cwd: ROOT,
        env: { PATH: process.env['PATH'] ?? '', PORT: 'seventy' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(1);
    expect(stderr).toContain('PORT');
  });

  it('fills the compile cache with --warm-compile-cache and exits without starting', async () => {
    const cache = path.join(dir, 'compile-cache');
    const child = spawn(process.execPath, [...START_FLAGS, 'src/main.ts', '--warm-compile-cache'], {
      cwd: ROOT,
      // An invalid role proves configuration is not read.
      env: { PATH: process.env['PATH'] ?? '', NODE_COMPILE_CACHE: cache, LEADLINE_ROLE: 'none' },
      stdio: 'ignore',
    });
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect((await readdir(cache, { recursive: true })).some((file) => file.length > 0)).toBe(true);
  });
});
