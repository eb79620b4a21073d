/**
 * `--profile`: a V8 CPU profile of this process per scenario (load generators excluded, they run
 * in their own processes), written as .cpuprofile files for Chrome DevTools or `speedscope`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

export interface Profiler {
  start(): Promise<void>;
  /** Stops and writes the profile; returns its path. */
  stop(name: string): Promise<string>;
}

export async function createProfiler(dir: string): Promise<Profiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 1 ms sampling keeps the overhead small over multi-minute scenarios.
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await mkdir(dir, { recursive: true });
  return {
    start: async () => {
      await session.post('Profiler.start');
    },
    stop: async (name) => {
      const { profile } = await session.post('Profiler.stop');
      const file = path.join(dir, `${name}.cpuprofile`);
      await writeFile(file, JSON.stringify(profile));
      return file;
    },
  };
}
