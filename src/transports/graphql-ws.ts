import { makeServer, type Server } from 'graphql-ws';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ConnectRequest } from '../auth/authenticator.js';
import { asSwitchboardError, closeCodeOf } from '../protocol/errors.js';
import { GraphqlConnection, type ResultFraming } from '../graphql/connection.js';
import { WireFormat } from '../protocol/wire.js';
import { wsTextFrame, wsTextFrameHeader } from '../protocol/ws-frame.js';
import type { DeferredBytes } from '../sessions/session.js';
import { WebSocketTransport, type WebSocketSessionHandlers, type WebSocketSink } from './websocket.js';
import { prepareOperation, sourceStream, type GraphqlTransportDeps } from './graphql.js';

interface Extra extends Record<string, unknown> {
  socket: GraphqlSocket;
}

/**
 * A graphql-ws `next` message is `{"type":"next","payload":<result>,"id":` behind its frame header,
 * then the operation's own `<id>}`. The id goes last (key order is free in JSON), so the long part
 * is built once per result and id length and shared by every subscriber. Each operation gathers
 * its messages of a turn in one batch, queued once on its session and made into bytes when the
 * session flushes: per subscriber and publication the fan-out only appends the shared part.
 */
const nextMessage: ResultFraming = (session, op, result) => {
  const batch = (op.messages ??= new NextMessages(Buffer.from(`${op.idJson}}`)));
  const heads = (result.wsHeads ??= []);
  let head = heads[batch.tail.length];
  if (!head) {
    const text = Buffer.from(`{"type":"next","payload":${result.json},"id":`);
    head = heads[batch.tail.length] = Buffer.concat([wsTextFrameHeader(text.length + batch.tail.length), text]);
  }
  const length = head.length + batch.tail.length;
  if (batch.add(head)) session.enqueueDeferred(batch, length);
  else session.queuedMore(length);
  return length;
};

/**
 * One operation's next messages of a turn: the shared parts, each followed by the operation's tail
 * when made into bytes. The array of parts is kept from turn to turn (emptying it would free it,
 * and the next turn would grow it again); the parts it still points to are shared by every
 * operation, a few per publication.
 */
class NextMessages implements DeferredBytes {
  private heads: Buffer[] = [];
  private count = 0;

  constructor(readonly tail: Buffer) {}

  /** Adds a message; true when it is the batch's first, which the session must queue. */
  add(head: Buffer): boolean {
    this.heads[this.count++] = head;
    return this.count === 1;
  }

  copyTo(target: Buffer, at: number): number {
    const { heads, tail } = this;
    for (let i = 0; i < this.count; i++) {
      const head = heads[i]!;
      target.set(head, at);
      target.set(tail, at + head.length);
      at += head.length + tail.length;
    }
    this.drop();
    return at;
  }

  drop(): void {
    if (this.count > maxKeptParts) this.heads = [];
    this.count = 0;
  }
}

/** Parts a batch keeps room for between turns; one that grew past this is let go. */
const maxKeptParts = 256;

