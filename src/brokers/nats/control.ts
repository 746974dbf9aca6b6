import type { Msg } from '@nats-io/transport-node';
import type { ControlBus, ControlMessage } from '../broker.js';
import type { BrokerConnection } from './connection.js';

/** Control messages on the core subject `<prefix>.control`. */
export class NatsControl implements ControlBus {
  private readonly subject: string;
  private handler: (message: ControlMessage) => void = () => {};

  constructor(
    private readonly connection: BrokerConnection,
    base: string,
  ) {
    this.subject = `${base}.control`;
  }

  /** Subscribes the control subject; once connected. */
  open(): void {
    this.connection.client().subscribe(this.subject, {
      callback: (err, msg) => {
        if (!err) this.receive(msg);
      },
    });
  }

  async publish(message: ControlMessage): Promise<void> {
    await this.connection.run(async () => {
      this.connection.client().publish(this.subject, JSON.stringify(message));
      await this.connection.flushed();
    });
  }

  onMessage(handler: (message: ControlMessage) => void): void {
    this.handler = handler;
  }

  private receive(msg: Msg): void {
    let message: ControlMessage;
    try {
      message = msg.json<ControlMessage>();
    } catch {
      return;
    }
    this.handler(message);
  }
}
