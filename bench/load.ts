/**
 * A small HTTP load generator: N concurrent workers over keep-alive loopback sockets, each sending
 * its share of requests (closed loop), or a paced total rate (open loop, latency counted from each
 * request's scheduled time so a stalled server cannot hide its queueing). It runs in a child process
 * (`startLoad`) so generating load does not steal the event loop of the Leadline it measures, and it
 * spends as little CPU per request as it can (`wire.ts`; closed-loop requests are built and signed
 * before the clock starts), because on a small machine its CPU is taken from the server measured.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { leadEmail, ordinaryEvent, signStandardHeaders, wireEvent } from './dataset.ts';
import { deriveSeed, intBetween, mulberry32, type Rng } from './rng.ts';
import { type LatencySummary, summarize } from './stats.ts';
import { encodeRequest, WireConnection } from './wire.ts';

/** What to send; plain data so it can cross to the child process. Add kinds for new senders here. */
export type RequestPlan =
  | { kind: 'echo'; path: string; seed: number }
  | {
      kind: 'webhook';
      path: string;
      seed: number;
      secret: string;
      /** Makes event ids unique per load run. */
      tag: string;
      /** Existing lead numbers are drawn from 1..leadRange; the rest are new leads. */
      leadRange: number;
      newLeadShare: number;
      /** `ordinary`: page views and email engagement only, which never make a lead hot. Default `all`. */
      mix?: 'all' | 'ordinary';
    };

export interface LoadSpec {
  baseUrl: string;
  plan: RequestPlan;
  concurrency: number;
  /** Closed loop: requests per worker. Open loop: upper bound per worker. */
  perWorker: number;
  maxSeconds: number;
  /** When set, requests are paced to this total rate (open loop). */
  ratePerSecond?: number;
  expectStatus: number[];
  timeoutMs?: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  statusCounts: Record<string, number>;
  failures: number;
  firstFailure: string | null;
  durationMs: number;
  okPerSecond: number;
  latency: LatencySummary;
  stoppedBy: 'count' | 'time' | 'stop';
  /** CPU the load generator itself used, as a share of one core over the run. */
  generatorCpu: number;
}

export interface Prepared {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Default `application/json`. */
  contentType?: string;
}

function requestMaker(plan: RequestPlan, worker: number): (index: number) => Prepared {
  const rng: Rng = mulberry32(deriveSeed(plan.seed, plan.kind, worker));
  if (plan.kind === 'echo') {
    return (index) => {
      const event = wireEvent(rng, `echo-${worker}-${index}`, intBetween(rng, 1, 10_000), new Date(), 0);
      return { path: plan.path, headers: {}, body: JSON.stringify(event) };
    };
  }
  return (index) => {
    const id = `${plan.tag}-${worker}-${index}`;
    // New leads get numbers past the seeded range, unique per request, so each is really new.
    const fresh = rng() < plan.newLeadShare;
    const n = fresh
      ? plan.leadRange + 1 + worker * 10_000_000 + index
      : intBetween(rng, 1, plan.leadRange + 1);
    const now = new Date();
    const make = plan.mix === 'ordinary' ? ordinaryEvent : wireEvent;
    const event = make(rng, id, n, now, intBetween(rng, 0, 3_600_000));
    if (event.lead.email !== leadEmail(n)) throw new Error('dataset mismatch');
    const body = JSON.stringify(event);
    return {
      path: plan.path,
      headers: signStandardHeaders(plan.secret, id, Math.floor(now.getTime() / 1000), body),
      body,
    };
  };
}

/** POSTs `request` over `agent` and resolves with the status and body once the answer is read. */
export function post(
  agent: http.Agent,
  url: URL,
  request: Prepared,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: request.path,
        method: 'POST',
        agent,
        headers: {
          ...request.headers,
          'content-type': request.contentType ?? 'application/json',
          'content-length': Buffer.byteLength(request.body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(request.body);
  });
}

