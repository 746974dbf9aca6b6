import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { Bridge, type BridgeOutcome, type BridgeOutlet } from './bridge.js';
import type { BridgeDefinition } from '../config/bridges.js';
import type { RecordSource } from './source.js';

export interface BridgesDeps {
  config: Config;
  nodeId: string;
  outlet: BridgeOutlet;
  log: Logger;
  registry: Registry;
}

/** JetStream redelivers a message a node holds but has not acknowledged after this long (renewed while its delivery is retried). */
const jetStreamAckWait = 30_000;

/**
 * The configured bridges: records published to a Kafka topic, a NATS subject, a JetStream stream
 * or a Redis stream reach the sessions subscribed to a channel, or every session of a user, on
 * every node.
 */
export class Bridges {
  private readonly sources: RecordSource[] = [];
  private nats: Promise<NatsConnection> | undefined;
  private readonly records: Counter<'bridge' | 'outcome'>;

  constructor(private readonly deps: BridgesDeps) {
    this.records = new Counter({
      name: 'switchboard_bridge_records_total',
      help: 'Records read by the bridges, by bridge and outcome: delivered, malformed (skipped) or failed (a delivery attempt, retried)',
      labelNames: ['bridge', 'outcome'],
      registers: [deps.registry],
    });
    for (const definition of deps.config.bridges.definitions) {
      for (const outcome of ['delivered', 'malformed', 'failed'] as const) this.records.inc({ bridge: definition.name, outcome }, 0);
    }
  }

  /** Starts every bridge at once; if one cannot start, the others are stopped and its error is thrown. */
  async start(): Promise<void> {
    const started = await Promise.allSettled(
      this.deps.config.bridges.definitions.map(async (definition) => {
        const source = await this.sourceFor(definition);
        this.sources.push(source);
        await source.start();
        this.deps.log.info({ event: 'bridge.started', bridge: definition.name, source: definition.source, target: definition.target.type }, `bridge ${definition.name} started`);
      }),
    );
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      await this.stop();
      throw failed.reason;
    }
  }

  async stop(): Promise<void> {
    const sources = this.sources.splice(0);
    await Promise.all(sources.map((source) => source.stop()));
    const nats = this.nats;
    this.nats = undefined;
    if (nats) await (await nats.catch(() => undefined))?.close();
  }

  private async sourceFor(definition: BridgeDefinition): Promise<RecordSource> {
    const { bridges } = this.deps.config;
    const bridge = new Bridge(definition, {
      outlet: this.deps.outlet,
      log: this.deps.log,
      count: (name: string, outcome: BridgeOutcome) => this.records.inc({ bridge: name, outcome }),
      maxRecordBytes: bridges.maxRecordBytes,
      retryBackoffMax: bridges.retryBackoffMax,
    });
    const fromBeginning = bridges.startAt === 'earliest';
    // Each source's client library is loaded only when a bridge reads from it.
    switch (definition.source) {
      case 'kafka': {
        const [{ KafkaRecordSource }, { createKafka }] = await Promise.all([import('./kafka-source.js'), import('../kafka/client.js')]);
        return new KafkaRecordSource(
          bridge,
          createKafka({ brokers: bridges.kafka.brokers, clientId: bridges.kafka.clientId }, this.deps.log),
          {
            fromBeginning,
            sessionTimeout: bridges.kafka.sessionTimeout,
          },
          this.deps.log,
        );
      }
      case 'nats': {
        const { NatsRecordSource } = await import('./nats-source.js');
        return new NatsRecordSource(bridge, await this.natsConnection());
      }
      case 'jetstream': {
        const { JetStreamRecordSource } = await import('./nats-source.js');
        return new JetStreamRecordSource(bridge, await this.natsConnection(), { fromBeginning, ackWait: jetStreamAckWait });
      }
      case 'redis': {
        const { RedisRecordSource } = await import('./redis-source.js');
        return new RedisRecordSource(
          bridge,
          { url: bridges.redis.url || this.deps.config.broker.redis.url, consumer: this.deps.nodeId, claimIdle: bridges.redis.claimIdle, fromBeginning },
          this.deps.log,
        );
      }
    }
  }

  /** One NATS connection for all NATS and JetStream bridges: bridges.nats.servers, or the broker's servers and credentials. */
  private natsConnection(): Promise<NatsConnection> {
    this.nats ??= this.connectNats();
    return this.nats;
  }

  private async connectNats(): Promise<NatsConnection> {
    const own = this.deps.config.bridges.nats.servers;
    const { connectNats } = await import('../backends/nats.js');
    return connectNats(own ? { servers: own } : this.deps.config.broker.nats, { name: `switchboard-bridges-${this.deps.nodeId}` });
  }
}
