import type { OutgoingHttpHeaders } from 'node:http';
import type { GraphQLFormattedError } from 'graphql';
import type { FormattedExecutionResult, SubscribePayload } from 'graphql-ws';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';
import { UpstreamLink } from './graphql-upstream.js';
import { classify } from './http-proxy.js';
import { ResultStream } from './result-stream.js';
import { UpstreamError } from './upstream-error.js';
import type { Upstream } from './upstreams.js';

/** What a client's GraphQL connection uses of the gateway: its route's rate limit, balancing, retries, ejection and metrics. */
export interface GraphqlRouteSide {
  settings: Config['gateway']['graphql'];
  /** The path and query the instances get (after the route's stripPrefix or rewrite). */
  target: string;
  /** ms to an instance's connection_ack. */
  timeout: number;
  /** The handshake headers for an instance: forwarding and claim headers of the client's upgrade request. */
  headersFor(up: Upstream): OutgoingHttpHeaders;
  /** Takes one request from the route's rate limit; throws `rate_limited`. */
  admit(): Promise<void>;
  /** Runs `open` on an instance the route's balancer picks, on another after a connect error, up to the route's retries. */
  choose<T>(open: (up: Upstream) => Promise<T>): Promise<T>;
  /** The instance answered an operation with this status (200 results, 400 its `error` message). */
  answered(up: Upstream, status: number): void;
  /** The link to an instance closed under operations: a failed attempt, towards its ejection. */
  lost(up: Upstream, failure: UpstreamError): void;
  /** Any failure as the error the client is told, counted. */
  asError(err: unknown): SwitchboardError;
  limitHit(): void;
}

/** The instance's own `error` message for an operation, passed to the client as it came. */
export class ServiceErrors extends Error {
  constructor(readonly errors: readonly GraphQLFormattedError[]) {
    super(errors[0]?.message ?? 'the service refused the operation');
  }
}

/** Why an operation ended that the client is told about: the service's errors, or the gateway's with its code. */
export function errorsOf(err: unknown): readonly GraphQLFormattedError[] {
  if (err instanceof ServiceErrors) return err.errors;
  if (err instanceof SwitchboardError) return [{ message: err.message, extensions: { code: err.code } }];
  return [{ message: 'internal error', extensions: { code: 'internal' } }];
}

interface LinkEntry {
  link: UpstreamLink;
  operations: Set<ResultStream<FormattedExecutionResult>>;
}

/**
 * One client's graphql-transport-ws connection terminated at the gateway: each operation goes to
 * an instance the route's balancer picks, over a link (a graphql-ws client connection) to that
 * instance opened for this client and shared by its operations there. When a link is lost only
 * its operations end, each with a GraphQL error; the client's socket stays open and the next
 * operations open links to the instances that are available then.
 */
export class GraphqlConnection {
  /** The client's connection_init payload, passed on to every instance. */
  connectionParams: Record<string, unknown> | undefined;
  private readonly links = new Map<Upstream, LinkEntry>();
  private active = 0;
  private closed = false;

  constructor(private readonly route: GraphqlRouteSide) {}

  /** Forwards one operation; its results (or the error that ended it) come out of the stream. */
  forward(payload: SubscribePayload): ResultStream<FormattedExecutionResult> {
    const stream = new ResultStream<FormattedExecutionResult>();
    const max = this.route.settings.maxOperations;
    if (this.active >= max) {
      this.route.limitHit();
      stream.fail(this.route.asError(new SwitchboardError('limit_exceeded', `more than gateway.graphql.maxOperations (${max}) operations in flight on this connection`)));
      return stream;
    }
    this.active += 1;
    stream.onEnd(() => (this.active -= 1));
    this.start(payload, stream).catch((err) => stream.fail(this.route.asError(err)));
    return stream;
  }

  /** The client went away: every link is closed (their operations were ended by graphql-ws). */
  close(): void {
    this.closed = true;
    for (const { link } of this.links.values()) link.close();
    this.links.clear();
  }

  private async start(payload: SubscribePayload, stream: ResultStream<FormattedExecutionResult>): Promise<void> {
    await this.route.admit();
    const [up, entry] = await this.route.choose(async (up) => [up, await this.linkTo(up)] as const);
    if (stream.ended) return;
    entry.operations.add(stream);
    up.outstanding += 1;
    let answered = false;
    const answer = (status: number) => {
      if (answered) return;
      answered = true;
      this.route.answered(up, status);
    };
    const stop = entry.link.subscribe(payload, {
      next: (result) => {
        answer(200);
        stream.push(result);
      },
      error: (errors) => {
        answer(400);
        stream.fail(new ServiceErrors(errors));
      },
      complete: () => {
        answer(200);
        stream.finish();
      },
    });
    stream.onEnd(() => {
      entry.operations.delete(stream);
      up.outstanding -= 1;
      stop();
    });
  }

  /** The open link to `up`, or a new one once the instance acknowledged it. */
  private async linkTo(up: Upstream): Promise<LinkEntry> {
    if (this.closed) throw new SwitchboardError('bad_request', 'the connection is closed');
    const open = this.links.get(up);
    if (open) {
      await open.link.ready;
      return open;
    }
    if (up.grpc) throw new SwitchboardError('bad_request', `service ${up.instance.service} is a gRPC service; it cannot take GraphQL over WebSocket`);
    const url = new URL(up.instance.url);
    let lookup;
    try {
      lookup = up.targets?.socketOptions(url.hostname, 'gateway').lookup;
    } catch (err) {
      throw classify(err, false);
    }
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const { settings } = this.route;
    const entry: LinkEntry = {
      link: new UpstreamLink(
        {
          url: `${url.origin}${up.basePath}${this.route.target}`,
          headers: this.route.headersFor(up),
          connectionParams: this.connectionParams,
          timeout: this.route.timeout,
          maxMessageBytes: settings.maxMessageBytes,
          keepAlive: settings.keepAlive,
          lookup,
        },
        (why) => this.lost(up, entry, why),
      ),
      operations: new Set(),
    };
    this.links.set(up, entry);
    try {
      await entry.link.ready;
    } catch (err) {
      if (this.links.get(up) === entry) this.links.delete(up);
      entry.link.close();
      throw err;
    }
    return entry;
  }

  private lost(up: Upstream, entry: LinkEntry, why: string): void {
    if (this.links.get(up) === entry) this.links.delete(up);
    if (entry.operations.size === 0) return;
    const failure = new UpstreamError('reset', `the connection to instance ${up.instance.id} of service ${up.instance.service} was lost (${why}); the operation ended`);
    this.route.lost(up, failure);
    for (const stream of [...entry.operations]) stream.fail(this.route.asError(failure));
  }
}