/** Runs the load in this process; `shouldStop` is polled between requests. */
export async function runLoad(spec: LoadSpec, shouldStop: () => boolean = () => false): Promise<LoadResult> {
  const url = new URL(spec.baseUrl);
  if (url.hostname !== '127.0.0.1') throw new Error('benchmark load goes to 127.0.0.1 only');
  const connections = Array.from(
    { length: spec.concurrency },
    () => new WireConnection(url.hostname, Number(url.port), spec.timeoutMs ?? 30_000),
  );
  const encode = (request: Prepared) =>
    encodeRequest(url.host, request.path, request.headers, request.contentType ?? 'application/json', request.body);
  // Closed loop: every request built and signed up front (a run is far shorter than the ±5 min a
  // signature stays fresh). Open loop runs for minutes, so it builds each request when it is due.
  const prebuilt =
    spec.ratePerSecond === undefined
      ? Array.from({ length: spec.concurrency }, (_, w) => {
          const make = requestMaker(spec.plan, w);
          return Array.from({ length: spec.perWorker }, (_, i) => encode(make(i)));
        })
      : null;
  const total = spec.concurrency * spec.perWorker;
  const latencies = new Float64Array(total);
  const statusCounts: Record<string, number> = {};
  const expected = new Set(spec.expectStatus);
  let sent = 0;
  let ok = 0;
  let failures = 0;
  let firstFailure: string | null = null;
  let stoppedBy: LoadResult['stoppedBy'] = 'count';
  let scheduled = 0;
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const deadline = started + spec.maxSeconds * 1000;
  const interval = spec.ratePerSecond === undefined ? 0 : 1000 / spec.ratePerSecond;

  const worker = async (w: number) => {
    const make = requestMaker(spec.plan, w);
    const connection = connections[w]!;
    for (let i = 0; i < spec.perWorker; i++) {
      if (shouldStop()) {
        stoppedBy = 'stop';
        return;
      }
      let t0 = performance.now();
      if (interval > 0) {
        const due = started + scheduled++ * interval;
        if (due > t0) await new Promise((resolve) => setTimeout(resolve, due - t0));
        t0 = due;
      }
      if (t0 > deadline || performance.now() > deadline) {
        stoppedBy = 'time';
        return;
      }
      const request = prebuilt?.[w]?.[i] ?? encode(make(i));
      const slot = sent++;
      try {
        const answer = await connection.send(request);
        statusCounts[answer.status] = (statusCounts[answer.status] ?? 0) + 1;
        if (expected.has(answer.status)) ok += 1;
        else {
          failures += 1;
          firstFailure ??= `${answer.status} ${answer.body.slice(0, 300)}`;
        }
      } catch (err) {
        failures += 1;
        statusCounts['error'] = (statusCounts['error'] ?? 0) + 1;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
      latencies[slot] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, w) => worker(w)));
  const durationMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuAtStart);
  for (const connection of connections) connection.close();
  return {
    sent,
    ok,
    statusCounts,
    failures,
    firstFailure,
    durationMs,
    okPerSecond: ok / (durationMs / 1000),
    latency: summarize(latencies.subarray(0, sent)),
    stoppedBy,
    generatorCpu: (cpu.user + cpu.system) / 1000 / durationMs,
  };
}

export interface LoadHandle {
  done: Promise<LoadResult>;
  /** Asks the workers to finish their current request and report. */
  stop(): void;
}

/** Runs `spec` in a child Node process and resolves with its result. */
export function startLoad(spec: LoadSpec): LoadHandle {
  const child = fork(fileURLToPath(new URL('./load-child.ts', import.meta.url)), [], {
    execArgv: ['--experimental-strip-types', '--no-warnings=ExperimentalWarning'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // A hung child must not hang the benchmark: it gets its own time limit plus a margin.
  const killer = setTimeout(() => child.kill('SIGKILL'), (spec.maxSeconds + 60) * 1000);
  const done = new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (message) => resolve(message as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code} before reporting`)));
  }).finally(() => {
    clearTimeout(killer);
    if (child.connected) child.disconnect();
  });
  child.send({ type: 'run', spec });
  return {
    done,
    stop: () => {
      if (child.connected) child.send({ type: 'stop' });
    },
  };
}
