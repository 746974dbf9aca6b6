import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { WebSocketServer } from 'ws';
import { forwardingServiceDefinition } from '../../src/gateway/grpc.js';

/** An HTTP service instance the test owns. */
export interface HttpUpstream {
  name: string;
  port: number;
  url: string;
  /** Every request it received: method, url and headers. */
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  /** Stops listening and cuts open connections (the instance dies). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, upstream: HttpUpstream) => void;

/** By default an instance answers `{"instance": name, "method", "url", "headers"}`. */
export const echo: Handler = (req, res, upstream) => {
  const body = JSON.stringify({ instance: upstream.name, method: req.method, url: req.url, headers: req.headers });
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
};

/** An HTTP (and WebSocket echo) server on a free loopback port. */
export async function startHttpUpstream(name: string, handler: Handler = echo, port = 0): Promise<HttpUpstream> {
  const sockets = new Set<Socket>();
  let server: http.Server;
  const upstream: HttpUpstream = {
    name,
    port,
    url: '',
    requests: [],
    kill: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    restart: () => listen(),
  };
  const listen = async () => {
    server = http.createServer((req, res) => {
      upstream.requests.push({ method: req.method!, url: req.url!, headers: req.headers });
      handler(req, res, upstream);
    });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => {
      ws.send(JSON.stringify({ instance: name, url: req.url, headers: req.headers }));
      ws.on('message', (data) => ws.send(`${name}:${data.toString()}`));
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(upstream.port, '127.0.0.1', resolve));
    upstream.port = (server.address() as AddressInfo).port;
    upstream.url = `http://127.0.0.1:${upstream.port}`;
  };
  await listen();
  return upstream;
}

/** A ForwardingService implementation the test owns, with grpc.health.v1 answering SERVING. */
export interface GrpcUpstream {
  name: string;
  port: number;
  url: string;
  calls: any[];
  kill(): Promise<void>;
  restart(): Promise<void>;
}

type SendHandler = (call: any, name: string) => Promise<{ statusCode: number; headers?: Record<string, { values: string[] }>; body?: Buffer }>;

export const grpcEcho: SendHandler = async (request, name) => ({
  statusCode: 200,
  headers: { 'content-type': { values: ['application/json'] }, 'x-instance': { values: [name] } },
  body: Buffer.from(JSON.stringify({ instance: name, method: request.method, path: request.path, query: request.query, user: request.user, body: request.body.toString() })),
});

export async function startGrpcUpstream(name: string, handler: SendHandler = grpcEcho, port = 0): Promise<GrpcUpstream> {
  let server: grpc.Server;
  const upstream: GrpcUpstream = {
    name,
    port,
    url: '',
    calls: [],
    kill: async () => {
      server.forceShutdown();
    },
    restart: () => listen(),
  };
  const listen = async () => {
    server = new grpc.Server();
    server.addService(forwardingServiceDefinition(), {
      Send: (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
        upstream.calls.push(call.request);
        handler(call.request, name).then(
          (response) => callback(null, response),
          (err: Error) => callback({ code: grpc.status.INTERNAL, details: err.message }),
        );
      },
    });
    server.register(
      '/grpc.health.v1.Health/Check',
      (_call: grpc.ServerUnaryCall<Buffer, number>, callback: grpc.sendUnaryData<number>) => callback(null, 1),
      (status: number) => Buffer.from([0x08, status]),
      (bytes: Buffer) => bytes,
      'unary',
    );
    upstream.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${upstream.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    upstream.url = `grpc://127.0.0.1:${upstream.port}`;
  };
  await listen();
  return upstream;
}

/** The resident set size of a process in bytes, from /proc. */
export function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line.split(/\s+/)[1]) * 1024;
}

/** A request with node's http client, which (unlike fetch) may set Host, Connection and any header. */
type RawAnswer = { status: number; headers: http.IncomingHttpHeaders; text: string; body: any };

/** Sends a request made by `start` and collects its answer, the body parsed as JSON when it is JSON. */
function answerOf(start: (onResponse: (res: IncomingMessage) => void) => http.ClientRequest, body?: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = start((res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, body: parsed });
      });
    });
    req.on('error', reject);
    // A handshake the server accepted: its 101, and the connection closed.
    req.on('upgrade', (res: IncomingMessage, socket: Socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers, text: '', body: undefined });
    });
    req.end(body);
  });
}

export function rawRequest(method: string, url: string, headers: http.OutgoingHttpHeaders = {}, body?: string | Buffer): Promise<RawAnswer> {
  return answerOf((onResponse) => http.request(url, { method, headers, agent: false }, onResponse), body);
}

/** A request whose target goes on the wire exactly as given (dot-segments and percent-encodings untouched, as `curl --path-as-is`). */
export function requestPathAsIs(port: number, method: string, target: string, headers: http.OutgoingHttpHeaders = {}): Promise<RawAnswer> {
  return answerOf((onResponse) => http.request({ host: '127.0.0.1', port, method, path: target, headers, agent: false }, onResponse));
}
