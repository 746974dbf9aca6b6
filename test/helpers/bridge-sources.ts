import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { startKafkaMock, startNats, startRedis } from './services.js';

/** Writes records the way an application next to Switchboard would: to Kafka, NATS, JetStream and Redis streams. */
export interface RecordWriters {
  kafka(topic: string, value: string | null, headers?: Record<string, string>, key?: string): Promise<void>;
  nats(subject: string, value: string, headers?: Record<string, string>): Promise<void>;
  jetstream(subject: string, value: string, headers?: Record<string, string>): Promise<void>;
  redis(stream: string, fields: Record<string, string>): Promise<void>;
  /** Creates a JetStream stream over these subjects. */
  createStream(name: string, subjects: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface WriterTargets {
  kafka?: string[];
  nats?: string;
  redis?: string;
}

function natsHeadersOf(given: Record<string, string> | undefined) {
  if (!given) return undefined;
  const h = natsHeaders();
  for (const [name, value] of Object.entries(given)) h.set(name, value);
  return h;
}

export async function recordWriters(targets: WriterTargets): Promise<RecordWriters> {
  let producer: Producer | undefined;
  if (targets.kafka) {
    producer = new Kafka({ clientId: 'test-writer', brokers: targets.kafka, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  }
  const nc: NatsConnection | undefined = targets.nats ? await connect({ servers: targets.nats }) : undefined;
  const redis = targets.redis ? new Redis(targets.redis) : undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`no ${what} server was given to recordWriters`);
    return value;
  };
  return {
    kafka: async (topic, value, headers, key) => {
      await need(producer, 'Kafka').send({ topic, acks: -1, messages: [{ key, value, headers }] });
    },
    nats: async (subject, value, headers) => {
      const conn = need(nc, 'NATS');
      conn.publish(subject, value, { headers: natsHeadersOf(headers) });
      await conn.flush();
    },
    jetstream: async (subject, value, headers) => {
      await jetstream(need(nc, 'NATS')).publish(subject, value, { headers: natsHeadersOf(headers) });
    },
    redis: async (stream, fields) => {
      await need(redis, 'Redis').xadd(stream, '*', ...Object.entries(fields).flat());
    },
    createStream: async (name, subjects) => {
      await (await jetstreamManager(need(nc, 'NATS'))).streams.add({ name, subjects });
    },
    close: async () => {
      await producer?.disconnect();
      await nc?.close();
      redis?.disconnect();
    },
  };
}

export interface BridgeSources {
  writers: RecordWriters;
  /** The node settings that point its bridges at the three sources. */
  settings: Record<string, unknown>;
  /** Closes the writers and stops the servers. */
  stop(): Promise<void>;
}

/** A Kafka mock cluster, NATS with JetStream and Redis on free loopback ports, with a writer for each. */
export async function startBridgeSources(): Promise<BridgeSources> {
  const [kafka, nats, redis] = await Promise.all([startKafkaMock(), startNats(), startRedis()]);
  const stopServers = async () => void (await Promise.all([kafka.stop(), nats.stop(), redis.stop()]));
  let writers: RecordWriters;
  try {
    writers = await recordWriters({ kafka: kafka.brokers, nats: nats.url, redis: redis.url });
  } catch (err) {
    await stopServers();
    throw err;
  }
  return {
    writers,
    settings: { 'bridges.kafka.brokers': kafka.brokers, 'bridges.nats.servers': nats.url, 'bridges.redis.url': redis.url },
    async stop() {
      await writers.close();
      await stopServers();
    },
  };
}
