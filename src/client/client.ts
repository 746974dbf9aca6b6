import { backoffDelay } from './backoff.js';
import { Emitter } from './events.js';
import { SwitchboardClientError, fromServerError } from './errors.js';
import { LongPollTransport } from './long-poll-transport.js';
import { CloseCodes, forbidsReconnect, isServerFrame, type ClientFrame, type FrameId, type ServerFrame } from '../protocol/types.js';
import { SseTransport } from './sse-transport.js';
import { Subscription, type SubscriptionHandle, type ChannelHandler, type SubscribeOptions } from './subscription.js';
import { PendingRequests } from './pending-requests.js';
import { ChannelTable } from './channel-table.js';
import { tokenExpiry } from './token.js';
import { authHeaders, defaultTransports, errorOf, type Transport, type TransportClose, type TransportContext, type TransportName } from './transport.js';
import { WebSocketTransport, type WebSocketConstructor } from './websocket-transport.js';
import type { ClientEvents, ClientOptions, ConnectionState, DisconnectedEvent, PresenceMember, PublishResult, RequestOptions, SessionInfo } from './client-types.js';

/** Statuses of a refused one-way connection that are about the channels in its URL. */
const channelRefusals = new Set([400, 403, 404, 409]);

/**
 * A Switchboard client: one connection (WebSocket, else SSE plus HTTP, else long-polling) that
 * reconnects with backoff, resubscribes and resumes every channel from the last position seen.
 *
 * ```ts
 * const client = new SwitchboardClient('https://rt.example.com', { getToken });
 * client.subscribe('chat:lobby', (data) => show(data));
 * await client.connect();
 * await client.publish('chat:lobby', { text: 'hi' });
 * ```
 */
export class SwitchboardClient extends Emitter<ClientEvents> {
  /** The connection state; every change is also a `state` event. */
  state: ConnectionState = 'disconnected';
  /** The current session, while connected. */
  session: SessionInfo | undefined;

  private readonly baseUrl: string;
  private readonly options: Required<Pick<ClientOptions, 'timeout' | 'minReconnectDelay' | 'maxReconnectDelay' | 'tokenRefreshMargin'>>;
  private readonly transports: TransportName[];
  private readonly fetch: typeof fetch;
  private readonly WebSocket: WebSocketConstructor | undefined;
  private token: string | undefined;
  private readonly channels = new ChannelTable(() => this.nextId++);
  private readonly pending = new PendingRequests();
  /** Subscribe frames in flight on the WebSocket, by id. */
  /** Requests waiting for a connection. */
  private queued: ClientFrame[] = [];
  private conn: Transport | undefined;
  private welcomed = false;
  /** From `welcome` on one-way transports: what `POST /frames?session=` must carry. */
  private sessionSecret: string | undefined;
  private transportIndex = 0;
  private readonly worked = new Set<TransportName>();
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The server's last word on the current connection: a `disconnect` or `reconnect` frame. */
  private serverClose: { code: number; reason: string; after?: number } | undefined;
  private rechannelScheduled = false;
  private nextId = 1;
  private waiters: { resolve(): void; reject(err: SwitchboardClientError): void }[] = [];

  /**
   * @param url the node's base URL: `https://host:port` (or `wss://...`; the SDK derives the others)
   * @param options token, transports and timings
   */
  constructor(
    url: string,
    private readonly clientOptions: ClientOptions = {},
  ) {
    super();
    this.baseUrl = url.replace(/^ws(s?):/, 'http$1:').replace(/\/+$/, '');
    this.token = clientOptions.token;
    this.options = {
      timeout: clientOptions.timeout ?? 10_000,
      minReconnectDelay: clientOptions.minReconnectDelay ?? 500,
      maxReconnectDelay: clientOptions.maxReconnectDelay ?? 20_000,
      tokenRefreshMargin: clientOptions.tokenRefreshMargin ?? 10_000,
    };
    this.WebSocket = clientOptions.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const wanted = clientOptions.transports ?? [...defaultTransports];
    // Without a WebSocket implementation the WebSocket transport is skipped.
    this.transports = wanted.filter((name) => name !== 'websocket' || this.WebSocket !== undefined);
    if (this.transports.length === 0) throw new SwitchboardClientError('bad_request', 'no usable transport: pass a WebSocket constructor or allow sse or long-poll');
    const fetcher = clientOptions.fetch ?? globalThis.fetch.bind(globalThis);
    this.fetch = clientOptions.withCredentials ? (input, init) => fetcher(input, { credentials: 'include', ...init }) : fetcher;
  }

