/**
 * CPU accounting. Other processes on a small box skew every figure, so each scenario records the
 * machine's CPU use just before it starts (the benchmark's own processes are idle then), and load
 * phases record how much CPU the Leadline process and the whole machine used while measuring.
 */
import { readdir, readFile } from 'node:fs/promises';

interface CpuTimes {
  busy: number;
  total: number;
}

async function machineTimes(): Promise<CpuTimes | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.reduce((sum, value) => sum + value, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

export interface CpuWindow {
  /** Ends the window: this process's CPU as a share of one core, the machine's as a share of all cores. */
  end(): Promise<{ processCores: number; machineShare: number | null; processCpuMs: number }>;
}

export async function cpuWindow(): Promise<CpuWindow> {
  const machineStart = await machineTimes();
  const processStart = process.cpuUsage();
  const started = performance.now();
  return {
    end: async () => {
      const elapsed = performance.now() - started;
      const used = process.cpuUsage(processStart);
      const processCpuMs = (used.user + used.system) / 1000;
      const machineEnd = await machineTimes();
      const machineShare =
        machineStart === null || machineEnd === null || machineEnd.total === machineStart.total
          ? null
          : (machineEnd.busy - machineStart.busy) / (machineEnd.total - machineStart.total);
      return { processCores: processCpuMs / elapsed, machineShare, processCpuMs };
    },
  };
}

/** CPU ticks of this process and all its descendants (PostgreSQL, load generators), reaped ones included. */
async function ownTreeTicks(): Promise<number | null> {
  try {
    const stats = new Map<number, { ppid: number; ticks: number }>();
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null);
      if (text === null) continue;
      // Fields after the command name: state ppid … utime(11) stime(12) cutime(13) cstime(14).
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
      stats.set(Number(entry), { ppid: Number(fields[1] ?? 0), ticks });
    }
    const own = new Set([process.pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, stat] of stats) {
        if (!own.has(pid) && own.has(stat.ppid)) {
          own.add(pid);
          grew = true;
        }
      }
    }
    let total = 0;
    for (const pid of own) total += stats.get(pid)?.ticks ?? 0;
    return total;
  } catch {
    return null;
  }
}

/**
 * Measures the CPU other processes on the machine used (in cores, averaged) between start and
 * end: the machine's busy time minus the benchmark's own process tree.
 */
export async function foreignCpu(): Promise<{ end(): Promise<number | null> }> {
  const machineStart = await machineTimes();
  const ownStart = await ownTreeTicks();
  const started = performance.now();
  return {
    end: async () => {
      const machineEnd = await machineTimes();
      const ownEnd = await ownTreeTicks();
      if (machineStart === null || machineEnd === null || ownStart === null || ownEnd === null) return null;
      const seconds = (performance.now() - started) / 1000;
      // /proc counts in USER_HZ ticks, 100 per second on Linux.
      const foreign = machineEnd.busy - machineStart.busy - (ownEnd - ownStart);
      return Math.max(0, foreign / 100 / seconds);
    },
  };
}

/** Share (0–1) of all cores in use over the next `ms`; null where /proc/stat is unavailable. */
export async function machineBusy(ms = 1000): Promise<number | null> {
  const window = await cpuWindow();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await window.end()).machineShare;
}

export interface MemoryPeak {
  rssMb: number;
  heapTotalMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

/** Samples process.memoryUsage() until stopped and reports each component's peak. */
export function memorySampler(intervalMs = 250): { stop(): MemoryPeak } {
  const peak: MemoryPeak = { rssMb: 0, heapTotalMb: 0, heapUsedMb: 0, externalMb: 0, arrayBuffersMb: 0 };
  const mb = (bytes: number) => Math.round(bytes / 1_048_576);
  const sample = () => {
    const m = process.memoryUsage();
    peak.rssMb = Math.max(peak.rssMb, mb(m.rss));
    peak.heapTotalMb = Math.max(peak.heapTotalMb, mb(m.heapTotal));
    peak.heapUsedMb = Math.max(peak.heapUsedMb, mb(m.heapUsed));
    peak.externalMb = Math.max(peak.externalMb, mb(m.external));
    peak.arrayBuffersMb = Math.max(peak.arrayBuffersMb, mb(m.arrayBuffers));
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
