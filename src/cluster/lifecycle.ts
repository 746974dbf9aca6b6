export type NodeState = 'created' | 'running' | 'draining' | 'stopped';

/** Where a node is between creation and stop, and since when it exists. */
export class Lifecycle {
  state: NodeState = 'created';
  readonly startedAt = Date.now();

  /** The lifecycle state a node reports to the cluster and in /api/info (readiness is apart). */
  get reportedState(): Exclude<NodeState, 'created'> {
    return this.state === 'created' ? 'running' : this.state;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get draining(): boolean {
    return this.state === 'draining';
  }

  get uptimeSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }
}
