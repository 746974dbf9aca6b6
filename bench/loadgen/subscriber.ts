/**
 * Subscriber worker (forked by the benchmark). Holds many client connections on raw `net`
 * sockets: does the WebSocket handshake (or the SSE request) by hand, then only walks frame
 * headers and counts publications per connection. No per-message JSON.parse: one message in
 * `sampleEvery` has its `"t":` timestamp read for the latency histogram.
 *
 * Kinds:
 *   ws   native shape: first text frame is the welcome, publications are `{"type":"message",...}`
 *   sio  engine.io v4 websocket transport: `0{...}` open -> send `40`; `40{...}` joined;
 *        `2` ping -> send `3`; publications are `42[...]`
 *   sse  `GET` with chunked transfer encoding; `event: welcome` first, publications are `event: message`
 *   gql  graphql-transport-ws: `connection_init` -> `connection_ack` -> one `subscribe` to the channel;
 *        publications are `next` messages of that operation
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { clockMs, Histogram } from '../lib/histogram.js';
import { selfUsage, serveRpc } from '../lib/ipc.js';

type Kind = 'ws' | 'sio' | 'sse' | 'gql';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const LFLF = Buffer.from('\n\n');
const T_KEY = Buffer.from('"t":');
const WS_MESSAGE = Buffer.from('{"type":"message"');
const SSE_MESSAGE = Buffer.from('event: message\n');
const SSE_WELCOME = Buffer.from('event: welcome\n');
const GQL_ACK = Buffer.from('{"type":"connection_ack"');
const GQL_NEXT = Buffer.from('{"type":"next"');

/** A masked client frame (mask key 0, so the payload bytes stay as they are). */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 0xffff) throw new Error('payload too long');
  const length = payload.length <= 125 ? [0x80 | payload.length] : [0x80 | 126, payload.length >> 8, payload.length & 0xff];
  return Buffer.concat([Buffer.from([0x80 | opcode, ...length, 0, 0, 0, 0]), payload]);
}
const SIO_JOIN = maskedFrame(0x1, Buffer.from('40'));
const SIO_PONG = maskedFrame(0x1, Buffer.from('3'));
const GQL_INIT = maskedFrame(0x1, Buffer.from('{"type":"connection_init"}'));

/**
 * The one graphql-ws operation of a subscriber: its channel's publications, with only their data
 * selected. Its id is a UUID, as graphql-ws clients (Apollo, urql) make them.
 */
function gqlSubscribe(channel: string): Buffer {
  const payload = { query: 'subscription($name: String!) { channel(name: $name) { data } }', variables: { name: channel } };
  return maskedFrame(0x1, Buffer.from(JSON.stringify({ id: randomUUID(), type: 'subscribe', payload })));
}

const enum State {
  Connecting,
  Handshake,
  Open,
  Closed,
}

class Conn {
  state = State.Connecting;
  ready = false;
  count = 0;
  carry: Buffer | null = null;
  /** SSE: chunked transfer decoding state. */
  chunked = false;
  chunkLeft = 0;
  chunkSkip = 0;
  sseCarry: Buffer | null = null;
  onReady: ((ok: boolean) => void) | null = null;
  socket!: net.Socket;

  constructor(
    readonly id: number,
    readonly channel: string,
  ) {}
}

/**
 * Every socket reads into this one buffer (`onread`): no Buffer allocated per read and no stream
 * machinery. Safe because each read is handled synchronously before the next one; bytes kept
 * across reads are copied out.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

let kind: Kind = 'ws';
let conns: Conn[] = [];
let received = 0;
let closed = 0;
let sampleMask = 15;
const hist = new Histogram();

function startsWith(buf: Buffer, pos: number, end: number, prefix: Buffer): boolean {
  const n = prefix.length;
  if (end - pos < n) return false;
  for (let i = 0; i < n; i++) if (buf[pos + i] !== prefix[i]) return false;
  return true;
}

/** Reads the number after `"t":` inside [start, end) and records now - t. */
function sample(buf: Buffer, start: number, end: number): void {
  const at = buf.indexOf(T_KEY, start);
  if (at < 0 || at >= end) return;
  let i = at + 4;
  let value = 0;
  let c = buf[i]!;
  while (c >= 48 && c <= 57) {
    value = value * 10 + (c - 48);
    c = buf[++i]!;
  }
  if (c === 46) {
    let scale = 0.1;
    c = buf[++i]!;
    while (c >= 48 && c <= 57) {
      value += (c - 48) * scale;
      scale /= 10;
      c = buf[++i]!;
    }
  }
  if (value > 0) hist.record(clockMs() - value);
}

