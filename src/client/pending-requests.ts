import type { FrameId } from '../protocol/types.js';
import { SwitchboardClientError } from './errors.js';

interface Pending {
  resolve(data: unknown): void;
  reject(err: SwitchboardClientError): void;
  timer: ReturnType<typeof setTimeout>;
  /** Sent over the current WebSocket: its answer is lost with the connection. */
  sent: boolean;
}

/** Requests waiting for their answer, by frame id, each with its timeout. */
export class PendingRequests {
  private readonly pending = new Map<FrameId, Pending>();

  /** Waits for the answer to request `id`; after `timeout` ms, `timedOut` runs and the wait fails with `timeout`. */
  wait(id: FrameId, type: string, timeout: number, timedOut: () => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        timedOut();
        reject(new SwitchboardClientError('timeout', `no answer to ${type} within ${timeout} ms`));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer, sent: false });
    });
  }

  markSent(id: FrameId): void {
    this.pending.get(id)!.sent = true;
  }

  settle(id: FrameId, data: unknown, err?: SwitchboardClientError): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (err) pending.reject(err);
    else pending.resolve(data);
  }

  /** The connection that carried the sent requests is lost: they fail with `disconnected`. */
  failSent(): void {
    for (const [id, pending] of this.pending) {
      if (pending.sent) this.settle(id, undefined, new SwitchboardClientError('disconnected', 'the connection was lost before the answer came'));
    }
  }

  failAll(err: SwitchboardClientError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, err);
  }
}
