/** Per-key promise chains: tasks with the same key run one after the other. */
export class Serial {
  private readonly chains = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const chain = result.then(
      () => {},
      () => {},
    );
    this.chains.set(key, chain);
    void chain.then(() => {
      if (this.chains.get(key) === chain) this.chains.delete(key);
    });
    return result;
  }
}
