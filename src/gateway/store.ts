import type { DownMark, ServiceInstance } from './instances.js';

/** A change to the shared registry, as every node learns of it. `undefined` means removed. */
export type StoreChange = { kind: 'instance'; service: string; id: string; instance: ServiceInstance | undefined } | { kind: 'down'; service: string; mark: DownMark | undefined };

export interface RegistrySnapshot {
  instances: ServiceInstance[];
  down: [service: string, mark: DownMark][];
}

export interface StoreListener {
  change(change: StoreChange): void;
  /** The connection came back: changes may have been missed, read the whole registry again. */
  reconnected(): void;
}

/**
 * Where registrations live so every node shares them: the broker the node is configured with.
 * Writes are seen by every node (this one included) through `change`, within the broker's
 * notification latency.
 */
export interface RegistryStore {
  start(listener: StoreListener): Promise<void>;
  snapshot(): Promise<RegistrySnapshot>;
  /** Stores an instance; with `onlyIfAbsent` an existing entry is kept and false is returned. */
  put(instance: ServiceInstance, onlyIfAbsent: boolean): Promise<boolean>;
  /** Removes an instance; false when it was not there. */
  remove(service: string, id: string): Promise<boolean>;
  setDown(service: string, mark: DownMark | undefined): Promise<void>;
  close(): Promise<void>;
}
