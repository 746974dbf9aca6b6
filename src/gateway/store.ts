import type { DownMark, ServiceInstance } from './instances.js';
import { instanceKey } from './instances.js';

/** A change to the shared registry, as every node learns of it. `undefined` means removed. */
export type StoreChange =
  | { kind: 'instance'; service: string; id: string; instance: ServiceInstance | undefined }
  | { kind: 'down'; service: string; mark: DownMark | undefined };

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

/** One process: the registry in a map, changes delivered on the next tick. */
export class MemoryRegistryStore implements RegistryStore {
  private readonly instances = new Map<string, ServiceInstance>();
  private readonly down = new Map<string, DownMark>();
  private listener: StoreListener | undefined;

  async start(listener: StoreListener): Promise<void> {
    this.listener = listener;
  }

  async snapshot(): Promise<RegistrySnapshot> {
    return { instances: [...this.instances.values()], down: [...this.down] };
  }

  async put(instance: ServiceInstance, onlyIfAbsent: boolean): Promise<boolean> {
    const key = instanceKey(instance.service, instance.id);
    if (onlyIfAbsent && this.instances.has(key)) return false;
    this.instances.set(key, instance);
    this.emit({ kind: 'instance', service: instance.service, id: instance.id, instance });
    return true;
  }

  async remove(service: string, id: string): Promise<boolean> {
    if (!this.instances.delete(instanceKey(service, id))) return false;
    this.emit({ kind: 'instance', service, id, instance: undefined });
    return true;
  }

  async setDown(service: string, mark: DownMark | undefined): Promise<void> {
    if (mark) this.down.set(service, mark);
    else if (!this.down.delete(service)) return;
    this.emit({ kind: 'down', service, mark });
  }

  async close(): Promise<void> {
    this.listener = undefined;
  }

  private emit(change: StoreChange): void {
    queueMicrotask(() => this.listener?.change(change));
  }
}
