import type { ErrorCode } from '../protocol/errors.js';
import type { FrameId } from '../protocol/frames.js';
import type { Publication } from '../protocol/publication.js';

export type { Publication };

/** A position in a channel's stream; the epoch changes when the stream is lost or reset. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

export interface HistoryOptions {
  /** Most publications kept. */
  size: number;
  /** How long the stream lives after its last publication, in ms; 0: for ever. */
  ttl: number;
}

export interface HistoryQuery {
  /** Only publications after this position; all kept ones when its epoch is not the current one. */
  since?: StreamPosition;
  limit?: number;
  /** Newest first. */
  reverse?: boolean;
}

export interface HistoryResult {
  publications: Publication[];
  /** The stream's current top position; offset 0 and epoch '' when the channel has no stream. */
  position: StreamPosition;
}

/** One session's presence on a channel. */
export interface PresenceMember {
  session: string;
  user: string;
  node: string;
}

/**
 * Who is on a channel, cluster-wide. Entries expire unless the owning node refreshes them, so the
 * sessions of a node that died disappear by themselves.
 */
export interface PresenceStore {
  /** Adds or refreshes members; each entry lives `ttl` ms unless refreshed. */
  add(channel: string, members: PresenceMember[], ttl: number): Promise<void>;
  remove(channel: string, sessions: string[]): Promise<void>;
  list(channel: string): Promise<PresenceMember[]>;
}

/** Whom a control command acts on: one session, or every session of a user. */
export type ControlTarget = { session: string } | { user: string };

/** A question every node answers about its own sessions (cluster-wide API views). */
export type ClusterQuery =
  | {
      what: 'sessions';
      user?: string;
      channel?: string;
      session?: string;
      /** Only this node's sessions. */
      node?: string;
      /** Only sessions of this transport (ws, sse, http-stream, ...). */
      transport?: string;
      /** One page by session id, answered as {entries, total}; every matching session otherwise. */
      page?: { limit: number; after?: string };
    }
  /** A node's samples of the last minutes (admin console); nodes without the console answer null. */
  | { what: 'node-stats'; minutes: number }
  | { what: 'channels'; prefix: string }
  /** Who holds a session, and whether a secret's digest is its (POST /frames?session=); only its node answers. */
  | { what: 'stream-session'; session: string; secretDigest: string };

/**
 * Node-to-node messages; every node receives every message. Commands act on the receiver's own
 * sessions; queries are answered by every node to the asking one.
 */
export type ControlMessage =
  | { kind: 'disconnect'; target: ControlTarget; code: number; reason: string }
  | { kind: 'send'; target: ControlTarget; data: unknown }
  /** A backend's late answer to a client's send/rpc frame (it answered 202 first). */
  | { kind: 'reply'; target: ControlTarget; id: FrameId; data?: unknown; error?: { code: ErrorCode; message: string } }
  | { kind: 'subscribe' | 'unsubscribe'; target: ControlTarget; channel: string }
  | { kind: 'node'; node: NodeReport }
  | { kind: 'query'; id: string; from: string; query: ClusterQuery }
  | { kind: 'answer'; id: string; from: string; to: string; result: unknown };

/** What a node says of itself in its heartbeat. */
export interface NodeReport {
  id: string;
  url: string;
  state: 'running' | 'draining' | 'stopped';
  sessions: number;
  subscriptions: number;
  channels: number;
  startedAt: number;
  /** When the report was sent (ms since the epoch). */
  time: number;
  version: string;
  uptimeSeconds: number;
  /** Percent of one core over the last second or more. */
  cpu: number;
  /** Resident set size, bytes. */
  rss: number;
  broker: { type: string; connected: boolean };
}

export interface ControlBus {
  publish(message: ControlMessage): Promise<void>;
  onMessage(handler: (message: ControlMessage) => void): void;
}

/**
 * The seam between one node and the others (DESIGN.md section 2). A broker carries publications
 * for the channels this node subscribed to, keeps the bounded history of channels that have one,
 * presence, and the control bus between nodes.
 */
export interface Broker {
  readonly name: string;
  /** Connects to the backing service; throws SwitchboardError('unavailable') when it cannot. */
  connect(): Promise<void>;
  readonly presence: PresenceStore;
  readonly control: ControlBus;
  /** False while the broker's connection is down; publishes fail with `unavailable` then. */
  readonly healthy: boolean;
  /**
   * Called after the connection came back and every channel was subscribed again: publications
   * (and revocations) of that gap are read from history.
   */
  onReconnect(handler: () => void): void;
  /** Delivers the publication to every subscribed node; with history, assigns and returns its position. */
  publish(pub: Publication, opts?: { history?: HistoryOptions }): Promise<StreamPosition | undefined>;
  /** Start receiving this channel's publications on this node. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  history(channel: string, query: HistoryQuery): Promise<HistoryResult>;
  onPublication(handler: (pub: Publication) => void): void;
  close(): Promise<void>;
}

/**
 * Whether a history answer for `since` holds every publication after it: same epoch, not from
 * the future, and no gap between `since` and the first publication returned. The position of a
 * channel that had no stream yet (offset 0, epoch '') continues into whatever stream began since,
 * if that stream still holds its first publication.
 */
export function continuesFrom(since: StreamPosition, result: HistoryResult): boolean {
  const { position, publications } = result;
  const beforeAnyStream = since.epoch === '' && since.offset === 0;
  if (!beforeAnyStream && (since.epoch !== position.epoch || since.offset > position.offset)) return false;
  if (publications.length === 0) return beforeAnyStream ? position.offset === 0 : since.offset === position.offset;
  return publications[0]!.offset === since.offset + 1;
}
