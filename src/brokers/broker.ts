/** A position in a channel's stream; the epoch changes when the stream is lost or reset. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** A publication as it travels between the API, the broker and the hub. */
export interface Publication {
  channel: string;
  /** Any JSON value. */
  data: unknown;
  /** Milliseconds since the epoch when the publication was accepted. */
  time: number;
  /** Set by the broker when the channel keeps history. */
  offset?: number;
  epoch?: string;
}

export interface HistoryOptions {
  /** Most publications kept. */
  size: number;
  /** How long a publication is kept, in ms; 0 keeps it until pushed out by size. */
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

/**
 * The seam between one node and the others (DESIGN.md section 2). A broker carries publications
 * for the channels this node subscribed to and keeps the bounded history of channels that have
 * one; presence and the control bus join this interface with the issues that build them.
 */
export interface Broker {
  readonly name: string;
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