function counted(conn: Conn, buf: Buffer, start: number, end: number): void {
  conn.count += 1;
  received += 1;
  if (((conn.count + conn.id) & sampleMask) === 0) sample(buf, start, end);
}

function becomeReady(conn: Conn): void {
  if (conn.ready) return;
  conn.ready = true;
  const cb = conn.onReady;
  conn.onReady = null;
  cb?.(true);
}

function onText(conn: Conn, buf: Buffer, start: number, end: number): void {
  if (kind === 'gql') {
    if (startsWith(buf, start, end, GQL_NEXT)) counted(conn, buf, start, end);
    else if (!conn.ready && startsWith(buf, start, end, GQL_ACK)) {
      conn.socket.write(gqlSubscribe(conn.channel));
      becomeReady(conn);
    }
    return;
  }
  if (kind === 'ws') {
    if (!conn.ready) becomeReady(conn);
    else if (startsWith(buf, start, end, WS_MESSAGE)) counted(conn, buf, start, end);
    return;
  }
  // engine.io / socket.io packets
  const b0 = buf[start];
  if (b0 === 0x34 /* 4 */) {
    const b1 = buf[start + 1];
    if (b1 === 0x32 /* 42: event */) counted(conn, buf, start, end);
    else if (b1 === 0x30 /* 40: namespace joined */) becomeReady(conn);
  } else if (b0 === 0x32 /* 2: ping */) {
    conn.socket.write(SIO_PONG);
  } else if (b0 === 0x30 /* 0: open */) {
    conn.socket.write(SIO_JOIN);
  }
}

/** Walks server frames (unmasked). Incomplete frames are carried to the next read. */
function onFrames(conn: Conn, chunk: Buffer): void {
  let buf = chunk;
  if (conn.carry) {
    buf = Buffer.concat([conn.carry, chunk]);
    conn.carry = null;
  }
  const len = buf.length;
  let pos = 0;
  while (pos + 2 <= len) {
    const b0 = buf[pos]!;
    const b1 = buf[pos + 1]!;
    let payload = b1 & 0x7f;
    let header = 2;
    if (payload === 126) {
      if (pos + 4 > len) break;
      payload = buf.readUInt16BE(pos + 2);
      header = 4;
    } else if (payload === 127) {
      if (pos + 10 > len) break;
      payload = buf.readUInt32BE(pos + 2) * 2 ** 32 + buf.readUInt32BE(pos + 6);
      header = 10;
    }
    if (b1 & 0x80) header += 4;
    const end = pos + header + payload;
    if (end > len) break;
    const opcode = b0 & 0x0f;
    if (opcode === 0x1) onText(conn, buf, pos + header, end);
    else if (opcode === 0x9) conn.socket.write(maskedFrame(0xa, buf.subarray(pos + header, end)));
    else if (opcode === 0x8) conn.socket.destroy();
    pos = end;
  }
  // Reads land in a buffer shared by every socket (see READ_BUFFER), so what is carried is copied.
  if (pos < len) conn.carry = Buffer.from(buf.subarray(pos));
}

/** Scans decoded SSE bytes for complete events (terminated by a blank line). */
function onSseBytes(conn: Conn, piece: Buffer): void {
  let buf = piece;
  if (conn.sseCarry) {
    buf = Buffer.concat([conn.sseCarry, piece]);
    conn.sseCarry = null;
  }
  let pos = 0;
  for (;;) {
    const end = buf.indexOf(LFLF, pos);
    if (end < 0) break;
    if (startsWith(buf, pos, end, SSE_MESSAGE)) counted(conn, buf, pos, end);
    else if (startsWith(buf, pos, end, SSE_WELCOME)) becomeReady(conn);
    pos = end + 2;
  }
  if (pos < buf.length) conn.sseCarry = Buffer.from(buf.subarray(pos));
}

