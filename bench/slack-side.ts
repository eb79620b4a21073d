/**
 * The Slack side of the Slack scenarios, in its own process: a fake Slack Web API on 127.0.0.1 (the
 * tests' fake-slack.ts: records calls, checks Block Kit limits) plus the senders whose effects show
 * up there. Keeping both out of the Leadline process means neither steals its event loop, and both
 * read one clock, so "202 received" and "Slack received the alert" are comparable.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AckResult, AckSpec, HotLeadResult, HotLeadSpec, SlackStats } from './slack-probes.ts';

/** Slack credentials the benchmark's Leadline runs with; the fake Slack accepts exactly this token. */
export const SLACK_BOT_TOKEN = 'xoxb-leadline-test';
export const SLACK_SIGNING_SECRET = 'leadline-bench-signing-secret-0123';

export interface SlackSide {
  /** Web API base for SLACK_API_URL. */
  baseUrl: string;
  hotLeads(spec: HotLeadSpec): Promise<HotLeadResult>;
  acks(spec: AckSpec): Promise<AckResult>;
  stats(): Promise<SlackStats>;
  close(): Promise<void>;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Starts the child and resolves once its fake Slack listens. */
export async function startSlackSide(): Promise<SlackSide> {
  const child = fork(fileURLToPath(new URL('./slack-child.ts', import.meta.url)), [], {
    execArgv: ['--experimental-strip-types', '--no-warnings=ExperimentalWarning'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  let nextId = 1;
  let exited = false;
  child.on('message', (reply: Reply) => {
    const waiter = waiting.get(reply.id);
    if (waiter === undefined) return;
    waiting.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new Error(`slack side: ${reply.error}`));
  });
  child.once('exit', (code) => {
    exited = true;
    for (const waiter of waiting.values()) waiter.reject(new Error(`slack side exited with ${code}`));
    waiting.clear();
  });
  const ready = new Promise<unknown>((resolve, reject) => waiting.set(0, { resolve, reject }));
  const request = <T>(message: Record<string, unknown>): Promise<T> => {
    if (exited) return Promise.reject(new Error('slack side is gone'));
    const id = nextId++;
    const answer = new Promise<unknown>((resolve, reject) => waiting.set(id, { resolve, reject }));
    child.send({ ...message, id });
    return answer as Promise<T>;
  };
  const { baseUrl } = (await ready) as { baseUrl: string };
  return {
    baseUrl,
    hotLeads: (spec) => request<HotLeadResult>({ op: 'hot', spec }),
    acks: (spec) => request<AckResult>({ op: 'acks', spec }),
    stats: () => request<SlackStats>({ op: 'stats' }),
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await request({ op: 'close' }).catch(() => {});
      await gone;
      clearTimeout(killer);
    },
  };
}
