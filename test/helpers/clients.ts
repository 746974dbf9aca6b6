import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';

/** Waits for items pushed into a queue, in order, with a timeout. */
class Inbox<T> {
  private readonly items: T[] = [];
  private waiters: { match: (item: T) => boolean; resolve: (item: T) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }[] = [];
  readonly all: T[] = [];

  push(item: T): void {
    this.all.push(item);
    const index = this.waiters.findIndex((w) => w.match(item));
    if (index !== -1) {
      const [waiter] = this.waiters.splice(index, 1);
      clearTimeout(waiter!.timer);
      waiter!.resolve(item);
      return;
    }
    this.items.push(item);
  }

  /** The next item matching the predicate (earlier non-matching items are skipped and dropped). */
  next(match: (item: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
    const index = this.items.findIndex(match);
    if (index !== -1) {
      const [item] = this.items.splice(0, index + 1).slice(-1);
      return Promise.resolve(item!);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`timed out after ${timeoutMs} ms; received: ${JSON.stringify(this.all).slice(-800)}`));
      }, timeoutMs);
      this.waiters.push({ match, resolve, reject, timer });
    });
  }
}

export interface WsClient {
  ws: WebSocket;
  inbox: Inbox<any>;
  /** The text of every frame received, exactly as it arrived. */
  texts: string[];
  send(frame: unknown): void;
  next(match?: (frame: any) => boolean, timeoutMs?: number): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** A real WebSocket client that parses every text frame as JSON. */
export async function connectWs(url: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
  const ws = new WebSocket(url, options);
  const inbox = new Inbox<any>();
  const texts: string[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    texts.push(text);
    try {
      inbox.push(JSON.parse(text));
    } catch {
      inbox.push({ raw: text });
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
    });
  });
  return {
    ws,
    inbox,
    texts,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: (match, timeoutMs) => inbox.next(match, timeoutMs),
    closed,
    close: () => ws.terminate(),
  };
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
  comment?: string;
}

export interface StreamClient<T> {
  status: number;
  headers: http.IncomingHttpHeaders;
  inbox: Inbox<T>;
  /** Everything the response body carried so far, exactly as it arrived. */
  readonly raw: string;
  next(match?: (item: T) => boolean, timeoutMs?: number): Promise<T>;
  ended: Promise<void>;
  close(): void;
}

function openStream(url: string, headers: Record<string, string>): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => resolve({ req, res }));
    req.on('error', reject);
  });
}

function streamClient<T>(req: http.ClientRequest, res: http.IncomingMessage, inbox: Inbox<T>, raw: () => string): StreamClient<T> {
  const ended = new Promise<void>((resolve) => res.on('close', () => resolve()));
  return {
    status: res.statusCode!,
    headers: res.headers,
    inbox,
    get raw() {
      return raw();
    },
    next: (m, t) => inbox.next(m, t),
    ended,
    close: () => req.destroy(),
  };
}

/** A real SSE client over HTTP: parses events (and comments, as event 'comment'). */
export async function connectSse(url: string, headers: Record<string, string> = {}): Promise<StreamClient<SseEvent>> {
  const { req, res } = await openStream(url, { accept: 'text/event-stream', ...headers });
  const inbox = new Inbox<SseEvent>();
  let buffer = '';
  let raw = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    raw += chunk;
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      let fields = 0;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          event.comment = line.slice(1).trim();
          continue;
        }
        const colon = line.indexOf(':');
        const name = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        fields++;
        if (name === 'event') event.event = value;
        else if (name === 'data') data.push(value);
        else if (name === 'id') event.id = value;
        else if (name === 'retry') event.event = 'retry';
      }
      event.data = data.join('\n');
      if (fields === 0 && event.comment !== undefined) event.event = 'comment';
      inbox.push(event);
    }
  });
  return streamClient(req, res, inbox, () => raw);
}

/** A real HTTP-streaming client reading newline-delimited JSON. */
export async function connectNdjson(url: string): Promise<StreamClient<any>> {
  const { req, res } = await openStream(url, {});
  const inbox = new Inbox<any>();
  let buffer = '';
  let raw = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    raw += chunk;
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      inbox.push(JSON.parse(line));
    }
  });
  return streamClient(req, res, inbox, () => raw);
}

export interface RawClient {
  socket: net.Socket;
  /** Bytes received right after the response head (while the socket was read). */
  received: Buffer;
  /** Resolves when the TCP connection is closed. */
  closed: Promise<void>;
}

/** Sends a GET by hand and resolves once the response head arrived, leaving the socket paused. */
async function rawRequest(url: string, headers: string[], expectStatus: number): Promise<RawClient> {
  const { hostname, port, pathname, search } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`);
  let head = Buffer.alloc(0);
  const received = await new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.pause();
      const status = head.subarray(0, head.indexOf('\r\n')).toString();
      if (!status.includes(` ${expectStatus} `)) reject(new Error(`unexpected response: ${head.toString()}`));
      else resolve(head.subarray(end + 4));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('connection closed before the response head')));
  });
  return { socket, received, closed };
}

/**
 * A WebSocket client at the TCP level: sends the opening handshake by hand and resolves once the
 * server has answered 101, with the socket paused, so a test can leave it unread like a stuck client.
 */
export function connectRawWs(url: string): Promise<RawClient> {
  const key = randomBytes(16).toString('base64');
  return rawRequest(url, ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'], 101);
}

/** An SSE or HTTP-streaming request at the TCP level, resolved on the 200 response head with the socket paused. */
export function connectRawStream(url: string): Promise<RawClient> {
  return rawRequest(url, ['Accept: */*'], 200);
}
