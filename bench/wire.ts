/**
 * The load generator's HTTP/1.1 client: one keep-alive socket per sender, each request written as
 * one pre-built buffer, answers parsed only as far as status, length and body. Node's `http`
 * client costs ~150 µs of CPU per request (request and response objects, agent, header parsing
 * into objects); on a 2-core machine that was a whole core at 7,000 requests/s, taken from the
 * server being measured. This one does the same exchange for a fraction of that.
 */
import net from 'node:net';

export interface WireAnswer {
  status: number;
  body: string;
}

/** A request's bytes: request line, headers and body, ready to write. */
export function encodeRequest(
  host: string,
  path: string,
  headers: Record<string, string>,
  contentType: string,
  body: string,
): Buffer {
  let head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: ${contentType}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return Buffer.from(`${head}\r\n${body}`);
}

const HEADER_END = Buffer.from('\r\n\r\n');

interface Waiting {
  resolve: (answer: WireAnswer) => void;
  reject: (err: Error) => void;
}

/** One sender's connection: one request at a time, reconnecting when the server closes it. */
export class WireConnection {
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  #socket: net.Socket | null = null;
  #waiting: Waiting | null = null;
  #buffer: Buffer = Buffer.alloc(0);

  constructor(host: string, port: number, timeoutMs: number) {
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = timeoutMs;
  }

  send(request: Buffer): Promise<WireAnswer> {
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#buffer = Buffer.alloc(0);
      this.#connection().write(request);
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }

  #connection(): net.Socket {
    if (this.#socket !== null) return this.#socket;
    const socket = net.connect({ host: this.#host, port: this.#port, noDelay: true });
    socket.setTimeout(this.#timeoutMs, () => {
      if (this.#waiting !== null) this.#fail(socket, new Error(`no answer within ${this.#timeoutMs} ms`));
    });
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (err) => this.#fail(socket, err));
    socket.on('close', () => this.#fail(socket, new Error('connection closed before the answer')));
    this.#socket = socket;
    return socket;
  }

  #fail(socket: net.Socket, err: Error): void {
    socket.destroy();
    if (this.#socket === socket) this.#socket = null;
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.reject(err);
  }

  #receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const answer = parseAnswer(this.#buffer);
    if (answer === null) return;
    const waiting = this.#waiting;
    this.#waiting = null;
    this.#buffer = Buffer.alloc(0);
    if (answer.close) this.close();
    waiting?.resolve({ status: answer.status, body: answer.body });
  }
}

/** A complete answer in `data`, or null while more bytes are needed. */
function parseAnswer(data: Buffer): (WireAnswer & { close: boolean }) | null {
  const headerEnd = data.indexOf(HEADER_END);
  if (headerEnd === -1) return null;
  const head = data.toString('latin1', 0, headerEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection: *close/.test(head);
  const bodyStart = headerEnd + HEADER_END.length;
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length !== null) {
    const end = bodyStart + Number(length[1]);
    return data.length < end ? null : { status, close, body: data.toString('utf8', bodyStart, end) };
  }
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    const parts: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at);
      if (lineEnd === -1) return null;
      const size = Number.parseInt(data.toString('latin1', at, lineEnd), 16);
      if (size === 0) {
        return data.length < lineEnd + 4 ? null : { status, close, body: Buffer.concat(parts).toString() };
      }
      if (data.length < lineEnd + 2 + size + 2) return null;
      parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  // No length: 204/304 carry no body; anything else would end with the connection.
  return { status, close, body: '' };
}
