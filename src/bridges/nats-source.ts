import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { Bridge } from './bridge.js';
import type { SourceRecord } from './records.js';
import type { RecordSource } from './source.js';

function recordOf(message: { data: Uint8Array; headers?: MsgHdrs }): SourceRecord {
  const headers = new Map<string, string>();
  for (const [name, values] of message.headers ?? []) if (values.length > 0) headers.set(name.toLowerCase(), values[0]!);
  return { value: message.data.length > 0 ? Buffer.from(message.data) : undefined, headers };
}

/**
 * A core NATS subject read in a queue group (every node joins it, so each message goes to one
 * node). Core NATS has no acknowledgements: a message that arrives while this node stops or
 * crashes is lost, as it is for any core NATS subscriber; use a JetStream bridge for at-least-once.
 */
export class NatsRecordSource implements RecordSource {
  private subscription: Subscription | undefined;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly bridge: Bridge,
    private readonly connection: NatsConnection,
  ) {}

  async start(): Promise<void> {
    const { subject, group } = this.bridge.definition;
    const subscription = this.connection.subscribe(subject, { queue: group });
    this.subscription = subscription;
    this.running = true;
    this.loop = this.run(subscription);
    await this.connection.flush();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.subscription?.drain();
    await this.loop;
  }

  private async run(subscription: Subscription): Promise<void> {
    for await (const message of subscription as AsyncIterable<Msg>) {
      await this.bridge.deliver(recordOf(message), `${message.subject}`, () => this.running).catch(() => {});
    }
  }
}

export interface JetStreamSourceOptions {
  /** A new durable consumer starts at the stream's first message instead of new ones. */
  fromBeginning: boolean;
  /** How long JetStream waits for an acknowledgement before redelivering (renewed while a delivery is retried). */
  ackWait: number;
}

/**
 * A JetStream stream read through a durable pull consumer that every node shares, so each
 * message goes to one node; a message is acknowledged once delivered, and redelivered by
 * JetStream when the node holding it dies.
 */
export class JetStreamRecordSource implements RecordSource {
  private messages: ConsumerMessages | undefined;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly bridge: Bridge,
    private readonly connection: NatsConnection,
    private readonly options: JetStreamSourceOptions,
  ) {}

  async start(): Promise<void> {
    const { stream, subject, group } = this.bridge.definition;
    const manager = await jetstreamManager(this.connection);
    try {
      await manager.consumers.info(stream, group);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      await manager.consumers.add(stream, {
        durable_name: group,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: this.options.fromBeginning ? DeliverPolicy.All : DeliverPolicy.New,
        ack_wait: this.options.ackWait * 1_000_000,
        ...(subject ? { filter_subject: subject } : {}),
      });
    }
    const consumer = await jetstream(this.connection).consumers.get(stream, group);
    this.messages = await consumer.consume({ max_messages: 100 });
    this.running = true;
    this.loop = this.run(this.messages);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.messages?.close();
    await this.loop;
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const message of messages) {
      try {
        await this.bridge.deliver(
          recordOf(message),
          `${message.subject} sequence ${message.seq}`,
          () => this.running,
          async () => message.working(),
        );
        message.ack();
      } catch {
        message.nak();
      }
    }
  }
}
