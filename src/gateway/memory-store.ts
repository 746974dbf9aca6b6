import { instanceKey, type DownMark, type ServiceInstance } from './instances.js';
import type { RegistrySnapshot, RegistryStore, StoreChange, StoreListener } from './store.js';

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
