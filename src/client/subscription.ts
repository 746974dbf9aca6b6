import { Emitter } from './events.js';
import type { SwitchboardClientError } from './errors.js';
import type { Position } from '../protocol/types.js';

/** A publication as a channel handler receives it. */
export interface ChannelMessage<T = unknown> {
  channel: string;
  data: T;
  /** On channels with history: the publication's place in the channel's stream. */
  offset?: number;
  epoch?: string;
}

/** Calls for each publication on a channel, in order. */
export type ChannelHandler<T = unknown> = (data: T, message: ChannelMessage<T>) => void;

/** What the server said when the subscription was (re)established on a connection. */
export interface SubscribedEvent {
  channel: string;
  /**
   * Present when the SDK resumed from a position: true when every missed publication follows
   * (they are delivered to the handler before live ones), false when history could not fill the
   * gap (reload the state, e.g. from your backend).
   */
  recovered?: boolean;
  /** How many missed publications follow. */
  replayed: number;
  /** The channel's stream position, on channels with history. */
  position?: Position;
}

/** Another session joined or left the channel (namespaces with presence). */
export interface PresenceEvent {
  channel: string;
  user: string;
  session: string;
}

/** Events of one subscription. */
export interface SubscriptionEvents {
  [name: string]: unknown;
  /** The server confirmed the subscription: first, and again after every reconnect. */
  subscribed: SubscribedEvent;
  /** The subscription failed (forbidden, unknown namespace, ...); it is over. */
  error: SwitchboardClientError;
  /** The server ended the subscription (`reason` says why); it is over. */
  unsubscribed: { channel: string; reason: string };
  join: PresenceEvent;
  leave: PresenceEvent;
}

/** Options of `SwitchboardClient.subscribe`. */
export interface SubscribeOptions {
  /** Resume from this position (saved from an earlier `ChannelMessage` or `subscribed` event) on the first subscribe. */
  since?: Position;
}

/** @internal What the client calls on a subscription, whatever its data type. */
export interface SubscriptionHandle {
  readonly channel: string;
  deliver(message: ChannelMessage): void;
  confirmed(event: SubscribedEvent): void;
  failed(err: SwitchboardClientError): void;
  ended(reason: string): void;
  presence(type: 'join' | 'leave', event: PresenceEvent): void;
}

/** One `subscribe()` call: its handler and its events. Unsubscribe when done. */
export class Subscription<T = unknown> extends Emitter<SubscriptionEvents> implements SubscriptionHandle {
  /** `pending` until the server confirms, `subscribed` after, `closed` once unsubscribed or failed. */
  state: 'pending' | 'subscribed' | 'closed' = 'pending';
  /** Resolves on the first confirmation; rejects if the server refuses the subscription. */
  readonly ready: Promise<SubscribedEvent>;
  private settle!: { resolve: (event: SubscribedEvent) => void; reject: (err: SwitchboardClientError) => void };

  /** @internal Made by `SwitchboardClient.subscribe`. */
  constructor(
    /** The channel name. */
    readonly channel: string,
    private readonly handler: ChannelHandler<T>,
    private readonly release: (subscription: SubscriptionHandle) => void,
  ) {
    super();
    this.ready = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // Callers that only use events need not handle `ready`.
    this.ready.catch(() => {});
  }

  /** Stops the handler; the channel is unsubscribed on the server when no other subscription uses it. */
  unsubscribe(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.release(this);
  }

  /** @internal */
  deliver(message: ChannelMessage): void {
    if (this.state !== 'closed') this.handler(message.data as T, message as ChannelMessage<T>);
  }

  /** @internal */
  confirmed(event: SubscribedEvent): void {
    if (this.state === 'closed') return;
    this.state = 'subscribed';
    this.settle.resolve(event);
    this.emit('subscribed', event);
  }

  /** @internal */
  failed(err: SwitchboardClientError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.settle.reject(err);
    this.emit('error', err);
  }

  /** @internal */
  ended(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.emit('unsubscribed', { channel: this.channel, reason });
  }

  /** @internal */
  presence(type: 'join' | 'leave', event: PresenceEvent): void {
    if (this.state !== 'closed') this.emit(type, event);
  }
}
