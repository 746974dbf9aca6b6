import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Broker, ClusterQuery, ControlMessage, NodeReport } from '../brokers/broker.js';

export interface ClusterOptions {
  heartbeatInterval: number;
  nodeTimeout: number;
  queryTimeout: number;
}

export interface ClusterHandlers {
  /** This node's heartbeat report. */
  report(): NodeReport;
  /** This node's answer to a cluster query. */
  answer(query: ClusterQuery): unknown;
  /** Carries out a command on this node's sessions. */
  act(message: Exclude<ControlMessage, { kind: 'node' | 'query' | 'answer' }>): void;
}

interface PendingQuery {
  answers: Map<string, unknown>;
  expected: Set<string>;
  done: () => void;
}

/**
 * The cluster view of one node, over the broker's control bus: heartbeats tell which nodes are
 * alive; commands reach every node; queries gather one answer from each live node.
 */
export class Cluster {
  private readonly nodes = new Map<string, { report: NodeReport; seenAt: number }>();
  private readonly pending = new Map<string, PendingQuery>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nodeId: string,
    private readonly broker: Broker,
    private readonly handlers: ClusterHandlers,
    private readonly options: ClusterOptions,
    private readonly log: Logger,
  ) {
    broker.control.onMessage((message) => {
      // A control message of the wrong shape must not throw into the broker client and end the process.
      try {
        this.receive(message);
      } catch (err) {
        this.log.warn({ event: 'cluster.bad_control_message', err: (err as Error).message }, 'control message dropped');
      }
    });
  }

  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.options.heartbeatInterval);
    this.timer.unref();
  }

  /** Stops heartbeats and tells the others this node is gone. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.broker.control.publish({ kind: 'node', node: { ...this.handlers.report(), state: 'stopped' } }).catch(() => {});
  }

  private beat(): void {
    this.broker.control.publish({ kind: 'node', node: this.handlers.report() }).catch((err) => {
      this.log.warn({ event: 'cluster.heartbeat_failed', err: (err as Error).message }, 'heartbeat not sent');
    });
  }

  /** Nodes that reported within the node timeout, this one first. */
  liveNodes(): NodeReport[] {
    const now = Date.now();
    const self = this.handlers.report();
    const others: NodeReport[] = [];
    for (const [id, { report, seenAt }] of this.nodes) {
      if (id === this.nodeId) continue;
      if (now - seenAt > this.options.nodeTimeout || report.state === 'stopped') this.nodes.delete(id);
      else others.push(report);
    }
    return [self, ...others.sort((a, b) => (a.id < b.id ? -1 : 1))];
  }

  /** Sends a command to every node (this one included, through the bus). */
  async command(message: Exclude<ControlMessage, { kind: 'node' | 'query' | 'answer' }>): Promise<void> {
    await this.broker.control.publish(message);
  }

  /** Asks every live node; resolves with the answers that came within the query timeout, by node id. */
  async query(query: ClusterQuery): Promise<Map<string, unknown>> {
    const id = randomUUID();
    const expected = new Set(this.liveNodes().map((n) => n.id));
    const answers = new Map<string, unknown>([[this.nodeId, this.handlers.answer(query)]]);
    expected.delete(this.nodeId);
    if (expected.size === 0) return answers;
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    this.pending.set(id, { answers, expected, done });
    const timer = setTimeout(done, this.options.queryTimeout);
    try {
      await this.broker.control.publish({ kind: 'query', id, from: this.nodeId, query });
      await finished;
    } finally {
      clearTimeout(timer);
      this.pending.delete(id);
    }
    return answers;
  }

  private receive(message: ControlMessage): void {
    switch (message.kind) {
      case 'node': {
        if (message.node.id === this.nodeId) return;
        const known = this.nodes.has(message.node.id);
        this.nodes.set(message.node.id, { report: message.node, seenAt: Date.now() });
        // A node that just started knows nobody: answer its first report with ours at once, so
        // its cluster-wide answers (sessions of a user, messages sent to a user) include this node from the start
        // instead of after the next heartbeat.
        if (!known && message.node.state !== 'stopped' && this.timer) this.beat();
        return;
      }
      case 'query':
        if (message.from === this.nodeId) return;
        this.broker.control.publish({ kind: 'answer', id: message.id, from: this.nodeId, to: message.from, result: this.handlers.answer(message.query) }).catch(() => {});
        return;
      case 'answer': {
        if (message.to !== this.nodeId) return;
        const pending = this.pending.get(message.id);
        if (!pending) return;
        pending.answers.set(message.from, message.result);
        pending.expected.delete(message.from);
        if (pending.expected.size === 0) pending.done();
        return;
      }
      default:
        this.handlers.act(message);
    }
  }
}
