import type { Broker, ControlBus, ControlMessage, HistoryOptions, HistoryQuery, HistoryResult, PresenceMember, PresenceStore, Publication, StreamPosition } from './broker.js';
import { MemoryBroker, MemoryBus } from './memory.js';
import { SwitchboardError, type ErrorCode } from '../protocol/errors.js';

/**
 * One end of a message channel between a worker and the primary (a cluster worker's IPC channel).
 * Messages are JSON values; the disconnect handler is called once when the other end is gone.
 */
export interface IpcEndpoint {
  send(message: object): void;
  onMessage(handler: (message: unknown) => void): void;
  onDisconnect(handler: () => void): void;
}

type Operation =
  | { op: 'publish'; pub: Publication; opts?: { history?: HistoryOptions } }
  | { op: 'subscribe' | 'unsubscribe'; channel: string }
  | { op: 'history'; channel: string; query: HistoryQuery }
  | { op: 'presence.add'; channel: string; members: PresenceMember[]; ttl: number }
  | { op: 'presence.remove'; channel: string; sessions: string[] }
  | { op: 'presence.list'; channel: string }
  | { op: 'control'; message: ControlMessage }
  | { op: 'close' };

/** What travels over the channel; `sb: 'broker'` tells broker traffic from the channel's other uses. */
export type IpcMessage =
  | { sb: 'broker'; id: number; request: Operation }
  | { sb: 'broker'; id: number; result?: unknown; error?: { code: ErrorCode; message: string } }
  | { sb: 'broker'; publication: Publication }
  | { sb: 'broker'; control: ControlMessage };

function isBrokerMessage(message: unknown): message is IpcMessage {
  return typeof message === 'object' && message !== null && (message as { sb?: unknown }).sb === 'broker';
}

/**
 * A worker's broker: every call goes to the one memory broker the primary hosts (IpcBrokerHost),
 * so the workers of one machine share channels, history, presence and the control bus as the
 * nodes of a cluster share a Redis or NATS.
 */
export class IpcBroker implements Broker {
  readonly name = 'memory';
  readonly presence: PresenceStore;
  readonly control: ControlBus;
  private connected = true;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private handler: (pub: Publication) => void = () => {};
  private controlHandler: (message: ControlMessage) => void = () => {};

  constructor(private readonly endpoint: IpcEndpoint) {
    endpoint.onMessage((message) => {
      if (isBrokerMessage(message)) this.receive(message);
    });
    endpoint.onDisconnect(() => {
      this.connected = false;
      for (const { reject } of this.pending.values()) reject(new SwitchboardError('unavailable', 'the primary process is gone'));
      this.pending.clear();
    });
    this.presence = {
      add: async (channel, members, ttl) => void (await this.call({ op: 'presence.add', channel, members, ttl })),
      remove: async (channel, sessions) => void (await this.call({ op: 'presence.remove', channel, sessions })),
      list: (channel) => this.call({ op: 'presence.list', channel }) as Promise<PresenceMember[]>,
    };
    this.control = {
      publish: async (message) => void (await this.call({ op: 'control', message })),
      onMessage: (handler) => {
        this.controlHandler = handler;
      },
    };
  }

  get healthy(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    if (!this.connected) throw new SwitchboardError('unavailable', 'the primary process is gone');
  }

  async publish(pub: Publication, opts?: { history?: HistoryOptions }): Promise<StreamPosition | undefined> {
    return (await this.call({ op: 'publish', pub, opts })) as StreamPosition | undefined;
  }

  async subscribe(channel: string): Promise<void> {
    await this.call({ op: 'subscribe', channel });
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.call({ op: 'unsubscribe', channel });
  }

  async history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    return (await this.call({ op: 'history', channel, query })) as HistoryResult;
  }

  onPublication(handler: (pub: Publication) => void): void {
    this.handler = handler;
  }

  /** The primary's broker lives as long as the worker's channel to it: there is nothing to reconnect. */
  onReconnect(): void {}

  async close(): Promise<void> {
    if (this.connected) await this.call({ op: 'close' });
  }

  private call(request: Operation): Promise<unknown> {
    if (!this.connected) return Promise.reject(new SwitchboardError('unavailable', 'the primary process is gone'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.endpoint.send({ sb: 'broker', id, request });
    });
  }

  private receive(message: IpcMessage): void {
    if ('publication' in message) return this.handler(message.publication);
    if ('control' in message) return this.controlHandler(message.control);
    if ('request' in message) return;
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.error) waiting.reject(new SwitchboardError(message.error.code, message.error.message));
    else waiting.resolve(message.result);
  }
}

/**
 * The primary's side: one memory bus, and on it one memory broker per attached worker that
 * carries out the worker's calls and forwards its publications and control messages.
 */
export class IpcBrokerHost {
  readonly bus = new MemoryBus();

  /** Serves one worker's channel; answers a function that detaches it (when the worker is gone). */
  attach(endpoint: IpcEndpoint): () => Promise<void> {
    const broker = new MemoryBroker(this.bus);
    // A worker that just died must not fail the delivery to the others.
    const send = (message: IpcMessage) => {
      try {
        endpoint.send(message);
      } catch {
        // its channel is closed; the worker is detached when its exit is noticed
      }
    };
    broker.onPublication((publication) => send({ sb: 'broker', publication }));
    broker.control.onMessage((control) => send({ sb: 'broker', control }));
    endpoint.onMessage((message) => {
      if (!isBrokerMessage(message) || !('request' in message)) return;
      const { id, request } = message;
      this.perform(broker, request).then(
        (result) => send({ sb: 'broker', id, result }),
        (err: unknown) => {
          const code: ErrorCode = err instanceof SwitchboardError ? err.code : 'internal';
          send({ sb: 'broker', id, error: { code, message: (err as Error).message } });
        },
      );
    });
    return () => broker.close();
  }

  private async perform(broker: MemoryBroker, request: Operation): Promise<unknown> {
    switch (request.op) {
      case 'publish':
        return broker.publish(request.pub, request.opts);
      case 'subscribe':
        return broker.subscribe(request.channel);
      case 'unsubscribe':
        return broker.unsubscribe(request.channel);
      case 'history':
        return broker.history(request.channel, request.query);
      case 'presence.add':
        return broker.presence.add(request.channel, request.members, request.ttl);
      case 'presence.remove':
        return broker.presence.remove(request.channel, request.sessions);
      case 'presence.list':
        return broker.presence.list(request.channel);
      case 'control':
        return broker.control.publish(request.message);
      case 'close':
        return broker.close();
    }
  }
}
