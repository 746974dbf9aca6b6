import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import { connectNats, natsName, type NatsSettings } from '../backends/nats.js';
import { unavailableError } from '../protocol/errors.js';
import type { DownMark, ServiceInstance } from './instances.js';
import type { RegistrySnapshot, RegistryStore, StoreChange, StoreListener } from './store.js';

const OPERATION_TIMEOUT = 5000;

/** A name as one KV key token. */
const token = (name: string) => Buffer.from(name, 'utf8').toString('base64url') || '_';
const untoken = (text: string) => Buffer.from(text, 'base64url').toString('utf8');

/**
 * The registry in a NATS KV bucket `<prefix>_gateway`: `i.<service>.<id>` holds an instance,
 * `d.<service>` a down mark (names base64url-encoded). Every node watches the bucket, so each write
 * reaches all of them; a node that reconnects reads the bucket again.
 */
export class NatsRegistryStore implements RegistryStore {
  private nc: NatsConnection | undefined;
  private kv!: KV;
  private listener: StoreListener | undefined;
  private readonly bucket: string;

  constructor(private readonly options: NatsSettings & { prefix: string }) {
    this.bucket = `${natsName(options.prefix)}_gateway`;
  }

  async start(listener: StoreListener): Promise<void> {
    this.listener = listener;
    try {
      this.nc = await connectNats(this.options, { name: 'switchboard-gateway', timeout: OPERATION_TIMEOUT });
      this.kv = await new Kvm(jetstream(this.nc, { timeout: OPERATION_TIMEOUT })).create(this.bucket, { history: 1 });
      const watcher = await this.kv.watch({ key: '>', include: KvWatchInclude.UpdatesOnly });
      void (async () => {
        for await (const entry of watcher) this.receive(entry);
      })();
    } catch (err) {
      await this.nc?.close().catch(() => {});
      throw unavailableError('the service registry (nats)', err);
    }
    void this.watchStatus(this.nc);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) if (status.type === 'reconnect') this.listener?.reconnected();
  }

  async snapshot(): Promise<RegistrySnapshot> {
    return this.run(async () => {
      const keys: string[] = [];
      for await (const key of await this.kv.keys()) keys.push(key);
      const entries = await Promise.all(keys.map((key) => this.kv.get(key)));
      const snapshot: RegistrySnapshot = { instances: [], down: [] };
      for (const entry of entries) {
        if (!entry || entry.operation !== 'PUT') continue;
        const change = this.decode(entry);
        if (change?.kind === 'instance' && change.instance) snapshot.instances.push(change.instance);
        else if (change?.kind === 'down' && change.mark) snapshot.down.push([change.service, change.mark]);
      }
      return snapshot;
    });
  }

  async put(instance: ServiceInstance, onlyIfAbsent: boolean): Promise<boolean> {
    const key = `i.${token(instance.service)}.${token(instance.id)}`;
    const value = JSON.stringify(instance);
    return this.run(async () => {
      if (!onlyIfAbsent) {
        await this.kv.put(key, value);
        return true;
      }
      try {
        await this.kv.create(key, value);
        return true;
      } catch (err) {
        // create fails when the key holds a value; a deleted key is created again.
        if (/wrong last sequence|key exists/i.test((err as Error).message)) return false;
        throw err;
      }
    });
  }

  async remove(service: string, id: string): Promise<boolean> {
    const key = `i.${token(service)}.${token(id)}`;
    return this.run(async () => {
      const entry = await this.kv.get(key);
      if (!entry || entry.operation !== 'PUT') return false;
      try {
        await this.kv.delete(key, { previousSeq: entry.revision });
      } catch (err) {
        if (/wrong last sequence/i.test((err as Error).message)) return false;
        throw err;
      }
      return true;
    });
  }

  async setDown(service: string, mark: DownMark | undefined): Promise<void> {
    const key = `d.${token(service)}`;
    await this.run(async () => {
      if (mark) await this.kv.put(key, JSON.stringify(mark));
      else if ((await this.kv.get(key))?.operation === 'PUT') await this.kv.delete(key);
    });
  }

  async close(): Promise<void> {
    this.listener = undefined;
    await this.nc?.close().catch(() => {});
  }

  private receive(entry: KvEntry): void {
    const change = this.decode(entry);
    if (change) this.listener?.change(change);
  }

  private decode(entry: KvEntry): StoreChange | undefined {
    const [kind, service, id] = entry.key.split('.');
    const removed = entry.operation !== 'PUT';
    try {
      if (kind === 'i' && service && id) {
        return { kind: 'instance', service: untoken(service), id: untoken(id), instance: removed ? undefined : entry.json<ServiceInstance>() };
      }
      if (kind === 'd' && service) return { kind: 'down', service: untoken(service), mark: removed ? undefined : entry.json<DownMark>() };
    } catch {
      return undefined;
    }
    return undefined;
  }

  private async run<T>(operation: () => Promise<T>): Promise<T> {
    if (!this.nc || this.nc.isClosed()) throw unavailableError('the service registry (nats)', new Error('not connected'));
    try {
      return await operation();
    } catch (err) {
      throw unavailableError('the service registry (nats)', err);
    }
  }
}
