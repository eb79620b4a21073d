import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import path from 'node:path';
import { signStandard } from '../../support/signers.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
// The Node flags of package.json's start script, so each process starts as `npm start` does.
const START_FLAGS = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start
  .trim()
  .split(/\s+/)
  .slice(1, -1);

export const WEBSITE_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

export interface LeadlineProcess {
  role: 'web' | 'worker' | 'all';
  child: ChildProcess;
  /** The web role's base URL; null for workers. */
  url: string | null;
  lines: string[];
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts one Leadline process (`node <start flags> src/main.ts`) in a role, against `env`'s
 * database, and resolves once it says it is serving.
 *
 * @example
 * const web = await startProcess('web', { DATABASE_URL: db.url, LEADLINE_SECRET_WEBSITE: WEBSITE_SECRET });
 */
export function startProcess(role: LeadlineProcess['role'], env: Record<string, string>): Promise<LeadlineProcess> {
  const child = spawn(process.execPath, [...START_FLAGS, 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, LEADLINE_ROLE: role },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1))));
  const ready = role === 'worker' ? '"Leadline workers are running"' : '"Leadline is listening"';
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        if (lines.length < 5_000) lines.push(line);
        if (line.includes(ready)) {
          const url = role === 'worker' ? null : (JSON.parse(line) as { url: string }).url;
          resolve({
            role,
            child,
            url,
            lines,
            exited,
            kill: (signal) => {
              child.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    void exited.then((code) => reject(new Error(`Leadline ${role} exited with ${code}:\n${lines.slice(-30).join('\n')}`)));
  });
}

/**
 * One event of the deterministic stream: page views, pricing views and demo requests (from the
 * first `demoLeads` leads only, when given: demo requests make alerts, and Slack takes one post a
 * second per channel).
 */
export function streamEvent(n: number, leads: number, demoLeads = leads): Record<string, unknown> {
  const lead = n % leads;
  const kind = n % 23 === 0 && lead < demoLeads ? 'demo' : n % 5 === 0 ? 'pricing' : 'page';
  return {
    id: `fault-${n}`,
    type: kind === 'demo' ? 'form.submitted' : 'page.viewed',
    occurred_at: new Date(Date.UTC(2026, 11, 3, 8, 0, 0) + n).toISOString(),
    lead: { email: `lead${lead}@lab${lead % 40}.example`, first_name: `Lead${lead}` },
    metadata: kind === 'demo' ? { form_type: 'demo' } : { url: kind === 'pricing' ? '/pricing' : `/blog/${n % 17}` },
  };
}

export interface LoadResult {
  /** External ids of every event a 202 or 200 acknowledged. */
  acknowledged: Set<string>;
  sent: number;
  failed: number;
  statuses: Map<number, number>;
  /** 503 answers that said when to come back (`Retry-After`). */
  retryAfter: number;
  /** The slowest answer, in ms. */
  slowestMs: number;
  seconds: number;
}

/**
 * Sends the stream to the web processes (round robin), `perRequest` events a request, at about
 * `eventsPerSecond`, until `count` events went out. Requests that fail (a process killed mid-way)
 * are counted, not retried: only what was acknowledged must be stored.
 */
export async function sendLoad(options: {
  urls: () => string[];
  from: number;
  count: number;
  leads: number;
  eventsPerSecond: number;
  perRequest: number;
  demoLeads?: number;
  onTick?: (sent: number) => void;
}): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const result: LoadResult = { acknowledged: new Set(), sent: 0, failed: 0, statuses: new Map(), retryAfter: 0, slowestMs: 0, seconds: 0 };
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  let request = 0;
  for (let n = options.from; n < options.from + options.count; n += options.perRequest) {
    const events = Array.from({ length: Math.min(options.perRequest, options.from + options.count - n) }, (_, i) => streamEvent(n + i, options.leads, options.demoLeads));
    const due = started + ((n - options.from) / options.eventsPerSecond) * 1_000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const urls = options.urls();
    const url = urls[request % urls.length]!;
    request += 1;
    const sentAt = performance.now();
    const sending = post(url, events, `msg-${n}`, agent).then(
      ({ status, retryAfter }) => {
        result.slowestMs = Math.max(result.slowestMs, performance.now() - sentAt);
        if (status === 503 && retryAfter) result.retryAfter += 1;
        result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
        if (status === 202 || status === 200) for (const e of events) result.acknowledged.add(String(e['id']));
      },
      () => {
        result.failed += 1;
      },
    );
    result.sent += events.length;
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
    options.onTick?.(result.sent);
    if (inFlight.size > 200) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  result.seconds = (performance.now() - started) / 1_000;
  agent.destroy();
  return result;
}

async function post(baseUrl: string, events: unknown[], id: string, agent: Agent): Promise<{ status: number; retryAfter: boolean }> {
  const body = JSON.stringify({ events });
  const headers = signStandard({ secret: WEBSITE_SECRET, id, timestamp: Math.floor(Date.now() / 1000), body });
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/webhooks/website`, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers }, timeout: 15_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] !== undefined }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}
