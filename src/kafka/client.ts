import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

export interface KafkaConnection {
  /** Bootstrap servers, host:port each. */
  brokers: string[];
  clientId: string;
}

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose log lines go to the node's JSON log instead of the console. */
export function createKafka(connection: KafkaConnection, log: Logger): Kafka {
  const kafkaLog = log.child({ component: 'kafka' });
  return new Kafka({
    clientId: connection.clientId,
    brokers: connection.brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...fields } = entry;
        kafkaLog[levelNames[level] ?? 'info']({ event: 'kafka.client', ...fields }, message);
      },
  });
}