  /** The transport of the current (or last) connection attempt. */
  get transport(): TransportName {
    return this.transports[this.transportIndex]!;
  }

  /**
   * Starts connecting (and reconnecting whenever the connection is lost).
   * @returns resolves once connected; rejects if the client is closed first
   */
  connect(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    const connected = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.state === 'closed' || (this.state === 'disconnected' && this.retryTimer === undefined)) {
      this.attempt = 0;
      void this.open();
    }
    return connected;
  }

  /** Closes the connection for good: pending requests reject with `closed`, nothing reconnects. Subscriptions are kept for a later `connect()`. */
  close(): void {
    if (this.state === 'closed') return;
    const conn = this.conn;
    this.conn = undefined;
    conn?.close();
    this.stop({ code: 1000, reason: 'client closed', reconnect: false }, new SwitchboardClientError('closed', 'the client was closed'));
  }

  /**
   * Subscribes to a channel. The handler gets every publication in order, including those missed
   * while reconnecting when the channel has history. Several subscriptions may share a channel.
   * @returns the subscription: `unsubscribe()`, `ready`, and events `subscribed`, `error`, `join`, `leave`
   */
  subscribe<T = unknown>(channel: string, handler: ChannelHandler<T>, options: SubscribeOptions = {}): Subscription<T> {
    const subscription = new Subscription<T>(channel, handler, (s) => this.release(s));
    if (this.channels.add(subscription, options.since) && this.welcomed && this.conn) {
      if (this.conn.send) this.conn.send([this.channels.subscribeFrame(channel)]);
      else this.scheduleRechannel();
    }
    return subscription;
  }

  /**
   * Publishes to a channel whose namespace lets clients publish.
   * @returns the number of subscribers reached on the node, and the position on channels with history
   */
  publish(channel: string, data: unknown, options: RequestOptions = {}): Promise<PublishResult> {
    return this.call({ type: 'publish', channel, data }, options) as Promise<PublishResult>;
  }

  /**
   * Sends a message to the backends (routed by the node's routes).
   * @returns the server's acknowledgement
   */
  send(data: unknown, options: RequestOptions = {}): Promise<unknown> {
    return this.call({ type: 'send', data }, options);
  }

  /**
   * Request/reply: calls `method` on the backend the node routes it to.
   * @returns the backend's answer; rejects with a SwitchboardClientError (`timeout`, `not_found`, ...)
   */
  request<T = unknown>(method: string, data?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.call({ type: 'rpc', method, data: data ?? null }, options) as Promise<T>;
  }

  /**
   * Who is on a channel, across the cluster (namespaces with presence; needs subscribe permission).
   * @returns one entry per session
   */
  async presence(channel: string, options: RequestOptions = {}): Promise<PresenceMember[]> {
    const answer = (await this.call({ type: 'presence', channel }, options)) as { members: PresenceMember[] };
    return answer.members;
  }

  private call(frame: ClientFrame, options: RequestOptions): Promise<unknown> {
    if (this.state === 'closed') return Promise.reject(new SwitchboardClientError('closed', 'the client is closed; call connect() first'));
    const id = this.nextId++;
    const timeout = options.timeout ?? this.options.timeout;
    return new Promise((resolve, reject) => {
      this.pending.wait(id, frame.type, timeout, () => (this.queued = this.queued.filter((f) => f.id !== id))).then(resolve, reject);
      this.dispatch([{ ...frame, id }]);
    });
  }

  /** Sends request frames over the connection, over POST /frames on one-way transports, or queues them until connected. */
  private dispatch(frames: ClientFrame[]): void {
    const conn = this.conn;
    if (!conn || !this.welcomed) {
      this.queued.push(...frames);
      return;
    }
    if (conn.send) {
      for (const frame of frames) if (frame.id !== undefined) this.pending.markSent(frame.id);
      conn.send(frames);
      return;
    }
    void this.postFrames(frames);
  }

  private async postFrames(frames: ClientFrame[]): Promise<void> {
    const ids = frames.map((f) => f.id).filter((id): id is FrameId => id !== undefined);
    try {
      // Naming the stream's session lets late replies and direct messages arrive on the stream.
      const stream = this.session?.session ? `?session=${encodeURIComponent(this.session.session)}` : '';
      // The session's secret proves the stream is this client's; a header keeps it out of access logs.
      const secret: Record<string, string> = stream !== '' && this.sessionSecret ? { 'x-switchboard-session-secret': this.sessionSecret } : {};
      const res = await this.fetch(`${this.baseUrl}/frames${stream}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(this.token), ...secret },
        body: JSON.stringify(frames.length === 1 ? frames[0] : frames),
      });
      if (!res.ok) {
        const err = fromServerError(await errorOf(res));
        for (const id of ids) this.pending.settle(id, undefined, err);
        return;
      }
      const replies: unknown = await res.json();
      for (const reply of Array.isArray(replies) ? replies : []) if (isServerFrame(reply)) this.receive(this.conn, reply);
    } catch {
      for (const id of ids) this.pending.settle(id, undefined, new SwitchboardClientError('disconnected', 'the request could not reach the node'));
    }
  }

  private release(subscription: SubscriptionHandle): void {
    if (!this.channels.release(subscription) || !this.welcomed || !this.conn) return;
    if (this.conn.send) this.conn.send([{ type: 'unsubscribe', id: this.nextId++, channel: subscription.channel }]);
    else this.scheduleRechannel();
  }

  /** Subscription changes of one turn reopen a one-way connection once. */
  private scheduleRechannel(): void {
    if (this.rechannelScheduled) return;
    this.rechannelScheduled = true;
    queueMicrotask(() => {
      this.rechannelScheduled = false;
      this.channels.unconfirm();
      this.conn?.rechannel?.();
    });
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  private async open(): Promise<void> {
    this.retryTimer = undefined;
    this.setState('connecting');
    const name = this.transport;
    const { getToken } = this.clientOptions;
    if (getToken && (this.token === undefined || (tokenExpiry(this.token) ?? Infinity) - Date.now() < this.options.tokenRefreshMargin)) {
      try {
        this.token = await getToken();
      } catch (err) {
        this.emit('error', new SwitchboardClientError('unauthorized', `getToken failed: ${err instanceof Error ? err.message : String(err)}`));
        this.token = undefined;
        this.retry({ code: 1006, reason: 'no token' }, false);
        return;
      }
      if (this.state !== 'connecting') return;
    }
    this.welcomed = false;
    this.serverClose = undefined;
    const context: TransportContext = {
      baseUrl: this.baseUrl,
      token: this.token,
      fetch: this.fetch,
      channels: () => this.channels.targets(),
      events: {
        frame: (frame) => this.receive(conn, frame),
        closed: (close) => this.lost(conn, close),
      },
    };
    this.emit('connecting', { attempt: this.attempt, transport: name });
    const conn: Transport = name === 'websocket' ? new WebSocketTransport(this.WebSocket!, context) : name === 'sse' ? new SseTransport(context) : new LongPollTransport(context);
    this.conn = conn;
  }

  private receive(conn: Transport | undefined, frame: ServerFrame): void {
    if (conn !== this.conn) return;
    switch (frame.type) {
      case 'welcome':
        return this.welcome(frame);
      case 'subscribed':
        return this.channels.subscribed(frame);
      case 'message':
        if (!this.channels.message(frame)) this.emit('message', frame.channel === undefined ? { data: frame.data } : { channel: frame.channel, data: frame.data });
        return;
      case 'reply': {
        if (frame.id === undefined) {
          if (frame.error) this.emit('error', fromServerError(frame.error));
          return;
        }
        const error = frame.error ? fromServerError(frame.error) : undefined;
        if (!this.channels.reply(frame.id, error)) this.pending.settle(frame.id, frame.data, error);
        return;
      }
      case 'unsubscribed':
        // Without an id the server ended it (an API call, or the broker could not set it up).
        if (frame.id === undefined) this.channels.ended(frame.channel, frame.reason ?? 'server');
        return;
      case 'join':
      case 'leave':
        this.channels.presence(frame);
        return;
      case 'pong':
        if (frame.id !== undefined) this.pending.settle(frame.id, undefined);
        return;
      case 'reconnect':
        this.serverClose = { code: CloseCodes.reconnect, reason: frame.reason, after: frame.after };
        return;
      case 'disconnect':
        this.serverClose = { code: frame.code, reason: frame.reason };
        return;
      case 'refresh':
        void this.refreshToken();
        return;
    }
  }

  private welcome(frame: Extract<ServerFrame, { type: 'welcome' }>): void {
    const name = this.transport;
    this.session = { transport: name, session: frame.session, user: frame.user, node: frame.node };
    this.sessionSecret = frame.sessionSecret;
    // A one-way stream reopened for new channels is welcomed again: not a new connection.
    if (this.welcomed) return;
    this.welcomed = true;
    this.attempt = 0;
    this.worked.add(name);
    if (this.conn?.send) {
      const frames = this.channels.subscribeFrames();
      if (frames.length > 0) this.conn.send(frames);
    }
    const queued = this.queued;
    this.queued = [];
    if (queued.length > 0) this.dispatch(queued);
    this.setState('connected');
    this.emit('connected', this.session);
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  private async refreshToken(): Promise<void> {
    const { getToken } = this.clientOptions;
    if (!getToken) return;
    try {
      this.token = await getToken();
      await this.call({ type: 'refresh', token: this.token }, {});
    } catch (err) {
      this.emit('error', err instanceof SwitchboardClientError ? err : new SwitchboardClientError('unauthorized', `token refresh failed: ${String(err)}`));
    }
  }

  /** The connection is gone: decide whether and how to come back. */
  private lost(conn: Transport, close: TransportClose): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    const opened = this.welcomed;
    this.welcomed = false;
    this.session = undefined;
    this.sessionSecret = undefined;
    this.channels.lost();
    this.pending.failSent();
    const server = this.serverClose;
    const code = server && (close.code === 1006 || close.code === 1005) ? server.code : close.code;
    const reason = server && (close.code === 1006 || close.code === 1005) ? server.reason : close.reason;

    if (close.status !== undefined) {
      if (close.status === 401) {
        if (!this.clientOptions.getToken) return this.stop({ code: 4501, reason, reconnect: false }, fromServerError(close.error, 'unauthorized'));
        this.token = undefined;
      } else if (channelRefusals.has(close.status)) {
        // A one-way connection is refused as a whole for one bad channel: drop the channels it never carried and retry.
        if (this.channels.refuseUnconfirmed(() => fromServerError(close.error))) return this.retry({ code, reason }, true, 0);
      }
    }
    if (forbidsReconnect(code)) {
      return this.stop({ code, reason, reconnect: false }, new SwitchboardClientError('closed', `the server closed the connection: ${reason} (${code}); not reconnecting`));
    }
    if (code === CloseCodes.tokenExpired) this.token = undefined;
    this.retry({ code, reason }, opened, server?.after);
  }

  /** Schedules the next attempt: the next transport when this one never worked, else backoff on the same one. */
  private retry(closed: { code: number; reason: string }, opened: boolean, after?: number): void {
    let delay: number;
    if (!opened && !this.worked.has(this.transport) && this.transportIndex < this.transports.length - 1 && after === undefined) {
      this.transportIndex += 1;
      delay = 0;
    } else {
      if (!opened && !this.worked.has(this.transport)) this.transportIndex = 0;
      delay = Math.max(after ?? 0, backoffDelay(this.attempt, this.options.minReconnectDelay, this.options.maxReconnectDelay));
      this.attempt += 1;
    }
    this.setState('disconnected');
    this.emit('disconnected', { code: closed.code, reason: closed.reason, reconnect: true, delay });
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }

  private stop(event: DisconnectedEvent, err: SwitchboardClientError): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.welcomed = false;
    this.session = undefined;
    this.sessionSecret = undefined;
    this.pending.failAll(err);
    this.queued = [];
    this.setState('closed');
    this.emit('disconnected', event);
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }
}
