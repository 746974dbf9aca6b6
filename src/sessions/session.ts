import { randomUUID } from 'node:crypto';
import type { ConsoleRole, Identity } from '../auth/identity.js';
import { closeCodeOf } from '../protocol/errors.js';
import type { ServerFrame } from '../protocol/frames.js';
import { encodeControl, heartbeatBytes, type WireFormat } from '../protocol/wire.js';
import { joinParts, scheduleFlush } from './outbox.js';
import { scratchBytes, scratchKept } from './scratch-bytes.js';
import type { Sink } from './sink.js';

export interface SessionLimits {
  maxBufferedBytes: number;
  closeGracePeriod: number;
  messagesPerSecond: number;
  messagesBurst: number;
}

export interface SessionInit {
  format: WireFormat;
  sink: Sink;
  identity: Identity;
  remote: string;
  limits: SessionLimits;
  /** The id of the client's streaming session this one acts for (frames over HTTP); a new id otherwise. */
  id?: string;
  /** Nothing can reach this session after its request is answered (frames over HTTP without a stream). */
  detached?: boolean;
  /** Called once when the connection is gone, with the reason it ended. */
  onEnd: (session: Session, reason: string, cause: string) => void;
}

type State = 'open' | 'closing' | 'closed';

/**
 * A batch of messages one source queued on a session in a turn, made into bytes only when the
 * session flushes: the source appends to it while it is queued, so a session gets one entry per
 * source and turn instead of one per message.
 */
export interface DeferredBytes {
  /** Writes the batch's bytes into `target` from `at` and answers where they end; the source starts a new batch. */
  copyTo(target: Buffer, at: number): number;
  /** The session dropped its queue, or could not queue the batch: the source starts a new batch. */
  drop(): void;
}

/**
 * One client connection, whatever its transport. Outbound bytes are queued and written once per
 * event-loop turn; the queue plus the socket's own buffer is bounded by maxBufferedBytes.
 */
export class Session {
  readonly id: string;
  readonly detached: boolean;
  readonly format: WireFormat;
  readonly user: string;
  readonly remote: string;
  /** Token claims or connect hook context; replaced when the client refreshes its token. */
  context: Record<string, unknown>;
  privileged: boolean;
  /** Signed in to the admin console with this role (admin.enabled). */
  readonly consoleRole: ConsoleRole | undefined;
  jti: string | undefined;
  issuedAt: number;
  /** When the credentials expire (0: never); then the client must refresh within the grace time. */
  credentialsExpireAt: number;
  /** Set when a refresh was requested: the session is closed if no valid token arrives by then. */
  refreshDeadline = 0;
  readonly connectedAt = Date.now();
  readonly channels = new Set<string>();
  /**
   * Channels the server gave the session (connect hook, server API) rather than the client asked
   * for: they are not checked again when the client's credentials change. Created on first use.
   */
  serverChannels: Set<string> | undefined;
  /**
   * Takes data sent to the session directly (POST /api/users/{id}/messages) in a format that has
   * no message frame: GraphQL delivers it to the connection's `user` operations.
   */
  directMessages: ((data: unknown) => void) | undefined;

  /** Last time anything arrived from the client (frame, pong). */
  lastSeen = Date.now();
  /** When the next heartbeat is due, and when the last unanswered one was sent (0: none pending). */
  nextHeartbeatAt = 0;
  heartbeatSentAt = 0;
  /** When the maximum lifetime ends (0: no limit). */
  expiresAt = 0;
  badFrames = 0;
  /** Channels the session is still joining (see Hub.subscribe). */
  pendingJoins = 0;
  /** Traffic of this session: frames and bytes written to it and received from it. */
  messagesSent = 0;
  bytesSent = 0;
  messagesReceived = 0;
  bytesReceived = 0;
  /** Bytes not delivered when the session was closed as a slow consumer: its queue and its socket buffer. */
  droppedBytes = 0;

  private state: State = 'open';
  private readonly sink: Sink;
  private readonly limits: SessionLimits;
  private readonly onEnd: SessionInit['onEnd'];
  /** This turn's bytes, in order; deferred entries are made into bytes when the session flushes. */
  private queue: (Buffer | DeferredBytes)[] = [];
  private queuedBytes = 0;
  private deferred = false;
  private dirty = false;
  private tokens: number;
  private tokensAt = Date.now();
  private graceTimer: NodeJS.Timeout | undefined;
  private endReason = 'client_closed';
  /** The stable name the end is counted under in metrics; the reason text may be free (the disconnect API's). */
  private endCause = 'client_closed';

