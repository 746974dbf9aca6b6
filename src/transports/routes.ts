import type { FastifyPluginAsync } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SwitchboardError, asSwitchboardError } from '../protocol/errors.js';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Hub } from '../hub/hub.js';
import type { Metrics } from '../observability/metrics.js';
import type { SessionService } from '../sessions/service.js';
import type { TopicStreams } from '../topics/stream.js';
import { decodeCursor } from '../protocol/cursor.js';
import type { ConnectRequest } from '../auth/authenticator.js';
import type { Identity } from '../auth/identity.js';
import type { ResolvedChannel } from '../channels/channels.js';
import { FrameError, parseClientMessage } from '../protocol/frames.js';
import { wsTextFrame } from '../protocol/ws-frame.js';
import type { Sink } from '../sessions/sink.js';
import { WireFormat, heartbeatBytes, wireFormatNames } from '../protocol/wire.js';
import type { Session } from '../sessions/session.js';
import { HttpStreamSink, startStream, streamContentTypes } from './http-stream.js';
import { longPoll, type LongPollDeps } from './long-poll.js';
import { frameRoutes, type FrameDeps } from './http-frames.js';
import { clientSdkRoutes } from './client-sdk-routes.js';
import { WebSocketTransport, type WebSocketSessionHandlers, type WebSocketSink } from './websocket.js';
import { errorBody, refuseUpgrade } from '../http/errors.js';
import { ClientAddresses } from './client-address.js';
import { credentialHeaders, type OriginPolicy } from '../auth/origins.js';
import type { OriginPolicies } from './browser-access.js';
import type { GraphqlEndpointDeps, registerGraphql } from './graphql.js';

/** What the client transports need: the session service, the client commands and the parts each endpoint reads. */
export type ClientRouteDeps = FrameDeps &
  LongPollDeps &
  GraphqlEndpointDeps & {
    metrics: Metrics;
    log: Logger;
    sessions: Pick<SessionService, 'admit' | 'authorize' | 'open'>;
    authenticator: Pick<Authenticator, 'needsFirstFrame'>;
    hub: Pick<Hub<Session>, 'cursorOf'>;
    topicStreams: Pick<TopicStreams, 'upgrade'>;
    gateway: Pick<Gateway, 'upgrade'> | undefined;
  };

/** `?channels=a,b` (and repeated `channel=`) from a request URL. */
export function channelsFromQuery(url: URL): string[] {
  const names = url.searchParams.getAll('channels').flatMap((v) => v.split(','));
  names.push(...url.searchParams.getAll('channel'));
  return [...new Set(names.map((n) => n.trim()).filter((n) => n !== ''))];
}

export function connectRequest(req: IncomingMessage, remote: string, url: URL, transport: string, origins: OriginPolicy): ConnectRequest {
  return { headers: credentialHeaders(req.headers, origins), query: url.searchParams, remote, transport };
}

/**
 * A WebSocket whose client could not put its token in the request (browsers cannot set headers)
 * sends it in a first `{"type":"connect","token"}` frame; the session opens once it is verified.
 */
function awaitConnectFrame(
  deps: ClientRouteDeps,
  request: ConnectRequest,
  asked: ResolvedChannel[],
  sink: WebSocketSink,
  accept: (identity: Identity, channels: ResolvedChannel[], sink: Sink) => WebSocketSessionHandlers,
): WebSocketSessionHandlers {
  let handlers: WebSocketSessionHandlers | undefined;
  let state: 'waiting' | 'authorizing' | 'closed' = 'waiting';
  /** Frames sent right behind the connect frame, carried out once the session is open. */
  const early: string[] = [];
  const refuse = (err: unknown) => {
    if (state === 'closed') return;
    state = 'closed';
    clearTimeout(timer);
    const error = asSwitchboardError(err);
    deps.metrics.stats.error(error.code);
    sink.write(wsTextFrame(JSON.stringify({ type: 'disconnect', code: error.closeCode, reason: error.message })));
    sink.end(error.closeCode, error.code);
  };
  const timer = setTimeout(() => {
    deps.metrics.stats.authFailure('missing');
    refuse(new SwitchboardError('unauthorized', 'no connect frame with a token arrived in time'));
  }, deps.config.auth.firstFrameTimeout);
  return {
    message: (text) => {
      if (handlers) return handlers.message(text);
      if (state === 'authorizing') {
        if (early.length < deps.config.limits.clientMessagesBurst) early.push(text);
        else refuse(new SwitchboardError('rate_limited', 'too many frames before the session opened; wait for welcome'));
        return;
      }
      if (state !== 'waiting') return;
      const [frame] = parseClientMessage(text, deps.config.limits.maxJsonDepth);
      if (frame instanceof FrameError && frame.limit !== undefined) deps.metrics.stats.limit(frame.limit);
      if (!frame || frame instanceof FrameError || frame.type !== 'connect') {
        refuse(new SwitchboardError('unauthorized', 'the first frame must be {"type":"connect","token":"..."}'));
        return;
      }
      state = 'authorizing';
      deps.sessions
        .authorize(request, asked, frame.token)
        .then(({ identity, channels }) => {
          if (state === 'closed') return;
          clearTimeout(timer);
          const opened = accept(identity, channels, sink);
          handlers = opened;
          // The session's events go to it directly from now on; this waiting state can be collected.
          sink.handOver(opened);
          for (const text of early.splice(0)) opened.message(text);
        })
        .catch(refuse);
    },
    badInput: () => refuse(new SwitchboardError('unauthorized', 'the first frame must be {"type":"connect","token":"..."}')),
    tooLarge: () => handlers?.tooLarge(),
    activity: () => handlers?.activity(),
    closed: () => {
      state = 'closed';
      clearTimeout(timer);
      handlers?.closed();
    },
  };
}

