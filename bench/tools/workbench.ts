/**
 * What every diagnostic tool starts with: an embedded PostgreSQL in a temp directory, the shipped
 * ruleset and a quick bench context on that server. `close()` stops the server and removes the
 * directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_RULES_PATH } from '../../src/config.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import type { Ruleset } from '../../src/engine/ruleset.ts';
import { loadRulesetFile } from '../../src/ruleset-file.ts';
import { type BenchContext, createContext } from '../context.ts';

export interface Workbench {
  ctx: BenchContext;
  ruleset: Ruleset;
  close(): Promise<void>;
}

export async function openWorkbench(name: string, onLog?: (line: string) => void): Promise<Workbench> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `leadline-${name}-`));
  const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), ...(onLog === undefined ? {} : { onLog }) });
  const close = async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const { ruleset, text } = await loadRulesetFile(DEFAULT_RULES_PATH);
    const ctx = createContext({
      quick: true,
      seed: 1,
      serverUrl: server.url,
      tmpDir: dir,
      logFile: path.join(dir, 'leadline.log'),
      ruleset,
      rulesetText: text,
    });
    return { ctx, ruleset, close };
  } catch (err) {
    await close();
    throw err;
  }
}
