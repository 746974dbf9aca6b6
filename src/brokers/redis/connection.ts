import type { RedisClient } from '../../backends/redis.js';
import { unavailableError } from '../../protocol/errors.js';
import type { BrokerScripts } from './scripts.js';

/** A client that runs the broker's scripts. */
export type BrokerCommands = RedisClient & BrokerScripts;

/** What a connection hears, as it arrives. */
export interface ConnectionEvents {
  /** A message on the control channel. */
  control(message: string): void;
  /** A live publication of a channel this node subscribed. */
  publication(message: string): void;
  /** The connection is back after an outage and every channel is subscribed again: a gap can be read from history. */
  reconnected(): void;
}

/**
 * The broker's way to one Redis or to a Redis Cluster: commands, the control channel and the live
 * channels this node subscribed, kept subscribed across outages.
 */
export interface RedisConnection {
  /**
   * Takes commands and, after an outage, has every channel subscribed again (the reconnection was
   * reported). Until then a publication this node accepts could miss its own subscribers.
   */
  readonly healthy: boolean;
  /** The client commands go through; throws unavailable while there is none. */
  readonly commands: BrokerCommands;
  /** The pub/sub channel of a channel's live publications. */
  liveChannel(channel: string): string;
  /** Publishes a message on a channel's live pub/sub channel. */
  publishLive(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** Connects and subscribes the control channel; throws unavailable when Redis cannot be reached. */
  connect(): Promise<void>;
  close(): Promise<void>;
}

/** `prefix{channel}:kind`: the hash tag keeps a channel's keys in one Cluster slot. */
export function channelKey(prefix: string, channel: string, kind: string): string {
  return `${prefix}{${channel}}:${kind}`;
}

export function controlChannel(prefix: string): string {
  return `${prefix}control`;
}

/** Runs a command; any failure is the broker being unavailable. */
export async function brokerCall<T>(command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (err) {
    throw unavailableError('the broker', err);
  }
}

export function notConnected(): Error {
  return unavailableError('the broker', new Error('not connected'));
}