/** A listener shared by every upgraded socket: a closure here would keep the upgrade request alive as long as the socket. */
function destroySelf(this: Duplex): void {
  this.destroy();
}

const websocketPaths: Record<string, WireFormat> = { '/ws': WireFormat.ws };
const pushWebsocketPaths: Record<string, WireFormat> = { '/ws/messages': WireFormat.pushWs };

/** Client endpoints: WebSocket upgrades, SSE and HTTP streaming (docs/protocol.md). */
/** `graphql`: the GraphQL endpoint's registration, given (loaded) only with graphql.enabled. */
export function registerClientRoutes(deps: ClientRouteDeps, origins: OriginPolicies, graphqlEndpoint?: typeof registerGraphql): void {
  const { app, config, metrics } = deps;
  const { stats } = metrics;
  const transport = new WebSocketTransport(config.limits.maxFrameBytes);
  const paths = { ...websocketPaths, ...(config.compat.push.enabled ? pushWebsocketPaths : {}) };
  const addresses = new ClientAddresses(config.server.trustedProxies);
  const graphql = graphqlEndpoint?.(deps, origins.client, addresses);

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroySelf);
    // The listener boundary: nothing a request carries may throw out of here and end the process.
    try {
      upgrade(req, socket, head);
    } catch (err) {
      upgradeFailed(req, socket, err);
    }
  });

  /** An upgrade that failed in a way no refusal foresaw: logged, counted as internal, answered 500 while the socket can still take it. */
  function upgradeFailed(req: IncomingMessage, socket: Duplex, err: unknown): void {
    deps.log.error({ event: 'upgrade.failed', url: req.url?.slice(0, 200), err }, 'upgrade request failed');
    stats.error('internal');
    if (socket.writable) refuseUpgrade(socket, 500, errorBody('internal', 'internal error'));
    else socket.destroy();
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://switchboard');
    const format = paths[url.pathname];
    // Browsers send cookies with a WebSocket from any page: the origin is checked before anything else.
    const policy = format !== undefined ? origins.client : url.pathname.startsWith('/api/') ? origins.api : undefined;
    try {
      policy?.check(req.headers);
    } catch (err) {
      refuse(err);
      return;
    }
    if (format === undefined && graphql?.upgrade(req, socket, head, url)) return;
    if (format === undefined && deps.topicStreams.upgrade(req, socket, head)) return;
    if (format === undefined && deps.gateway?.upgrade(req, socket, head)) return;
    if (format === undefined) {
      stats.error('not_found');
      refuseUpgrade(socket, 404, errorBody('not_found', `no WebSocket endpoint at ${url.pathname}`));
      return;
    }
    let asked: ResolvedChannel[];
    try {
      asked = deps.sessions.admit(channelsFromQuery(url), addresses.ipOf(req));
    } catch (err) {
      refuse(err);
      return;
    }
    const request = connectRequest(req, addresses.remoteOf(req), url, wireFormatNames[format], origins.client);
    const remote = request.remote;
    const accept = (identity: Identity, channels: ResolvedChannel[], sink: Sink) => {
      const session = deps.sessions.open({ format, sink, remote, channels, identity });
      if (format === WireFormat.pushWs) session.enqueue(heartbeatBytes[WireFormat.pushWs]!);
      return new SessionConnection(deps, session);
    };
    if (format === WireFormat.ws && deps.authenticator.needsFirstFrame(request)) {
      transport.upgrade(req, socket, head, (sink) => awaitConnectFrame(deps, request, asked, sink, accept));
      return;
    }
    deps.sessions
      .authorize(request, asked)
      .then(({ identity, channels }) => transport.upgrade(req, socket, head, (sink) => accept(identity, channels, sink)), refuse)
      .catch((err) => upgradeFailed(req, socket, err));

    function refuse(err: unknown): void {
      const error = asSwitchboardError(err);
      stats.error(error.code);
      refuseUpgrade(socket, error.httpStatus, errorBody(error.code, error.message));
    }
  }

  app.register(streamRoutes, { deps, origin: origins.client, addresses });
  app.register(frameRoutes, { deps, origins: origins.client, addresses });
  app.register(clientSdkRoutes);
}

