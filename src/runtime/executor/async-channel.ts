// A single-consumer async queue: the executor pushes values (tokens, audio chunks) as they are
// produced and a caller iterates them with for-await. Values pushed before anyone iterates are
// kept, not dropped.

export class AsyncChannel<T> implements AsyncIterable<T> {
  private readonly buffered: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private closed = false;
  private error: unknown;

  push(value: T): void {
    if (this.closed) return;
    if (this.waiter) {
      this.waiter.resolve({ value, done: false });
      this.waiter = undefined;
    } else {
      this.buffered.push(value);
    }
  }

  close(): void {
    this.closed = true;
    this.waiter?.resolve({ value: undefined, done: true });
    this.waiter = undefined;
  }

  fail(error: unknown): void {
    this.error = error;
    this.closed = true;
    this.waiter?.reject(error);
    this.waiter = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.buffered.length > 0) return Promise.resolve({ value: this.buffered.shift()!, done: false });
        if (this.error !== undefined) return Promise.reject(this.error);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
      },
    };
  }
}