/** Decodes chunked transfer encoding and hands the data to the SSE scanner. */
function onSseBody(conn: Conn, chunk: Buffer): void {
  if (!conn.chunked) {
    onSseBytes(conn, chunk);
    return;
  }
  let buf = chunk;
  if (conn.carry) {
    buf = Buffer.concat([conn.carry, chunk]);
    conn.carry = null;
  }
  const len = buf.length;
  let pos = 0;
  while (pos < len) {
    if (conn.chunkSkip > 0) {
      const n = Math.min(conn.chunkSkip, len - pos);
      conn.chunkSkip -= n;
      pos += n;
      continue;
    }
    if (conn.chunkLeft > 0) {
      const n = Math.min(conn.chunkLeft, len - pos);
      onSseBytes(conn, buf.subarray(pos, pos + n));
      conn.chunkLeft -= n;
      pos += n;
      if (conn.chunkLeft === 0) conn.chunkSkip = 2;
      continue;
    }
    const eol = buf.indexOf(CRLF, pos);
    if (eol < 0) {
      conn.carry = Buffer.from(buf.subarray(pos));
      return;
    }
    const size = parseInt(buf.toString('latin1', pos, eol), 16);
    pos = eol + 2;
    if (!(size > 0)) {
      conn.socket.destroy();
      return;
    }
    conn.chunkLeft = size;
  }
}

function onHandshake(conn: Conn, chunk: Buffer): void {
  const buf = conn.carry ? Buffer.concat([conn.carry, chunk]) : chunk;
  conn.carry = null;
  const end = buf.indexOf(CRLFCRLF);
  if (end < 0) {
    if (buf.length > 16384) conn.socket.destroy();
    else conn.carry = Buffer.from(buf);
    return;
  }
  const head = buf.toString('latin1', 0, end);
  const status = head.slice(9, 12);
  if (status !== (kind === 'sse' ? '200' : '101')) {
    conn.socket.destroy();
    return;
  }
  conn.state = State.Open;
  conn.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
  if (kind === 'gql') conn.socket.write(GQL_INIT);
  const rest = buf.subarray(end + 4);
  if (rest.length > 0) onData(conn, rest);
}

function onData(conn: Conn, chunk: Buffer): void {
  if (conn.state === State.Open) {
    if (kind === 'sse') onSseBody(conn, chunk);
    else onFrames(conn, chunk);
  } else if (conn.state === State.Handshake) {
    onHandshake(conn, chunk);
  }
}

interface ConnectArgs {
  kind: Kind;
  host: string;
  port: number;
  /** Connect over TLS (wss, https), trusting any certificate. */
  tls?: boolean;
  /** SSE over HTTP/2 streams (with tls), STREAMS_PER_SESSION to a connection. */
  h2?: boolean;
  /** Path with `{ch}` where the connection's channel goes. */
  pathTemplate: string;
  /** `same`: every connection on `channel`; `indexed`: connection i on `${channel}${i}`. */
  channelMode: 'same' | 'indexed';
  channel: string;
  firstId: number;
  count: number;
  concurrency: number;
  localAddresses: string[];
  timeoutMs: number;
}

/** HTTP/2 sessions of the h2 SSE mode, each carrying up to STREAMS_PER_SESSION streams, as a browser tab would. */
const STREAMS_PER_SESSION = 100;
const h2Sessions = new Map<number, http2.ClientHttp2Session>();

function h2Session(args: ConnectArgs, id: number): http2.ClientHttp2Session {
  const index = Math.floor(id / STREAMS_PER_SESSION);
  let session = h2Sessions.get(index);
  if (!session || session.destroyed || session.closed) {
    session = http2.connect(`https://${args.host}:${args.port}`, { rejectUnauthorized: false });
    session.on('error', () => {});
    h2Sessions.set(index, session);
  }
  return session;
}

/**
 * Reports a connection's outcome once: true when it becomes ready, false when it fails first;
 * one not ready after 15 s is aborted (and so fails).
 */
function settleOnce(conn: Conn, abort: () => void, done: (ok: boolean) => void): (ok: boolean) => void {
  let finished = false;
  const timer = setTimeout(() => {
    if (!conn.ready) abort();
  }, 15_000);
  const finish = (ok: boolean) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done(ok);
  };
  conn.onReady = finish;
  return finish;
}

/** An SSE subscriber as one stream of a shared HTTP/2 connection. */
function openH2(args: ConnectArgs, id: number, channel: string, path: string, done: (ok: boolean) => void): Conn {
  const conn = new Conn(id, channel);
  const stream = h2Session(args, id).request({ ':path': path, accept: 'text/event-stream' });
  stream.end();
  conn.socket = stream as unknown as net.Socket;
  conn.state = State.Handshake;
  const finish = settleOnce(conn, () => stream.destroy(), done);
  stream.on('response', (headers) => {
    if (headers[':status'] !== 200) return void stream.destroy();
    conn.state = State.Open;
    conn.chunked = false;
  });
  stream.on('data', (chunk: Buffer) => onData(conn, chunk));
  stream.on('error', () => {});
  stream.on('close', () => {
    if (conn.state !== State.Closed && conn.ready) closed += 1;
    conn.state = State.Closed;
    conn.sseCarry = null;
    finish(false);
  });
  return conn;
}