/** SSE, HTTP streaming and long-poll: the one-way client transports (docs/protocol.md). */
const streamRoutes: FastifyPluginAsync<{ deps: ClientRouteDeps; origin: OriginPolicy; addresses: ClientAddresses }> = async (app, { deps, origin, addresses }) => {
  const { config } = deps;
  const streamRoute = (path: string, format: WireFormat, contentType: string, prelude?: Buffer) => {
    app.get(path, async (req, reply) => {
      const url = new URL(req.url, 'http://switchboard');
      const remote = addresses.remoteOf(req.raw);
      const asked = deps.sessions.admit(channelsFromQuery(url), addresses.ipOf(req.raw));
      const { identity, channels } = await deps.sessions.authorize(connectRequest(req.raw, remote, url, wireFormatNames[format], origin), asked);
      const lastEventId = req.headers['last-event-id'];
      const resumeFrom = typeof lastEventId === 'string' ? lastEventId : url.searchParams.get('cursor');
      const cursor = resumeFrom ? decodeCursor(resumeFrom) : undefined;
      reply.hijack();
      const res = reply.raw;
      startStream(res, contentType, prelude);
      const sink = new HttpStreamSink(res);
      const session = deps.sessions.open({ format, sink, remote, channels, cursor, identity });
      if (format === WireFormat.sse) sink.cursor = () => deps.hub.cursorOf(session);
      res.on('close', () => session.handleClosed());
    });
  };
  app.get('/poll', async (req, reply) => {
    const url = new URL(req.url, 'http://switchboard');
    const remote = addresses.remoteOf(req.raw);
    const asked = deps.sessions.admit(channelsFromQuery(url), addresses.ipOf(req.raw));
    const { identity, channels } = await deps.sessions.authorize(connectRequest(req.raw, remote, url, 'long-poll', origin), asked);
    return longPoll(deps, remote, reply.raw, url, channels, identity);
  });
  streamRoute('/sse', WireFormat.sse, streamContentTypes.sse, Buffer.from(`retry: ${config.sessions.closeGracePeriod}\n\n`));
  streamRoute('/stream', WireFormat.ndjson, streamContentTypes.ndjson);
  if (config.compat.push.enabled) {
    streamRoute('/sse/messages', WireFormat.pushSse, streamContentTypes.sse, heartbeatBytes[WireFormat.pushSse]);
  }
};

/** A session's WebSocket events: one small object per connection, no closures. */
class SessionConnection implements WebSocketSessionHandlers {
  constructor(
    private readonly deps: ClientRouteDeps,
    private readonly session: Session,
  ) {}

  message(text: string): void {
    const { session, deps } = this;
    deps.metrics.stats.messagesIn[session.format]! += 1;
    // Push-compatible clients only ever send {"event":"pong"}; anything else is ignored.
    if (session.format === WireFormat.pushWs) return;
    // The socket's event boundary: a frame must never throw out into the WebSocket library and end the process.
    try {
      deps.commands.handleMessage(session, text);
    } catch (err) {
      deps.log.error({ event: 'session.message_failed', session: session.id, err }, 'client message failed');
      deps.commands.reject(session, new FrameError('internal', 'internal error'));
    }
  }

  badInput(reason: 'binary' | 'invalid_utf8'): void {
    this.deps.metrics.stats.messagesIn[this.session.format]! += 1;
    const message = reason === 'binary' ? 'binary frames are not accepted; send JSON text' : 'text frame is not valid UTF-8';
    this.deps.commands.reject(this.session, new FrameError('bad_request', message));
  }

  tooLarge(): void {
    const { stats } = this.deps.metrics;
    stats.limit('frame_size');
    stats.error('too_large');
    this.session.closingBecause('too_large');
  }

  activity(): void {
    this.session.lastSeen = Date.now();
  }

  closed(): void {
    this.session.handleClosed();
  }
}
