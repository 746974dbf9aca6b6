/**
 * Publisher worker (forked by the benchmark). Publishes over a small pool of keep-alive HTTP/1.1
 * connections on raw `net` sockets (one request in flight per connection, no pipelining), so the
 * client side costs a string build and a header scan per request. Every publication carries
 * `{"t":<shared monotonic ms>,"seq":n}` as its data, which the subscribers read for latency.
 *
 *   paced: a fixed rate of single-publication requests to one channel, for a fixed time
 *   flood:  as many requests as the server answers, round-robin over N channels, single or batched
 */
import net from 'node:net';
import tls from 'node:tls';
import { clockMs, Histogram } from '../lib/histogram.js';
import { selfUsage, serveRpc } from '../lib/ipc.js';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

interface Pending {
  sentAt: number;
  /** Channel index of each publication in the request (flood), or -1 (paced). */
  channels: number[];
  batch: boolean;
}

interface Response {
  status: number;
  body: Buffer;
}

class HttpConn {
  socket: net.Socket | null = null;
  carry: Buffer | null = null;
  pending: Pending | null = null;
  onResponse: ((res: Response | null) => void) | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly tls = false,
  ) {}

  get busy(): boolean {
    return this.pending !== null;
  }

  private ensureSocket(): net.Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = this.tls
      ? tls.connect({ host: this.host, port: this.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
      : net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    this.carry = null;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      this.fail();
    });
    this.socket = socket;
    return socket;
  }

  send(request: string, pending: Pending, onResponse: (res: Response | null) => void): void {
    this.pending = pending;
    this.onResponse = onResponse;
    this.ensureSocket().write(request);
  }

  private fail(): void {
    const cb = this.onResponse;
    this.pending = null;
    this.onResponse = null;
    cb?.(null);
  }

  private onData(chunk: Buffer): void {
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    for (;;) {
      const parsed = parseResponse(buf);
      if (!parsed) break;
      const cb = this.onResponse;
      this.pending = null;
      this.onResponse = null;
      cb?.(parsed.response);
      if (parsed.next >= buf.length) return;
      buf = buf.subarray(parsed.next);
    }
    if (buf.length > 0) this.carry = Buffer.from(buf);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}

/** One complete HTTP/1.1 response at the start of buf (Content-Length or chunked), or null. */
function parseResponse(buf: Buffer): { response: Response; next: number } | null {
  const headEnd = buf.indexOf(CRLFCRLF);
  if (headEnd < 0) return null;
  const head = buf.toString('latin1', 0, headEnd);
  const status = Number(head.slice(9, 12));
  const bodyStart = headEnd + 4;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) {
    const end = bodyStart + Number(length[1]);
    if (end > buf.length) return null;
    return { response: { status, body: buf.subarray(bodyStart, end) }, next: end };
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const parts: Buffer[] = [];
    let pos = bodyStart;
    for (;;) {
      const eol = buf.indexOf(CRLF, pos);
      if (eol < 0) return null;
      const size = parseInt(buf.toString('latin1', pos, eol), 16);
      if (size === 0) {
        if (eol + 4 > buf.length) return null;
        return { response: { status, body: Buffer.concat(parts) }, next: eol + 4 };
      }
      if (eol + 2 + size + 2 > buf.length) return null;
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      pos = eol + 2 + size + 2;
    }
  }
  return { response: { status, body: Buffer.alloc(0) }, next: bodyStart };
}

let conns: HttpConn[] = [];
let host = '127.0.0.1';
let port = 0;
let seq = 0;
const requestHist = new Histogram();

function stamp(): string {
  return (Math.round(clockMs() * 1000) / 1000).toString();
}

