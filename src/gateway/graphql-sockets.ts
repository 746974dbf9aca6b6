import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, GraphQLSchema, parse, type ExecutionArgs } from 'graphql';
import { handleProtocols, makeServer, type Server } from 'graphql-ws';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config/schema.js';
import type { Stats } from '../observability/metrics.js';
import { errorsOf, type GraphqlConnection } from './graphql-connection.js';
import { keepAlive } from './ws-keep-alive.js';

interface SocketExtra {
  connection: GraphqlConnection;
}

/**
 * The gateway executes nothing: an operation is parsed (for graphql-ws to tell subscriptions
 * from queries, and to answer a syntax error itself) and forwarded. graphql-ws's execution
 * arguments still name a schema; this empty one is never used.
 */
const forwardingOnly = new GraphQLSchema({});

/** The close code of graphql-transport-ws for a server-side failure. */
const INTERNAL_ERROR = 4500;

/**
 * The client side of graphql routes: WebSockets speaking graphql-transport-ws, terminated here
 * by graphql-ws's server (`makeServer`), each operation handed to the socket's GraphqlConnection,
 * which forwards it to an instance of the route's service.
 */
export class GraphqlSockets {
  private readonly wss: WebSocketServer;
  private readonly server: Server<SocketExtra>;
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly settings: Config['gateway']['graphql'],
    private readonly stats: Stats,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: settings.maxMessageBytes,
      handleProtocols: (protocols) => handleProtocols(protocols),
    });
    const forward = (args: ExecutionArgs) => {
      const { connection, payload } = args.contextValue as { connection: GraphqlConnection; payload: Parameters<GraphqlConnection['forward']>[0] };
      return connection.forward(payload) as AsyncIterableIterator<never>;
    };
    this.server = makeServer<Record<string, unknown> | undefined, SocketExtra>({
      connectionInitWaitTimeout: settings.connectionInitTimeout,
      onConnect: (ctx) => {
        ctx.extra.connection.connectionParams = ctx.connectionParams;
      },
      onSubscribe: (ctx, _id, payload) => {
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          if (err instanceof GraphQLError) return [err];
          throw err;
        }
        return {
          schema: forwardingOnly,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: { connection: ctx.extra.connection, payload },
        };
      },
      execute: forward,
      subscribe: forward,
      // The instance's results and errors go to the client as the instance sent them.
      onNext: (_ctx, _id, _payload, _args, result) => result as never,
      // The gateway's own errors (a syntax error) as graphql-ws formats them; a forwarded operation's as errorsOf says.
      onError: (_ctx, _id, _payload, errors) => (errors[0]?.originalError ? errorsOf(errors[0].originalError) : errors.map((e) => e.toJSON())),
    });
  }

  /** Completes the client's handshake and serves graphql-transport-ws on it. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, connection: GraphqlConnection): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      keepAlive(ws, this.settings.keepAlive);
      ws.on('error', (err) => {
        if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.stats.limit('frame_size');
      });
      const closed = this.server.opened(
        {
          protocol: ws.protocol,
          send: (data) => {
            if (ws.readyState !== ws.OPEN) return;
            ws.send(data);
            // A client that reads slower than its instances send is cut, not buffered for without end.
            if (ws.bufferedAmount > this.settings.maxBufferedBytes) {
              this.stats.limit('buffer');
              // Cut at once: a close frame would wait behind what the client does not read.
              ws.terminate();
            }
          },
          close: (code, reason) => ws.close(code, reason),
          onMessage: (handle) =>
            ws.on('message', (data) => {
              handle(String(data)).catch((err: unknown) => {
                this.log.error({ event: 'gateway.graphql_failed', err }, 'GraphQL message handling failed');
                ws.close(INTERNAL_ERROR, 'Internal server error');
              });
            }),
        },
        { connection },
      );
      ws.once('close', (code, reason) => {
        this.sockets.delete(ws);
        closed(code, reason.toString())
          .catch((err: unknown) => this.log.error({ event: 'gateway.graphql_failed', err }, 'GraphQL connection cleanup failed'))
          .finally(() => connection.close());
      });
    });
  }

  /** The node stops: every client is told to go away. */
  close(): void {
    for (const ws of this.sockets) ws.close(1001, 'Going away');
  }
}
