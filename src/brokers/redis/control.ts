import type { ControlBus, ControlMessage } from '../broker.js';
import { brokerCall, controlChannel, type RedisConnection } from './connection.js';

/**
 * Control messages on one classic pub/sub channel, which a Cluster forwards to every node: each
 * node hears it wherever its subscriber connection sits, and the traffic (heartbeats, commands) is small.
 */
export class RedisControl implements ControlBus {
  private readonly channel: string;
  private handler: (message: ControlMessage) => void = () => {};

  constructor(
    private readonly connection: RedisConnection,
    prefix: string,
  ) {
    this.channel = controlChannel(prefix);
  }

  async publish(message: ControlMessage): Promise<void> {
    await brokerCall(() => this.connection.commands.publish(this.channel, JSON.stringify(message)));
  }

  onMessage(handler: (message: ControlMessage) => void): void {
    this.handler = handler;
  }

  /** A message on the control channel; one that cannot be parsed is dropped (it must not throw into the client's event loop). */
  receive(message: string): void {
    let parsed: ControlMessage;
    try {
      parsed = JSON.parse(message) as ControlMessage;
    } catch {
      return;
    }
    this.handler(parsed);
  }
}
