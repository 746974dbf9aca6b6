import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { backoffDelay } from '../backends/backoff.js';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { IpcBrokerHost, type IpcEndpoint } from '../brokers/ipc.js';
import type { Config } from '../config/schema.js';
import { OpsChannel, type MachineReadiness, type OpsQuestion, type WorkerReadiness } from './ops-channel.js';
import { workerNodeIdVariable } from './worker.js';

/** One worker's place: the same node id (NODEID/wN) whichever process fills it. */
interface Slot {
  id: string;
  worker?: Worker;
  ops?: OpsChannel;
  /** Its server listens, so the cluster module hands it connections. */
  listening: boolean;
  startedAt: number;
  /** Deaths in a row, each soon after its start: the backoff grows with them. */
  quickDeaths: number;
  restartTimer?: NodeJS.Timeout;
}

/** A worker exited before it listened (a bad certificate file, a port in use): so would the others. */
export class WorkerStartError extends Error {
  constructor(
    message: string,
    /** The worker's exit code, which the primary exits with too. */
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** A worker that lived this long before dying starts its backoff from the beginning again. */
const stableAfterMs = 10_000;
const firstRestartDelayMs = 100;
const longestRestartDelayMs = 10_000;

/**
 * The primary of `serve --workers N`: holds no sessions. It starts the workers (they share the
 * listening port through the cluster module, which hands out connections round-robin), hosts the
 * memory broker they reach over IPC (with Redis or NATS each worker connects as a node of its
 * own), restarts a worker that dies, drains them all on SIGTERM, and answers for all of them
 * when one is asked for /metrics or /readyz.
 */
export class Primary {
  private readonly slots: Slot[];
  private readonly host: IpcBrokerHost | undefined;
  private readonly registry = new Registry();
  private readonly restarts: Counter;
  private draining = false;
  private started = false;
  private onFailedStart: (err: WorkerStartError) => void = () => {};

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.slots = Array.from({ length: config.server.workers }, (_, i) => ({ id: `${config.node.id}/w${i + 1}`, listening: false, startedAt: 0, quickDeaths: 0 }));
    this.host = config.broker.type === 'memory' ? new IpcBrokerHost() : undefined;
    this.restarts = new Counter({ name: 'switchboard_worker_restarts_total', help: 'workers started again after one died', registers: [this.registry] });
    const slots = this.slots;
    new Gauge({
      name: 'switchboard_workers',
      help: 'workers whose server listens on the port',
      registers: [this.registry],
      collect(this: Gauge) {
        this.set(slots.filter((s) => s.listening).length);
      },
    });
  }

  /** Starts every worker; resolves with the port once all of them listen, rejects if one dies before it did. */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.onFailedStart = reject;
      cluster.on('listening', (worker, address) => {
        const slot = this.slots.find((s) => s.worker === worker);
        if (!slot) return;
        slot.listening = true;
        this.log.info({ event: 'workers.listening', worker: slot.id, pid: worker.process.pid, port: address.port }, `worker ${slot.id} listens`);
        if (!this.started && this.slots.every((s) => s.listening)) {
          this.started = true;
          this.log.info(
            { event: 'workers.started', workers: this.slots.length, port: address.port, broker: this.config.broker.type },
            `${this.slots.length} workers listen on port ${address.port}`,
          );
          resolve(address.port);
        }
      });
      for (const slot of this.slots) this.fork(slot);
    });
  }

  /** Hands SIGHUP to every worker: each reloads what it can. */
  reload(): void {
    for (const slot of this.slots) slot.worker?.process.kill('SIGHUP');
  }

  /** SIGTERM: every worker drains its sessions (they reconnect elsewhere) and exits; nothing is restarted. */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const live = this.slots.filter((s) => s.worker);
    for (const slot of this.slots) clearTimeout(slot.restartTimer);
    this.log.info({ event: 'workers.draining', workers: live.length }, 'draining every worker');
    const exited = live.map((slot) => new Promise<void>((resolve) => slot.worker!.once('exit', () => resolve())));
    for (const slot of live) slot.worker!.process.kill('SIGTERM');
    // A worker that hangs in its drain is killed once its drain should long be over.
    const deadline = setTimeout(
      () => {
        for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
      },
      this.config.shutdown.drainWindow + this.config.sessions.closeGracePeriod + 10_000,
    );
    await Promise.all(exited);
    clearTimeout(deadline);
    this.log.info({ event: 'workers.stopped' }, 'every worker stopped');
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ [workerNodeIdVariable]: slot.id });
    slot.worker = worker;
    slot.listening = false;
    slot.startedAt = Date.now();
    const endpoint: IpcEndpoint = {
      send: (message) => {
        if (!worker.isConnected()) throw new Error(`worker ${slot.id} is gone`);
        worker.send(message);
      },
      onMessage: (handler) => void worker.on('message', handler),
      onDisconnect: (handler) => void worker.once('disconnect', handler),
    };
    const detach = this.host?.attach(endpoint);
    slot.ops = new OpsChannel(endpoint.send, endpoint.onMessage, (question) => this.answer(question));
    worker.once('exit', (code, signal) => {
      slot.worker = undefined;
      slot.ops = undefined;
      slot.listening = false;
      void detach?.();
      this.exited(slot, code, signal);
    });
  }

  private exited(slot: Slot, code: number | null, signal: string | null): void {
    if (this.draining) return;
    if (!this.started) {
      // It could not start (a bad certificate file, a port in use): neither can the next one.
      this.log.error({ event: 'workers.start_failed', worker: slot.id, code, signal }, `worker ${slot.id} exited before it listened`);
      this.draining = true;
      for (const other of this.slots) other.worker?.process.kill('SIGKILL');
      this.onFailedStart(new WorkerStartError(`worker ${slot.id} exited before it listened`, code ?? 1));
      return;
    }
    slot.quickDeaths = Date.now() - slot.startedAt < stableAfterMs ? slot.quickDeaths + 1 : 1;
    const delay = backoffDelay({ initial: firstRestartDelayMs, max: longestRestartDelayMs, jitter: 'none' }, slot.quickDeaths);
    this.log.warn({ event: 'workers.died', worker: slot.id, code, signal, restartInMs: delay }, `worker ${slot.id} died; starting another in ${delay} ms`);
    slot.restartTimer = setTimeout(() => {
      if (this.draining) return;
      this.restarts.inc();
      this.fork(slot);
    }, delay);
  }

  /** A worker asks for the whole machine's metrics or readiness. */
  private async answer(question: OpsQuestion): Promise<unknown> {
    const listening = this.slots.filter((s) => s.listening && s.ops);
    if (question === 'metrics') {
      const parts = await Promise.all(listening.map((s) => s.ops!.ask('metrics', 5000).catch(() => undefined)));
      const all: object[] = [await this.registry.getMetricsAsJSON(), ...parts.filter((p): p is object => typeof p === 'object' && p !== null)];
      return AggregatorRegistry.aggregate(all).metrics();
    }
    const answers = await Promise.all(
      listening.map((s) => (s.ops!.ask('readiness', 2000) as Promise<WorkerReadiness>).catch((): WorkerReadiness => ({ node: s.id, status: 'not_ready' }))),
    );
    // A worker being started again does not listen yet, so it gets no connections: it does not make the machine unready.
    const workers: WorkerReadiness[] = this.slots.map((s) => answers.find((a) => a.node === s.id) ?? { node: s.id, status: 'starting' });
    const readiness: MachineReadiness = { ready: !this.draining && answers.length > 0 && answers.every((a) => a.status === 'ready'), workers };
    return readiness;
  }
}
