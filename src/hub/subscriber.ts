import type { WireFormat } from '../protocol/wire.js';

/** What the hub needs of a session: its id, its wire format, the channels it is on, and a queue for bytes. */
export interface Subscriber {
  /** Compared with a presence event's session: nobody is told about itself. */
  readonly id: string;
  readonly format: WireFormat;
  /** The channels the hub has it on, kept by the hub. */
  readonly channels: Set<string>;
  /** Subscriptions started and not yet joined, kept by the hub. */
  pendingJoins: number;
  enqueue(bytes: Buffer): void;
}
