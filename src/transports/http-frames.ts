import type { ClientAddresses } from './client-address.js';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { credentialHeaders, type OriginPolicy } from '../auth/origins.js';
import type { ClusterActions } from '../cluster/actions.js';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { ClientCommands } from '../sessions/client-commands.js';
import type { SessionService } from '../sessions/service.js';
import { SwitchboardError } from '../protocol/errors.js';
import { FrameError, parseClientMessage, type ClientFrame, type ServerFrame } from '../protocol/frames.js';
import { WireFormat } from '../protocol/wire.js';
import { Session, type SessionLimits } from '../sessions/session.js';
import { sessionSecretHeader } from '../sessions/session-secrets.js';
import type { Sink } from '../sessions/sink.js';

/** Frames that need a live connection: an HTTP request has none to subscribe or refresh. */
const streamingOnly: Partial<Record<ClientFrame['type'], string>> = {
  subscribe: 'subscribe needs a streaming transport: name the channels in the URL of /ws, /sse, /stream or /poll',
  unsubscribe: 'unsubscribe needs a streaming transport: reconnect /sse, /stream or /poll without the channel',
  refresh: 'refresh needs a WebSocket; over HTTP, send the new token with the next request',
  connect: 'connect is only accepted as the first frame of a WebSocket; over HTTP, send the token in Authorization: Bearer',
};

/** Collects the replies of one request; the session is flushed into it before the answer is sent. */
class ReplyCollector implements Sink {
  readonly answersPings = false;
  private readonly parts: Buffer[] = [];

  write(bytes: Buffer): void {
    this.parts.push(bytes);
  }

  bufferedBytes(): number {
    return 0;
  }

  ping(): void {}
  end(): void {}
  destroy(): void {}

  /** The replies as frames: the session wrote them as newline-delimited JSON. */
  frames(): ServerFrame[] {
    const text = Buffer.concat(this.parts).toString('utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ServerFrame);
  }
}

/**
 * Token buckets per caller (user, or remote address for anonymous callers): an HTTP request holds
 * no session, so the rate limit of limits.clientMessagesPerSecond / clientMessagesBurst follows
 * the caller across requests on this node. Every frame of a request costs a token, as on a WebSocket.
 */
class CallerRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes up to `wanted` tokens and answers how many it took. */
  take(key: string, now: number, wanted: number): number {
    if (this.buckets.size > 1000) this.forgetFull(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    const taken = Math.min(wanted, Math.floor(bucket.tokens));
    bucket.tokens -= taken;
    return taken;
  }

  /** A bucket that has refilled is the same as none: dropping it bounds the map by the active callers. */
  private forgetFull(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
  }
}

/**
 * The client's streaming session named by `?session=`, checked to be live (on any node), to be
 * the caller's own, and to match the secret its welcome frame handed out: anonymous sessions all
 * have the user '', so the user alone does not tell whose it is. Frames then act for it, so a
 * backend's late reply or a message sent to the session arrives on its stream.
 */
async function streamSession(deps: FrameDeps, id: string | null, secret: string | string[] | undefined, user: string): Promise<string | undefined> {
  if (id === null) return undefined;
  if (typeof secret !== 'string' || secret === '') {
    throw new SwitchboardError('forbidden', `?session= needs the session's secret (sessionSecret of its welcome frame) in the ${sessionSecretHeader} header`);
  }
  const found = await deps.clusterActions.streamSession(id, secret);
  if (found === undefined) throw new SwitchboardError('not_found', 'the session named by ?session= has ended; reconnect the stream');
  if (!found.secretMatches) throw new SwitchboardError('forbidden', `the ${sessionSecretHeader} header does not hold the secret of the session named by ?session=`);
  if (found.user !== user) throw new SwitchboardError('forbidden', 'the session named by ?session= belongs to another user');
  return id;
}

/**
 * Cross-site request forgery guard: a page on any site may POST text/plain, form or multipart
 * bodies without a preflight, with the visitor's cookies. application/json needs a preflight the
 * origin policy answers; other types are taken only from the node's own or listed origins.
 */
function checkContentType(req: FastifyRequest, origins: OriginPolicy): void {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type === 'application/json') return;
  const verdict = origins.decide(req.headers);
  if (verdict === 'same' || verdict === 'listed') return;
  throw new SwitchboardError('forbidden', "send frames as Content-Type: application/json; other types are accepted only from the node's own or listed origins");
}

/** What POST /frames needs: authorization, the client commands and the cluster's streaming sessions. */
export interface FrameDeps {
  config: Config;
  metrics: Pick<Metrics, 'stats'>;
  sessions: Pick<SessionService, 'authorize'>;
  commands: ClientCommands;
  clusterActions: Pick<ClusterActions, 'streamSession'>;
}

/**
 * `POST /frames`: the way back for clients on one-way transports (SSE, HTTP streaming,
 * long-poll). The request is authenticated like a connection, its frames run through the same
 * ClientCommands with the same permission checks, and the replies come back as a JSON array.
 * Nothing is kept between requests, so any node can answer.
 */
export const frameRoutes: FastifyPluginAsync<{ deps: FrameDeps; origins: OriginPolicy; addresses: ClientAddresses }> = async (scope, { deps, origins, addresses }) => {
  const { config } = deps;
  const { stats } = deps.metrics;
  const limits: SessionLimits = {
    maxBufferedBytes: config.sessions.maxBufferedBytes,
    closeGracePeriod: config.sessions.closeGracePeriod,
    messagesPerSecond: config.limits.clientMessagesPerSecond,
    messagesBurst: config.limits.clientMessagesBurst,
  };
  const rate = new CallerRateLimit(config.limits.clientMessagesPerSecond, config.limits.clientMessagesBurst);

  // The body is read as text whatever its type, so it gets the protocol's own frame errors.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  scope.post('/frames', async (req) => {
    checkContentType(req, origins);
    const url = new URL(req.url, 'http://switchboard');
    const remote = addresses.ipOf(req.raw);
    const { identity } = await deps.sessions.authorize({ headers: credentialHeaders(req.headers, origins), query: url.searchParams, remote, transport: 'http' }, []);
    const caller = identity.user !== '' ? `user:${identity.user}` : `remote:${remote}`;
    if (rate.take(caller, Date.now(), 1) === 0) {
      stats.limit('rate');
      throw new SwitchboardError('rate_limited', 'too many requests; slow down');
    }
    const text = typeof req.body === 'string' ? req.body : '';
    if (text.trim() === '') throw new SwitchboardError('bad_request', 'send a frame or a JSON array of frames as the request body');
    const stream = await streamSession(deps, url.searchParams.get('session'), req.headers[sessionSecretHeader], identity.user);
    const sink = new ReplyCollector();
    const session = new Session({ format: WireFormat.ndjson, sink, identity, remote, limits, id: stream, detached: stream === undefined, onEnd: () => {} });
    const done: Promise<void>[] = [];
    const frames = parseClientMessage(text, config.limits.maxJsonDepth);
    const allowed = 1 + rate.take(caller, Date.now(), frames.length - 1);
    for (const frame of frames.slice(0, allowed)) {
      if (frame instanceof FrameError) deps.commands.reject(session, frame);
      else if (streamingOnly[frame.type]) deps.commands.reject(session, new FrameError('bad_request', streamingOnly[frame.type]!, frame.id));
      else done.push(deps.commands.execute(session, frame));
    }
    deps.commands.refuseOverRate(session, frames.slice(allowed));
    await Promise.all(done);
    session.flush();
    return sink.frames();
  });
};
