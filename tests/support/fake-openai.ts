import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeClassification {
  intent: string;
  confidence: number;
  reason: string;
}

/**
 * What the fake answers the next call with. `content` is the assistant message as sent (garbage
 * JSON, prose, a wrong shape); `rawBody` replaces the whole HTTP body; `hang` never answers, so the
 * client times out.
 */
export type FakeOpenAiAnswer =
  | { classification: FakeClassification }
  | { content: string }
  | { rawBody: string }
  | { refusal: string }
  | { status: 429; retryAfter?: number }
  | { status: 401 | 403 | 400 | 404 | 500 | 502 | 503 }
  | { hang: true };

export interface FakeOpenAiRequest {
  method: string;
  path: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
  /** The HTTP status answered, null for a hung call. */
  status: number | null;
}

export interface FakeOpenAi {
  /** Point the SDK's `baseURL` here: `http://127.0.0.1:<port>/v1`. */
  baseUrl: string;
  apiKey: string;
  /** The answer for calls without a scripted one; `b2b` at 0.86 unless set. */
  setDefault(classification: FakeClassification): void;
  /** The next `n` calls answer this way, in the order scripted. */
  answerNext(n: number, answer: FakeOpenAiAnswer): void;
  requests(): FakeOpenAiRequest[];
  /** The user message of a recorded chat completion request (the lead's text in its frame). */
  userMessage(request: FakeOpenAiRequest): string;
  /** Forgets requests, scripted answers and the default. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_CLASSIFICATION: FakeClassification = {
  intent: 'b2b',
  confidence: 0.86,
  reason: 'Asks for a quote for monthly sequencing volumes.',
};

/**
 * Starts a real HTTP server on 127.0.0.1 that answers `POST /v1/chat/completions` like OpenAI's chat
 * completions API: the scripted classification as the assistant's JSON content, or a scripted
 * failure. Every request is recorded; a wrong API key answers 401 as OpenAI does.
 *
 * @example
 * const openai = await startFakeOpenAi();
 * const classifier = createIntentClassifier({ apiKey: openai.apiKey, baseUrl: openai.baseUrl, model: 'gpt-test', timeoutMs: 2_000 });
 * openai.answerNext(1, { status: 429, retryAfter: 7 });
 * afterAll(() => openai.close());
 */
export async function startFakeOpenAi(options: { apiKey?: string } = {}): Promise<FakeOpenAi> {
  const apiKey = options.apiKey ?? 'sk-leadline-test-0000000000000000';
  let requests: FakeOpenAiRequest[] = [];
  let script: FakeOpenAiAnswer[] = [];
  let fallback = DEFAULT_CLASSIFICATION;
  let completionCounter = 0;

  const send = (res: ServerResponse, request: FakeOpenAiRequest, status: number, body: string, headers = {}) => {
    request.status = status;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
  const sendError = (
    res: ServerResponse,
    request: FakeOpenAiRequest,
    status: number,
    error: { message: string; type: string; code: string | null },
    headers = {},
  ) => send(res, request, status, JSON.stringify({ error: { ...error, param: null } }), headers);

  const completion = (model: unknown, message: Record<string, unknown>) => {
    completionCounter += 1;
    return JSON.stringify({
      id: `chatcmpl-leadline${completionCounter}`,
      object: 'chat.completion',
      created: 1_763_640_000 + completionCounter,
      model: typeof model === 'string' ? `${model}-2025-01-01` : 'unknown',
      choices: [{ index: 0, message: { role: 'assistant', refusal: null, ...message }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 },
    });
  };

  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const request: FakeOpenAiRequest = {
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', 'http://127.0.0.1').pathname,
      body: parseJson(raw),
      authorization: req.headers.authorization,
      status: null,
    };
    requests.push(request);
    if (request.method !== 'POST' || request.path !== '/v1/chat/completions') {
      return sendError(res, request, 404, { message: 'Unknown path', type: 'invalid_request_error', code: null });
    }
    if (request.authorization !== `Bearer ${apiKey}`) {
      return sendError(res, request, 401, {
        message: 'Incorrect API key provided.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      });
    }
    const answer = script.shift() ?? { classification: fallback };
    if ('hang' in answer) return; // never answered; close() destroys the socket
    if ('status' in answer) {
      if (answer.status === 429) {
        return sendError(
          res,
          request,
          429,
          { message: 'Rate limit reached.', type: 'requests', code: 'rate_limit_exceeded' },
          answer.retryAfter === undefined ? {} : { 'retry-after': String(answer.retryAfter) },
        );
      }
      const type = answer.status >= 500 ? 'server_error' : 'invalid_request_error';
      return sendError(res, request, answer.status, { message: `Scripted ${answer.status}`, type, code: null });
    }
    if ('rawBody' in answer) return send(res, request, 200, answer.rawBody);
    if ('refusal' in answer) {
      return send(res, request, 200, completion(request.body['model'], { content: null, refusal: answer.refusal }));
    }
    const content = 'content' in answer ? answer.content : JSON.stringify(answer.classification);
    return send(res, request, 200, completion(request.body['model'], { content }));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    apiKey,
    setDefault: (classification) => {
      fallback = classification;
    },
    answerNext: (n, answer) => {
      for (let i = 0; i < n; i += 1) script.push(answer);
    },
    requests: () => [...requests],
    userMessage: (request) => {
      const messages = Array.isArray(request.body['messages']) ? (request.body['messages'] as unknown[]) : [];
      const user = messages.find(
        (m): m is { role: string; content: string } =>
          typeof m === 'object' && m !== null && (m as { role?: unknown }).role === 'user',
      );
      return typeof user?.content === 'string' ? user.content : '';
    },
    reset: () => {
      requests = [];
      script = [];
      fallback = DEFAULT_CLASSIFICATION;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
