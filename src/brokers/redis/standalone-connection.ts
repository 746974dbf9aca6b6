import type { Redis } from 'ioredis';
import { createRedisClient } from '../../backends/redis.js';
import { brokerCall, controlChannel, type BrokerCommands, type ConnectionEvents, type RedisConnection } from './connection.js';
import { brokerScripts } from './scripts.js';

/**
 * One Redis: a connection for commands and one in subscriber mode, each reconnecting by itself
 * with the shared backoff. Live publications go through classic pub/sub.
 */
export class StandaloneConnection implements RedisConnection {
  readonly commands: BrokerCommands;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly controlChannel: string;
  private wasDown = false;
  private settling = false;
  private closed = false;

  constructor(
    url: string,
    prefix: string,
    private readonly events: ConnectionEvents,
  ) {
    this.prefix = prefix;
    this.controlChannel = controlChannel(prefix);
    // Commands fail at once while disconnected (publish answers 503); nothing waits in a queue.
    this.commands = createRedisClient({ url }, { offlineQueue: false, reconnect: true }) as BrokerCommands;
    this.subscriber = createRedisClient({ url }, { offlineQueue: true, reconnect: true }) as Redis;
    for (const [name, definition] of Object.entries(brokerScripts('publish'))) this.commands.defineCommand(name, definition);
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.controlChannel) events.control(message);
      else events.publication(message);
    });
    for (const client of [this.commands, this.subscriber]) {
      client.on('close', () => {
        this.wasDown = true;
      });
      client.on('ready', () => this.settle());
    }
  }

  /**
   * The reconnection is reported once both connections are back and every channel is subscribed
   * again, so the history read that follows sees whatever the live stream did not bring. ioredis
   * emits 'ready' just before it sends SUBSCRIBE for every channel again: a SUBSCRIBE sent after
   * those is answered once they all are.
   */
  private settle(): void {
    if (!this.wasDown || this.settling || this.closed || !this.connected) return;
    this.settling = true;
    setImmediate(() => {
      this.subscriber.subscribe(this.controlChannel).then(
        () => {
          this.settling = false;
          if (this.closed || !this.connected || !this.wasDown) return;
          this.wasDown = false;
          this.events.reconnected();
        },
        () => {
          this.settling = false;
        },
      );
    });
  }

  get healthy(): boolean {
    return this.connected && !this.wasDown;
  }

  private get connected(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  liveChannel(channel: string): string {
    return `${this.prefix}channel:${channel}`;
  }

  publishLive(channel: string, message: string): Promise<unknown> {
    return this.commands.publish(this.liveChannel(channel), message);
  }

  async subscribe(channel: string): Promise<void> {
    await brokerCall(() => this.subscriber.subscribe(this.liveChannel(channel)));
  }

  async unsubscribe(channel: string): Promise<void> {
    if (this.subscriber.status !== 'ready') return;
    await this.subscriber.unsubscribe(this.liveChannel(channel));
  }

  async connect(): Promise<void> {
    try {
      await Promise.all([this.commands.connect(), this.subscriber.connect()]);
      await this.subscriber.subscribe(this.controlChannel);
    } catch (err) {
      this.commands.disconnect();
      this.subscriber.disconnect();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const clients = [this.commands, this.subscriber];
    await Promise.allSettled(clients.map((client) => client.quit()));
    for (const client of clients) client.disconnect();
  }
}