  constructor(init: SessionInit) {
    this.id = init.id ?? randomUUID();
    this.detached = init.detached ?? false;
    this.format = init.format;
    this.sink = init.sink;
    this.user = init.identity.user;
    this.context = init.identity.context;
    this.privileged = init.identity.privileged;
    this.consoleRole = init.identity.consoleRole;
    this.jti = init.identity.jti;
    this.issuedAt = init.identity.issuedAt;
    this.credentialsExpireAt = init.identity.expiresAt ?? 0;
    this.remote = init.remote;
    this.limits = init.limits;
    this.onEnd = init.onEnd;
    this.tokens = init.limits.messagesBurst;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Queues bytes for this turn's write. The hot path: no allocation besides the array slot. */
  enqueue(bytes: Buffer): void {
    if (this.state !== 'open') return;
    this.queue.push(bytes);
    this.queued(bytes.length);
  }

  /**
   * Queues a source's batch of messages, made into bytes at flush (see DeferredBytes), with its
   * first message of `length` bytes; later messages of the batch are counted with queuedMore.
   */
  enqueueDeferred(batch: DeferredBytes, length: number): void {
    if (this.state !== 'open') {
      batch.drop();
      return;
    }
    this.queue.push(batch);
    this.deferred = true;
    this.queued(length);
  }

  /** Counts one more message of `length` bytes added to a batch already queued. */
  queuedMore(length: number): void {
    if (this.state === 'open') this.queued(length);
  }

  /** Counts one message of `length` bytes just queued and schedules the flush. */
  private queued(length: number): void {
    this.messagesSent += 1;
    this.bytesSent += length;
    this.queuedBytes += length;
    if (!this.dirty) {
      this.dirty = true;
      scheduleFlush(this);
    }
    if (this.queuedBytes > this.limits.maxBufferedBytes) this.closeSlowConsumer();
  }

  /** Data sent to this session directly: a message frame, or what the format does instead. */
  sendMessage(data: unknown): void {
    if (this.directMessages) this.directMessages(data);
    else this.send({ type: 'message', data });
  }

  send(frame: ServerFrame): void {
    const bytes = encodeControl(this.format, frame);
    if (bytes) this.enqueue(bytes);
  }

  flush(): void {
    this.dirty = false;
    if (this.queue.length === 0) return;
    if (this.state === 'closed') {
      this.discardQueue();
      return;
    }
    if (this.deferred) this.writeDeferred();
    else {
      const queue = this.queue as Buffer[];
      this.sink.write(queue.length === 1 ? queue[0]! : joinParts(queue, this.queuedBytes));
    }
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (this.state === 'open' && this.sink.bufferedBytes() > this.limits.maxBufferedBytes) this.closeSlowConsumer();
  }

  /**
   * Makes the turn's queue, deferred batches included, into one write. The bytes are this
   * session's own, so they are built in the scratch buffer the next session reuses, unless the
   * sink keeps what it is given (or already holds bytes the kernel has not taken).
   */
  private writeDeferred(): void {
    const { sink, queue } = this;
    const transient = sink.writeTransient !== undefined && sink.bufferedBytes() === 0;
    const bytes = transient ? scratchBytes(this.queuedBytes) : Buffer.allocUnsafe(this.queuedBytes);
    let at = 0;
    for (const entry of queue) {
      if (Buffer.isBuffer(entry)) {
        bytes.set(entry, at);
        at += entry.length;
      } else at = entry.copyTo(bytes, at);
    }
    this.deferred = false;
    if (!transient) sink.write(bytes);
    else if (!sink.writeTransient!(bytes)) scratchKept(bytes);
  }

  private discardQueue(): void {
    if (this.deferred) for (const entry of this.queue) if (!Buffer.isBuffer(entry)) entry.drop();
    this.deferred = false;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  /** Token bucket over client frames: takes up to `wanted` tokens and answers how many it took; the other frames must be refused as rate_limited. */
  takeTokens(now: number, wanted: number): number {
    const refill = ((now - this.tokensAt) / 1000) * this.limits.messagesPerSecond;
    this.tokens = Math.min(this.limits.messagesBurst, this.tokens + refill);
    this.tokensAt = now;
    const taken = Math.min(wanted, Math.floor(this.tokens));
    this.tokens -= taken;
    return taken;
  }

  get expectsHeartbeatAnswer(): boolean {
    return this.sink.answersPings;
  }

  heartbeat(): void {
    const bytes = heartbeatBytes[this.format];
    if (bytes) this.enqueue(bytes);
    this.sink.ping();
  }

  /**
   * Ends the session politely: queued bytes and the optional last frame go out first, then the
   * transport's close; if the client has not closed within the grace period the connection is dropped.
   */
  close(code: number, reason: string, lastFrame?: ServerFrame, cause = reason): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.endReason = reason;
    this.endCause = cause;
    const bytes = lastFrame && encodeControl(this.format, lastFrame);
    if (bytes) {
      this.queue.push(bytes);
      this.queuedBytes += bytes.length;
    }
    this.flushNow();
    this.sink.end(code, reason);
    this.graceTimer = setTimeout(() => this.sink.destroy(), this.limits.closeGracePeriod);
    this.graceTimer.unref();
  }

  /** Drops the connection at once, discarding what is queued. */
  terminate(reason: string): void {
    if (this.state === 'closed') return;
    this.endReason = reason;
    this.endCause = reason;
    this.state = 'closing';
    this.discardQueue();
    this.sink.destroy();
  }

  /** Records why the transport is about to close the connection by itself (e.g. a frame too large). */
  closingBecause(reason: string): void {
    if (this.state === 'open') this.endReason = this.endCause = reason;
  }

  /** Called by the transport when the connection is gone, whoever closed it. */
  handleClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.discardQueue();
    this.onEnd(this, this.endReason, this.endCause);
  }

  private flushNow(): void {
    if (this.queue.length > 0) this.flush();
  }

  /**
   * Discards what is queued and asks the transport to close with slow_consumer; bytes already in
   * the socket buffer get the grace period to drain before the connection is dropped.
   */
  private closeSlowConsumer(): void {
    this.droppedBytes = this.queuedBytes + this.sink.bufferedBytes();
    this.discardQueue();
    this.close(closeCodeOf('slow_consumer'), 'slow_consumer');
  }

  describe(): SessionView {
    return {
      id: this.id,
      user: this.user,
      remote: this.remote,
      connectedAt: new Date(this.connectedAt).toISOString(),
      channels: [...this.channels],
      messagesSent: this.messagesSent,
      bytesSent: this.bytesSent,
      messagesReceived: this.messagesReceived,
      bytesReceived: this.bytesReceived,
    };
  }
}

export interface SessionView {
  id: string;
  user: string;
  remote: string;
  connectedAt: string;
  channels: string[];
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
}
