/** Long pulls parked on a topic until something is appended to it (in this process) or a timeout. */
export class Waiters {
  private readonly byTopic = new Map<string, Set<() => void>>();

  /** Resolves on wake(topic), after `timeoutMs`, or when the signal aborts, whichever comes first. */
  wait(topic: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.byTopic.get(topic);
      if (!set) this.byTopic.set(topic, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.byTopic.get(topic) === set) this.byTopic.delete(topic);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  wake(topic: string): void {
    const set = this.byTopic.get(topic);
    if (set) for (const done of [...set]) done();
  }

  wakeAll(): void {
    for (const topic of [...this.byTopic.keys()]) this.wake(topic);
  }
}
