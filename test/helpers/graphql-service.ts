import { EventEmitter } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { buildSchema, getOperationAST, graphql, parse, validate, type GraphQLSchema } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';

/**
 * A GraphQL service of the tests' own: reviews that any instance can add, announced to the
 * subscribers of every instance sharing the same `ReviewBus` (as a real service shares a
 * database or broker). Each field that names an instance says which instance resolved it.
 */
const schema: GraphQLSchema = buildSchema(`
  type Review { id: ID! stars: Int! instance: String! }
  type Query { reviews: [Review!]! instance: String! header(name: String!): String connectionParam(name: String!): String }
  type Mutation { addReview(stars: Int!): Review! }
  type Subscription { reviewAdded: Review! countdown(from: Int!): Int! filler(size: Int!, count: Int!): String! }
`);

/** Reviews added on any instance, announced to the subscribers of all. */
export class ReviewBus extends EventEmitter {
  readonly reviews: { id: string; stars: number }[] = [];

  add(stars: number): { id: string; stars: number } {
    const review = { id: String(this.reviews.length + 1), stars };
    this.reviews.push(review);
    this.emit('review', review);
    return review;
  }
}

interface Context {
  instance: string;
  headers: IncomingHttpHeaders;
  connectionParams: Record<string, unknown> | undefined;
  bus: ReviewBus;
}

const review = (r: { id: string; stars: number }, ctx: Context) => ({ ...r, instance: ctx.instance });

/** The reviews added from now on, ended at once by `return` (a generator would wait for the next review first). */
function reviewsAdded(ctx: Context): AsyncIterableIterator<{ reviewAdded: ReturnType<typeof review> }> {
  const queued: { id: string; stars: number }[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const listener = (r: { id: string; stars: number }) => {
    queued.push(r);
    wake?.();
  };
  ctx.bus.on('review', listener);
  return {
    async next() {
      while (queued.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve));
      return done ? { value: undefined, done: true } : { value: { reviewAdded: review(queued.shift()!, ctx) }, done: false };
    },
    async return() {
      done = true;
      ctx.bus.off('review', listener);
      wake?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const roots = {
  reviews: (_args: unknown, ctx: Context) => ctx.bus.reviews.map((r) => review(r, ctx)),
  instance: (_args: unknown, ctx: Context) => ctx.instance,
  header: ({ name }: { name: string }, ctx: Context) => ctx.headers[name.toLowerCase()] ?? null,
  connectionParam: ({ name }: { name: string }, ctx: Context) => (ctx.connectionParams?.[name] as string | undefined) ?? null,
  addReview: ({ stars }: { stars: number }, ctx: Context) => review(ctx.bus.add(stars), ctx),
  reviewAdded: (_args: unknown, ctx: Context) => reviewsAdded(ctx),
  countdown: async function* ({ from }: { from: number }) {
    for (let n = from; n >= 0; n--) yield { countdown: n };
  },
  filler: async function* ({ size, count }: { size: number; count: number }) {
    for (let n = 0; n < count; n++) yield { filler: 'x'.repeat(size) };
  },
};

export interface GraphqlService {
  name: string;
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Path and query of every HTTP request and WebSocket handshake it got. */
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  /** graphql-transport-ws operations running on it now. */
  activeOperations(): number;
  /** Stops listening and cuts every connection at once (the instance dies). */
  kill(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/graphql-response+json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** GraphQL over HTTP: POST application/json, or GET with the query in the URL (queries only). */
async function serveHttp(req: IncomingMessage, res: ServerResponse, ctx: Context): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let params: { query?: string; variables?: Record<string, unknown>; operationName?: string };
  if (req.method === 'POST') {
    params = JSON.parse(Buffer.concat(chunks).toString() || '{}');
  } else {
    const search = new URL(req.url!, 'http://service').searchParams;
    params = { query: search.get('query') ?? undefined, operationName: search.get('operationName') ?? undefined, variables: JSON.parse(search.get('variables') ?? '{}') };
  }
  if (!params.query) return send(res, 400, { errors: [{ message: 'no query' }] });
  let document;
  try {
    document = parse(params.query);
  } catch (err) {
    return send(res, 400, { errors: [{ message: (err as Error).message }] });
  }
  const errors = validate(schema, document);
  if (errors.length > 0) return send(res, 400, { errors: errors.map((e) => e.toJSON()) });
  if (req.method === 'GET' && getOperationAST(document, params.operationName)?.operation !== 'query') {
    res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: 'only queries over GET' }] }));
    return;
  }
  send(res, 200, await graphql({ schema, source: params.query, rootValue: roots, contextValue: ctx, variableValues: params.variables, operationName: params.operationName }));
}