function open(args: ConnectArgs, id: number, done: (ok: boolean) => void): Conn {
  const channel = args.channelMode === 'same' ? args.channel : `${args.channel}${id}`;
  const path = args.pathTemplate.replace('{ch}', encodeURIComponent(channel));
  if (args.h2) return openH2(args, id, channel, path, done);
  const localAddress = args.localAddresses.length > 0 ? args.localAddresses[id % args.localAddresses.length] : undefined;
  const conn = new Conn(id, channel);
  // TLS sockets take no onread buffer: their bytes arrive as data events.
  const socket = args.tls
    ? tls.connect({ socket: net.connect({ host: args.host, port: args.port, localAddress }), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
    : net.connect({
        host: args.host,
        port: args.port,
        localAddress,
        onread: {
          buffer: READ_BUFFER,
          callback: (nread: number, buf: Buffer) => {
            onData(conn, buf.subarray(0, nread));
            return true;
          },
        },
      });
  if (args.tls) socket.on('data', (chunk: Buffer) => onData(conn, chunk));
  conn.socket = socket;
  const finish = settleOnce(conn, () => socket.destroy(), done);
  socket.setNoDelay(true);
  socket.on(args.tls ? 'secureConnect' : 'connect', () => {
    conn.state = State.Handshake;
    const hostHeader = `${args.host}:${args.port}`;
    if (args.kind === 'sse') {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nAccept: text/event-stream\r\n\r\n`);
    } else {
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${args.kind === 'gql' ? 'Sec-WebSocket-Protocol: graphql-transport-ws\r\n' : ''}\r\n`,
      );
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    if (conn.state !== State.Closed && conn.ready) closed += 1;
    conn.state = State.Closed;
    conn.carry = null;
    conn.sseCarry = null;
    finish(false);
  });
  return conn;
}

function connectAll(args: ConnectArgs): Promise<{ connected: number; failed: number; elapsedMs: number }> {
  kind = args.kind;
  const started = clockMs();
  return new Promise((resolve) => {
    let next = 0;
    let inFlight = 0;
    let settled = 0;
    let connected = 0;
    let over = false;
    const finish = () => {
      if (over) return;
      over = true;
      clearTimeout(deadline);
      resolve({ connected, failed: args.count - connected, elapsedMs: clockMs() - started });
    };
    const deadline = setTimeout(finish, args.timeoutMs);
    const launch = () => {
      while (!over && inFlight < args.concurrency && next < args.count) {
        const id = args.firstId + next++;
        inFlight += 1;
        conns.push(
          open(args, id, (ok) => {
            inFlight -= 1;
            settled += 1;
            if (ok) connected += 1;
            if (settled === args.count) finish();
            else launch();
          }),
        );
      }
    };
    if (args.count === 0) finish();
    else launch();
  });
}

function usage() {
  const u = selfUsage();
  return { cpuMicros: u.cpuMicros, rss: u.rss };
}

serveRpc({
  connect: (msg) => connectAll(msg as ConnectArgs),
  reset: (msg: { sampleEvery: number }) => {
    // A power of two so the sampling test is a mask.
    let every = 1;
    while (every * 2 <= Math.max(1, msg.sampleEvery)) every *= 2;
    sampleMask = every - 1;
    for (const conn of conns) conn.count = 0;
    received = 0;
    hist.reset();
    return usage();
  },
  /** Against the expected count per connection (one number, or an array indexed by connection id). */
  progress: (msg: { expected: number | number[] }) => {
    let deficit = 0;
    let excess = 0;
    let open = 0;
    const { expected } = msg;
    for (const conn of conns) {
      if (!conn.ready) continue;
      if (conn.state === State.Open) open += 1;
      const want = typeof expected === 'number' ? expected : (expected[conn.id] ?? 0);
      const d = want - conn.count;
      if (d > 0) deficit += d;
      else excess -= d;
    }
    return { received, deficit, excess, closed, open };
  },
  collect: () => ({ received, closed, hist: hist.toSparse(), ...usage() }),
  usage: () => usage(),
  close: () => {
    for (const conn of conns) conn.socket.destroy();
    conns = [];
    for (const session of h2Sessions.values()) session.destroy();
    h2Sessions.clear();
    return usage();
  },
});
