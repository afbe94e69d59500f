/**
 * A promise queue: async tasks run one at a time. Used by math modules (the sensitivity accumulator) and,
 * through `@opnp/core/backend`, by backends whose sessions must not run concurrently.
 */

/**
 * Runs async tasks one at a time, in submission order (a session that must not run concurrently). A
 * failing task rejects its own promise only; later tasks still run.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Schedules `task` after every task submitted before it. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every task submitted so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
