/** A message on a channel, as brokers carry it and the wire formats encode it. */
export interface Publication {
  channel: string;
  /** Any JSON value. */
  data: unknown;
  /** Milliseconds since the epoch when the publication was accepted. */
  time: number;
  /** Set by the broker when the channel keeps history. */
  offset?: number;
  epoch?: string;
  /** A presence event instead of data: subscribers get a join or leave frame. */
  presence?: { type: 'join' | 'leave'; user: string; session: string };
}