/** One instance on a free loopback port (or `port`): GraphQL over HTTP and graphql-transport-ws on every path. */
export async function startGraphqlService(name: string, bus: ReviewBus, port = 0): Promise<GraphqlService> {
  const sockets = new Set<Socket>();
  let active = 0;
  const service: GraphqlService = {
    name,
    port,
    url: '',
    requests: [],
    activeOperations: () => active,
    kill: async () => {
      for (const socket of sockets) socket.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    service.requests.push({ method: req.method!, url: req.url!, headers: req.headers });
    serveHttp(req, res, { instance: name, headers: req.headers, connectionParams: undefined, bus }).catch((err: Error) => send(res, 500, { errors: [{ message: err.message }] }));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (_ws, req) => service.requests.push({ method: 'GET', url: req.url!, headers: req.headers }));
  useServer(
    {
      schema,
      roots: { query: roots, mutation: roots, subscription: roots },
      context: (ctx) => ({ instance: name, headers: ctx.extra.request.headers, connectionParams: ctx.connectionParams, bus }),
      onConnect: (ctx) => ctx.connectionParams?.refuse !== true,
      onOperation: () => {
        active += 1;
      },
      onComplete: () => {
        active -= 1;
      },
    },
    wss,
    0,
  );
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  service.port = (server.address() as AddressInfo).port;
  service.url = `http://127.0.0.1:${service.port}`;
  return service;
}

/** A graphql-ws client (the real one) over `ws`, with handshake headers, and every close it saw. */
export function graphqlWsClient(
  url: string,
  options: { headers?: Record<string, string>; connectionParams?: Record<string, unknown> } = {},
): { client: Client; closes: number[]; sockets: WebSocket[] } {
  const closes: number[] = [];
  const sockets: WebSocket[] = [];
  class HeaderSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: options.headers });
    }
  }
  const client = createClient({
    url,
    webSocketImpl: HeaderSocket,
    connectionParams: options.connectionParams,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    on: { opened: (socket) => sockets.push(socket as WebSocket), closed: (event) => closes.push((event as { code: number }).code) },
  });
  return { client, closes, sockets };
}

/** One operation's results as they come, and how it ended. */
export interface Operation {
  results: FormattedExecutionResult[];
  /** Resolves with the errors it ended with, or undefined when it completed. */
  ended: Promise<readonly { message: string; extensions?: Record<string, unknown> }[] | undefined>;
  /** The next result (waits for it). */
  next(): Promise<FormattedExecutionResult>;
  stop(): void;
}

export function operate(client: Client, payload: SubscribePayload): Operation {
  const results: FormattedExecutionResult[] = [];
  const waiting: ((r: FormattedExecutionResult) => void)[] = [];
  let read = 0;
  let finish: (errors: readonly { message: string }[] | undefined) => void = () => {};
  const ended = new Promise<readonly { message: string }[] | undefined>((resolve) => (finish = resolve));
  const stop = client.subscribe<Record<string, unknown>, Record<string, unknown>>(payload, {
    next: (result) => {
      results.push(result);
      waiting.shift()?.(result);
    },
    error: (err) => finish(Array.isArray(err) ? err : [{ message: String((err as Error).message ?? err) }]),
    complete: () => finish(undefined),
  });
  return {
    results,
    ended,
    next: () => (read < results.length ? Promise.resolve(results[read++]!) : new Promise((resolve) => waiting.push((r) => (read++, resolve(r))))),
    stop,
  };
}
