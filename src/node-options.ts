import type { Logger } from 'pino';
import type { Broker } from './brokers/broker.js';
import type { MemoryBus } from './brokers/memory.js';
import type { MachineView } from './workers/ops-channel.js';

/** What an embedder (a worker process, a test) may hand a node besides its configuration. */
export interface NodeOptions {
  /** Share an in-process bus with other nodes (tests); each node gets its own otherwise. */
  bus?: MemoryBus;
  logger?: Logger;
  /** A worker's broker (src/workers/): instead of the one broker.type names. */
  broker?: Broker;
  /** A worker's view of all the workers of its machine, for /metrics and /readyz. */
  machine?: MachineView;
}
