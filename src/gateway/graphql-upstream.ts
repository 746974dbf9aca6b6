import type { OutgoingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { GraphQLFormattedError } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult, type SubscribePayload } from 'graphql-ws';
import WebSocket from 'ws';
import { SwitchboardError } from '../protocol/errors.js';
import { classify } from './http-proxy.js';
import { UpstreamError } from './upstream-error.js';
import { keepAlive } from './ws-keep-alive.js';

export interface LinkOptions {
  /** ws(s)://host:port/path?query of the instance's GraphQL endpoint. */
  url: string;
  /** The handshake's headers (forwarding headers, claim headers); the WebSocket ones are the link's own. */
  headers: OutgoingHttpHeaders;
  /** The client's connection_init payload, passed on as it came. */
  connectionParams: Record<string, unknown> | undefined;
  /** ms to the instance's connection_ack. */
  timeout: number;
  maxMessageBytes: number;
  keepAlive: number;
  /** For an instance registered through the API: the lookup that refuses internal addresses. */
  lookup: LookupFunction | undefined;
}

/** What an operation forwarded on a link hears from the instance. */
export interface OperationSink {
  next(result: FormattedExecutionResult): void;
  /** The instance's own `error` message: the operation failed its validation or resolution. */
  error(errors: readonly GraphQLFormattedError[]): void;
  complete(): void;
}

/** The close code of graphql-transport-ws for a connection_init the service refuses. */
const FORBIDDEN = 4403;

/** A ws client whose handshake carries the link's headers and limits: graphql-ws constructs it with only a URL and the subprotocol. */
function socketClass(options: LinkOptions, created: (socket: WebSocket) => void) {
  return class LinkSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, {
        headers: options.headers as Record<string, string>,
        maxPayload: options.maxMessageBytes,
        perMessageDeflate: false,
        followRedirects: false,
        ...(options.lookup && { lookup: options.lookup }),
      });
      created(this);
    }
  };
}

/** Why a handshake failed, as a failed attempt at the instance: not reachable, or not a graphql-transport-ws service. */
function handshakeFailure(event: unknown): Error {
  const err = (event as { error?: unknown }).error ?? event;
  const failure = classify(err, false);
  if (failure instanceof UpstreamError && failure.reason !== 'reset') return failure;
  return new UpstreamError('bad_response', `the instance's WebSocket handshake failed: ${(err as Error).message}`, true);
}

/**
 * One client's graphql-transport-ws connection to one service instance, through graphql-ws's
 * client, opened for the first operation the balancer sends there and shared by the next ones.
 * It is never reopened: when it closes, `onLost` is told, the operations it carried are ended by
 * the caller, and a later operation opens a new link to whichever instance is picked then.
 */
export class UpstreamLink {
  /** Resolves once the instance acknowledged the connection; rejects with why it did not. */
  readonly ready: Promise<void>;
  private readonly client: Client;
  private socket: WebSocket | undefined;
  private connected = false;
  private ended = false;

  constructor(options: LinkOptions, onLost: (why: string) => void) {
    let settle: (err?: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    const timer = setTimeout(() => {
      settle(new UpstreamError('timeout', `the instance did not acknowledge the GraphQL connection within ${options.timeout} ms`));
      this.close();
    }, options.timeout);
    this.client = createClient({
      url: options.url,
      connectionParams: options.connectionParams,
      webSocketImpl: socketClass(options, (socket) => (this.socket = socket)),
      // Connect now, and never again: a lost link is replaced by the caller, on an instance the balancer picks.
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      on: {
        opened: (socket) => keepAlive(socket as WebSocket, options.keepAlive),
        connected: () => {
          this.connected = true;
          clearTimeout(timer);
          settle();
        },
        error: (event) => {
          if (this.connected || this.ended) return;
          clearTimeout(timer);
          settle(handshakeFailure(event));
        },
        closed: (event) => {
          clearTimeout(timer);
          const { code, reason } = event as { code: number; reason: string };
          const wasEnded = this.ended;
          // Stops graphql-ws from reconnecting by itself after a normal closure.
          this.close();
          if (!this.connected) {
            settle(
              code === FORBIDDEN
                ? new SwitchboardError('forbidden', `the service refused the connection: ${reason || 'Forbidden'}`)
                : new UpstreamError('bad_response', `the instance closed the GraphQL connection before acknowledging it (${code}${reason ? ` ${reason}` : ''})`, true),
            );
          } else if (!wasEnded) {
            onLost(`${code}${reason ? ` ${reason}` : ''}`);
          }
        },
      },
    });
  }

  /** Sends an operation; the returned function ends it (the instance gets `complete`). */
  subscribe(payload: SubscribePayload, sink: OperationSink): () => void {
    return this.client.subscribe<Record<string, unknown>, Record<string, unknown>>(payload, {
      next: (result) => {
        if (!this.ended) sink.next(result);
      },
      error: (errors) => {
        // Anything but the instance's `error` message is the link closing: its operations are ended by whoever `onLost` told.
        if (!this.ended && Array.isArray(errors)) sink.error(errors as GraphQLFormattedError[]);
      },
      complete: () => {
        if (!this.ended) sink.complete();
      },
    });
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    // graphql-ws closes an acknowledged socket; one still in its handshake, or waiting for connection_ack, is cut here.
    if (!this.connected) this.socket?.terminate();
    Promise.resolve(this.client.dispose()).catch(() => {});
  }
}
