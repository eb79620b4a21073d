/**
 * Leadline as its own process, started the way `npm start` starts it (the Node flags are read from
 * package.json's `start` script), so what the memory scenario measures is the process an operator
 * runs: no harness, seeding or load generator sharing its heap. Its resident set is read from
 * /proc/<pid>/status (VmRSS sampled, VmHWM the kernel's own high-water mark).
 */
import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tuningEnv } from './context.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const LISTENING = 'Leadline is listening';
const START_TIMEOUT_MS = 60_000;

/** Variables the benchmark decides; the caller's own values for them must not leak into the child. */
const OWNED = /^(LEADLINE_|SLACK_|OPENAI_|DATABASE_URL$|PORT$|HOST$|LOG_LEVEL$)/;

export interface ProcessMemory {
  /** Resident set now (VmRSS) and its peak so far (VmHWM), in MB. */
  rssMb: number;
  hwmMb: number;
  /** Of the resident set: anonymous memory (heaps, buffers) and file-backed pages (the Node binary, libraries). */
  anonMb: number;
  fileMb: number;
}

export interface LeadlineProcess {
  pid: number;
  url: string;
  /** The exact command line, for the report. */
  command: string;
  memory(): Promise<ProcessMemory | null>;
  /** CPU time the process used so far (user + system), in ms; null once it is gone. */
  cpuMs(): Promise<number | null>;
  /** SIGTERM (graceful shutdown, as an orchestrator stops it); SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** `node <flags> src/main.ts` from package.json's start script; anything else is refused. */
export async function startScriptFlags(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const script = pkg.scripts?.['start'] ?? '';
  const words = script.trim().split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'src/main.ts') {
    throw new Error(`package.json start script is not "node <flags> src/main.ts": ${script}`);
  }
  // `--import ./src/compile-cache.js` is relative to the package root, where npm runs scripts.
  const fromRoot = (file: string) => fileURLToPath(new URL(`../${file}`, import.meta.url));
  return words.slice(1, -1).map((word) => (word.startsWith('./') ? fromRoot(word) : word));
}

const kb = /^(\w+):\s+(\d+) kB$/;

export async function readProcessMemory(pid: number): Promise<ProcessMemory | null> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  if (text === null) return null;
  const fields: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = kb.exec(line);
    if (match?.[1] !== undefined) fields[match[1]] = Number(match[2]) / 1024;
  }
  if (fields['VmRSS'] === undefined) return null;
  return {
    rssMb: fields['VmRSS'],
    hwmMb: fields['VmHWM'] ?? fields['VmRSS'],
    anonMb: fields['RssAnon'] ?? 0,
    fileMb: (fields['RssFile'] ?? 0) + (fields['RssShmem'] ?? 0),
  };
}

/** utime + stime from /proc/<pid>/stat, in ms (USER_HZ is 100 on Linux). */
export async function readProcessCpuMs(pid: number): Promise<number | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (text === null) return null;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
}

export async function startLeadlineProcess(options: {
  databaseUrl: string;
  role: 'all' | 'web' | 'worker';
  /** stdout and stderr (JSON logs at info level, as in production) are appended here. */
  logFile: string;
  /** The child's working directory: no `.env` of the developer's is read from it. */
  cwd: string;
  env: Record<string, string>;
}): Promise<LeadlineProcess> {
  // Diagnostics only (`--trace-gc`, other V8 flags to compare): appended after the start script's
  // flags and shown in `command`, so a figure measured with them never passes for plain `npm start`.
  const extra = (process.env['LEADLINE_BENCH_NODE_FLAGS'] ?? '').split(/\s+/).filter((flag) => flag !== '');
  const flags = [...(await startScriptFlags()), ...extra];
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !OWNED.test(entry[0]),
    ),
  );
  // Measured warm, as the Docker image starts (its compile cache is filled at build time) and as
  // every `npm start` after the first: `--warm-compile-cache` with the same flags fills the cache.
  const warm = spawn(process.execPath, [...flags, MAIN, '--warm-compile-cache'], {
    cwd: options.cwd,
    env: inherited,
    stdio: 'ignore',
  });
  const warmed = await new Promise((resolve) => warm.once('exit', resolve));
  if (warmed !== 0) throw new Error(`node src/main.ts --warm-compile-cache exited with ${String(warmed)}`);
  const log = await open(options.logFile, 'a');
  const child = spawn(process.execPath, [...flags, MAIN], {
    cwd: options.cwd,
    env: {
      ...inherited,
      ...tuningEnv(),
      // As the Docker image runs it.
      NODE_ENV: 'production',
      DATABASE_URL: options.databaseUrl,
      LEADLINE_ROLE: options.role,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  const pid = child.pid;
  if (pid === undefined) throw new Error('Leadline process did not start');
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const root = fileURLToPath(new URL('../', import.meta.url));
  const command = `node ${[...flags, 'src/main.ts'].join(' ').replaceAll(root, './')} (LEADLINE_ROLE=${options.role})`;

  // The listening line carries the port the kernel picked (PORT=0).
  const deadline = performance.now() + START_TIMEOUT_MS;
  let url: string | null = null;
  while (url === null) {
    if (exitCode !== undefined) {
      throw new Error(`Leadline exited with ${exitCode} during start-up; see ${options.logFile}`);
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Leadline did not listen within ${START_TIMEOUT_MS / 1000} s; see ${options.logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = await readFile(options.logFile, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes(LISTENING)) continue;
      const parsed = JSON.parse(line) as { url?: string };
      if (parsed.url !== undefined) url = parsed.url;
    }
  }

  return {
    pid,
    url,
    command,
    memory: () => readProcessMemory(pid),
    cpuMs: () => readProcessCpuMs(pid),
    stop: async (timeoutMs = 20_000) => {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

export interface MemorySeries {
  samples: ProcessMemory[];
  /** Readings taken at named moments (`mark`). */
  marks: Record<string, ProcessMemory>;
  /** The largest of each component over the samples (not necessarily at the same moment). */
  peak: ProcessMemory | null;
}

/** Samples a process's memory every `intervalMs` until stopped; keeps the series for the report. */
export function processMemorySampler(
  pid: number,
  intervalMs = 250,
): { mark(label: string): void; stop(): Promise<MemorySeries> } {
  const samples: ProcessMemory[] = [];
  const marks: Record<string, ProcessMemory> = {};
  const sample = async () => {
    const m = await readProcessMemory(pid);
    if (m !== null) samples.push(m);
    return m;
  };
  const timer = setInterval(() => void sample(), intervalMs);
  timer.unref();
  void sample();
  return {
    mark: (label) => {
      void sample().then((m) => {
        if (m !== null) marks[label] = m;
      });
    },
    stop: async () => {
      clearInterval(timer);
      await sample();
      const peak = samples.reduce<ProcessMemory | null>(
        (max, s) =>
          max === null
            ? { ...s }
            : {
                rssMb: Math.max(max.rssMb, s.rssMb),
                hwmMb: Math.max(max.hwmMb, s.hwmMb),
                anonMb: Math.max(max.anonMb, s.anonMb),
                fileMb: Math.max(max.fileMb, s.fileMb),
              },
        null,
      );
      return { samples, marks, peak };
    },
  };
}
