/** A publication as it travels between the API, the broker and the hub. */
export interface Publication {
  channel: string;
  /** Any JSON value. */
  data: unknown;
  /** Milliseconds since the epoch when the publication was accepted. */
  time: number;
}

/**
 * The seam between one node and the others (DESIGN.md section 2). A broker carries publications
 * for the channels this node subscribed to; history, presence and the control bus join this
 * interface with the issues that build them.
 */
export interface Broker {
  readonly name: string;
  publish(pub: Publication): Promise<void>;
  /** Start receiving this channel's publications on this node. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  onPublication(handler: (pub: Publication) => void): void;
  close(): Promise<void>;
}