function requestText(body: string): string {
  return `POST /api/publish HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\n` + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function publication(channel: string): string {
  return `{"channel":${JSON.stringify(channel)},"data":{"t":${stamp()},"seq":${seq++}}}`;
}

/** Publications the server accepted in this response. */
function acceptedIn(res: Response | null, pending: Pending): number[] {
  if (!res || res.status !== 200) return [];
  if (!pending.batch) return pending.channels;
  try {
    const body = JSON.parse(res.body.toString('utf8')) as { results?: { error?: unknown }[] };
    const ok: number[] = [];
    body.results?.forEach((r, i) => {
      if (r && r.error === undefined && i < pending.channels.length) ok.push(pending.channels[i]!);
    });
    return ok;
  } catch {
    return [];
  }
}

interface PacedArgs {
  rate: number;
  durationMs: number;
  channel: string;
}

/** Single publications at a fixed rate; what could not be sent on time (all connections busy) is skipped. */
function paced(args: PacedArgs) {
  const started = clockMs();
  const target = Math.round((args.rate * args.durationMs) / 1000);
  let sent = 0;
  let accepted = 0;
  let errors = 0;
  let inFlight = 0;
  let behind = 0;
  let lastResponseAt = started;
  requestHist.reset();
  return new Promise<object>((resolve) => {
    let sending = true;
    const done = () => {
      clearTimeout(hardStop);
      resolve({
        target,
        sent,
        accepted,
        errors,
        behind,
        publishMs: Math.min(args.durationMs, clockMs() - started),
        lastResponseMs: lastResponseAt - started,
        request: requestHist.toSparse(),
      });
    };
    const hardStop = setTimeout(() => {
      errors += inFlight;
      inFlight = 0;
      sending = false;
      done();
    }, args.durationMs + 15_000);
    const tick = () => {
      const elapsed = clockMs() - started;
      const due = Math.min(target, Math.floor((args.rate * elapsed) / 1000));
      let free = 0;
      for (const conn of conns) {
        if (sent >= due) break;
        if (conn.busy) continue;
        free += 1;
        const pending: Pending = { sentAt: clockMs(), channels: [-1], batch: false };
        sent += 1;
        inFlight += 1;
        conn.send(requestText(publication(args.channel)), pending, (res) => {
          const now = clockMs();
          inFlight -= 1;
          lastResponseAt = now;
          requestHist.record(now - pending.sentAt);
          if (acceptedIn(res, pending).length === 1) accepted += 1;
          else errors += 1;
          if (!sending && inFlight === 0) done();
        });
      }
      if (free === 0 && sent < due) behind = Math.max(behind, due - sent);
      if (elapsed < args.durationMs && sent < target) {
        setTimeout(tick, 1);
      } else {
        sending = false;
        if (inFlight === 0) done();
      }
    };
    tick();
  });
}

interface FloodArgs {
  durationMs: number;
  channelPrefix: string;
  channels: number;
  batch: number;
}

/** Each connection sends its next request as soon as the previous one is answered, for durationMs. */
function flood(args: FloodArgs) {
  const started = clockMs();
  const perChannel = new Array<number>(args.channels).fill(0);
  const names = Array.from({ length: args.channels }, (_, i) => `${args.channelPrefix}${i}`);
  let next = 0;
  let requests = 0;
  let accepted = 0;
  let errors = 0;
  let inFlight = 0;
  requestHist.reset();
  return new Promise<object>((resolve) => {
    let over = false;
    const done = () => {
      if (over) return;
      over = true;
      clearTimeout(hardStop);
      resolve({
        requests,
        accepted,
        errors,
        publishMs: clockMs() - started,
        perChannel,
        request: requestHist.toSparse(),
      });
    };
    const hardStop = setTimeout(done, args.durationMs + 15_000);
    const sendOn = (conn: HttpConn) => {
      if (clockMs() - started >= args.durationMs) {
        if (inFlight === 0) done();
        return;
      }
      const channels: number[] = [];
      let body: string;
      if (args.batch <= 1) {
        const c = next++ % args.channels;
        channels.push(c);
        body = publication(names[c]!);
      } else {
        const items: string[] = [];
        for (let i = 0; i < args.batch; i++) {
          const c = next++ % args.channels;
          channels.push(c);
          items.push(publication(names[c]!));
        }
        body = `[${items.join(',')}]`;
      }
      const pending: Pending = { sentAt: clockMs(), channels, batch: args.batch > 1 };
      requests += 1;
      inFlight += 1;
      conn.send(requestText(body), pending, (res) => {
        inFlight -= 1;
        requestHist.record(clockMs() - pending.sentAt);
        const ok = acceptedIn(res, pending);
        for (const c of ok) perChannel[c]! += 1;
        accepted += ok.length;
        errors += pending.channels.length - ok.length;
        // A closed connection gets a new socket on the next send; give it a moment.
        if (res) sendOn(conn);
        else setTimeout(() => sendOn(conn), 10);
      });
    };
    for (const conn of conns) sendOn(conn);
  });
}

serveRpc({
  /**
   * Opens the connection pool and completes one request on each connection (to a channel nobody
   * subscribes to) before anything is measured: a server busy fanning out can take seconds to serve
   * the first request of a connection it accepts in the middle of a step.
   */
  open: async (msg: { host: string; port: number; connections: number; tls?: boolean }) => {
    for (const conn of conns) conn.close();
    host = msg.host;
    port = msg.port;
    conns = Array.from({ length: msg.connections }, () => new HttpConn(host, port, msg.tls === true));
    const body = '{"channel":"bench-connection-warmup","data":0}';
    const ok = await Promise.all(
      conns.map(
        (conn) => new Promise<boolean>((resolve) => conn.send(requestText(body), { sentAt: clockMs(), channels: [-1], batch: false }, (res) => resolve(res?.status === 200))),
      ),
    );
    const failed = ok.filter((v) => !v).length;
    if (failed > 0) throw new Error(`${failed} of ${conns.length} publisher connections could not publish`);
    return {};
  },
  paced: (msg) => paced(msg as PacedArgs),
  flood: (msg) => flood(msg as FloodArgs),
  usage: () => selfUsage(),
  close: () => {
    for (const conn of conns) conn.close();
    conns = [];
    return selfUsage();
  },
});
