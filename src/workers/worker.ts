import type { Broker } from '../brokers/broker.js';
import { IpcBroker, type IpcEndpoint } from '../brokers/ipc.js';
import type { Config } from '../config/schema.js';
import type { Registry } from 'prom-client';
import { OpsChannel, type MachineView, type MachineReadiness, type OpsQuestion, type WorkerReadiness } from './ops-channel.js';

/** The environment variable that gives a worker its node id (NODEID/wN); not a setting. */
export const workerNodeIdVariable = 'SWITCHBOARD_WORKER_NODE_ID';

/** In a worker: the node id its primary gave it, taken out of the environment so the configuration does not read it as a setting. */
export function takeWorkerNodeId(env: NodeJS.ProcessEnv): string | undefined {
  const id = env[workerNodeIdVariable];
  delete env[workerNodeIdVariable];
  return id;
}

/** This process's IPC channel to its primary. */
function primaryEndpoint(): IpcEndpoint {
  return {
    send: (message) => {
      if (!process.connected) throw new Error('the channel to the primary is closed');
      process.send!(message);
    },
    onMessage: (handler) => void process.on('message', handler),
    onDisconnect: (handler) => void process.once('disconnect', handler),
  };
}

/** The parts of the worker's node that its primary asks about. */
export interface WorkerNode {
  readonly id: string;
  readonly metrics: { registry: Registry };
  readonly isReady: boolean;
  readonly isDraining: boolean;
}

/**
 * A worker's link to its primary: with the memory broker, the broker is the primary's (over IPC);
 * /metrics and /readyz answer for every worker of the machine; the primary may ask this worker
 * for its own metrics and readiness.
 */
export class WorkerLink {
  private node: WorkerNode | undefined;
  private readonly ops: OpsChannel;
  private readonly broker: Broker | undefined;

  constructor(config: Config) {
    const endpoint = primaryEndpoint();
    this.broker = config.broker.type === 'memory' ? new IpcBroker(endpoint) : undefined;
    this.ops = new OpsChannel(endpoint.send, endpoint.onMessage, (question) => this.answer(question));
  }

  /** The node options of a worker: the primary's broker (memory) and its view of the machine. */
  options(): { broker: Broker | undefined; machine: MachineView } {
    return {
      broker: this.broker,
      machine: {
        metrics: async () => (await this.ops.ask('metrics', 10_000)) as string,
        readiness: async () => (await this.ops.ask('readiness', 5000)) as MachineReadiness,
      },
    };
  }

  /** The node this worker runs: its metrics carry its id as the `worker` label. */
  bind(node: WorkerNode): void {
    this.node = node;
    node.metrics.registry.setDefaultLabels({ worker: node.id });
  }

  private async answer(question: OpsQuestion): Promise<unknown> {
    const node = this.node;
    if (!node) throw new Error('the worker is starting');
    if (question === 'metrics') return node.metrics.registry.getMetricsAsJSON();
    const readiness: WorkerReadiness = { node: node.id, status: node.isReady ? 'ready' : node.isDraining ? 'draining' : 'not_ready' };
    return readiness;
  }
}