/** The token of a connection_init payload: `{token}` or `{Authorization: "Bearer ..."}`. */
function tokenOf(params: Record<string, unknown> | undefined): string | undefined {
  if (typeof params?.token === 'string') return params.token;
  const header = params?.Authorization ?? params?.authorization;
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

/**
 * GraphQL over WebSocket (graphql-transport-ws) at /graphql: graphql-ws's server speaks the
 * protocol; every message it sends and every result goes through the connection's session queue,
 * in order. The session opens at connection_init, once the client is authenticated.
 */
export class GraphqlWebSocket {
  private readonly transport: WebSocketTransport;
  readonly server: Server<Extra>;

  constructor(private readonly deps: GraphqlTransportDeps) {
    const { config, channels } = deps;
    deps.deliverWith(WireFormat.graphqlWs, nextMessage);
    this.transport = new WebSocketTransport(config.limits.maxFrameBytes);
    this.server = makeServer<Record<string, unknown>, Extra>({
      schema: channels.schema,
      connectionInitWaitTimeout: config.auth.firstFrameTimeout,
      onConnect: (ctx) => ctx.extra.socket.connect(ctx.connectionParams),
      onSubscribe: (_ctx, _id, payload) => prepareOperation(channels.schema, channels.documents, config.graphql.maxQueryBytes, deps.stats, payload),
      context: (ctx, id, payload) => ctx.extra.socket.connection!.forOperation(id, payload.query),
      subscribe: sourceStream,
    });
  }

  /** Takes a WebSocket upgrade of /graphql; false for other paths. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
    if (url.pathname !== '/graphql') return false;
    const { deps } = this;
    let request: ConnectRequest;
    try {
      request = deps.admit(req, url, 'graphql-ws');
    } catch (err) {
      deps.refuseUpgrade(socket, err);
      return true;
    }
    const protocol = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')[0]!
      .trim();
    this.transport.upgrade(req, socket, head, (sink) => new GraphqlSocket(this.server, deps, sink, request, protocol));
    return true;
  }
}

/** One graphql-ws connection: the WebSocket's events, and the socket graphql-ws's server writes to. */
class GraphqlSocket implements WebSocketSessionHandlers {
  connection: GraphqlConnection | undefined;
  private receive: ((data: string) => Promise<void>) | undefined;
  private readonly closedCallback: (code?: number, reason?: string) => Promise<void>;
  private gone = false;

  constructor(
    server: Server<Extra>,
    private readonly deps: GraphqlTransportDeps,
    private readonly sink: WebSocketSink,
    private readonly request: ConnectRequest,
    protocol: string,
  ) {
    this.closedCallback = server.opened(
      {
        protocol,
        send: (data) => this.send(data),
        close: (code = 1000, reason = '') => this.close(code, reason),
        onMessage: (cb) => {
          this.receive = cb;
        },
      },
      { socket: this },
    );
  }

  private send(data: string): void {
    const bytes = wsTextFrame(data);
    const session = this.connection?.session;
    if (session) session.enqueue(bytes);
    else this.sink.write(bytes);
  }

  private close(code: number, reason: string): void {
    const session = this.connection?.session;
    if (session) session.close(code, reason);
    else this.sink.end(code, reason);
  }

  /** connection_init: authenticates like any connection and opens the session; refuses with the error's close code. */
  async connect(params: Record<string, unknown> | undefined): Promise<boolean> {
    const { deps } = this;
    try {
      const { identity, channels } = await deps.authorize(this.request, tokenOf(params));
      if (this.gone) return false;
      const { remote } = this.request;
      this.connection = new GraphqlConnection(deps.channels, { id: '', ...identity }, nextMessage, () =>
        deps.openSession({ format: WireFormat.graphqlWs, sink: this.sink, remote, channels, identity }),
      );
      this.connection.open();
      return true;
    } catch (err) {
      const error = asSwitchboardError(err);
      deps.stats.error(error.code);
      this.sink.end(error.closeCode, error.message);
      return false;
    }
  }

  message(text: string): void {
    const { stats } = this.deps;
    const session = this.connection?.session;
    if (session) {
      stats.messagesIn[WireFormat.graphqlWs]! += 1;
      if (session.takeTokens(Date.now(), 1) === 0) {
        stats.limit('rate');
        stats.error('rate_limited');
        session.close(closeCodeOf('rate_limited'), 'rate_limited');
        return;
      }
    }
    // The socket's event boundary: nothing may throw out into the WebSocket library.
    this.receive?.(text).catch((err) => {
      this.deps.log.error({ event: 'graphql.message_failed', session: session?.id, err }, 'graphql-ws message failed');
      stats.error('internal');
      this.close(closeCodeOf('internal'), 'internal error');
    });
  }

  badInput(): void {
    this.deps.stats.error('bad_request');
    this.close(closeCodeOf('bad_request'), 'graphql-transport-ws messages are JSON text');
  }

  tooLarge(): void {
    const { stats } = this.deps;
    stats.limit('frame_size');
    stats.error('too_large');
    this.connection?.session?.closingBecause('too_large');
  }

  activity(): void {
    const session = this.connection?.session;
    if (session) session.lastSeen = Date.now();
  }

  closed(): void {
    this.gone = true;
    this.connection?.session?.handleClosed();
    this.connection?.close();
    this.closedCallback().catch((err) => this.deps.log.warn({ event: 'graphql.close_failed', err: (err as Error).message }, 'graphql-ws close handling failed'));
  }
}
