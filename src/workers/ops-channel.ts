/** Questions the primary and its workers ask each other over the worker's IPC channel. */
export type OpsQuestion = 'metrics' | 'readiness';

type OpsMessage = { sb: 'ops'; id: number; ask: OpsQuestion } | { sb: 'ops'; id: number; answer?: unknown; error?: string };

/** What one worker says of itself. */
export interface WorkerReadiness {
  node: string;
  status: 'ready' | 'not_ready' | 'draining' | 'starting';
}

/** What the primary says of all its workers (GET /readyz on any of them). */
export interface MachineReadiness {
  ready: boolean;
  workers: WorkerReadiness[];
}

/**
 * Asks questions of the other end of an IPC channel and answers its questions; the channel's
 * other traffic (the broker's) is left alone.
 */
export class OpsChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();

  constructor(
    private readonly send: (message: OpsMessage) => void,
    onMessage: (handler: (message: unknown) => void) => void,
    private readonly answer: (question: OpsQuestion) => Promise<unknown>,
  ) {
    onMessage((message) => {
      if (typeof message !== 'object' || message === null || (message as { sb?: unknown }).sb !== 'ops') return;
      this.receive(message as OpsMessage);
    });
  }

  ask(question: OpsQuestion, timeout: number): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${question} within ${timeout} ms`));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      try {
        this.send({ sb: 'ops', id, ask: question });
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err as Error);
      }
    });
  }

  private receive(message: OpsMessage): void {
    if ('ask' in message) {
      const { id } = message;
      this.answer(message.ask).then(
        (answer) => this.reply({ sb: 'ops', id, answer }),
        (err: unknown) => this.reply({ sb: 'ops', id, error: (err as Error).message }),
      );
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    clearTimeout(waiting.timer);
    if (message.error !== undefined) waiting.reject(new Error(message.error));
    else waiting.resolve(message.answer);
  }

  /** The asker may be gone by the time the answer is ready. */
  private reply(message: OpsMessage): void {
    try {
      this.send(message);
    } catch {
      // the channel closed: nobody is waiting for this answer
    }
  }
}

/** All the workers of one machine (server.workers), as one of them sees them through its primary. */
export interface MachineView {
  /** Every worker's metrics, each series labelled with its worker. */
  metrics(): Promise<string>;
  readiness(): Promise<MachineReadiness>;
}
