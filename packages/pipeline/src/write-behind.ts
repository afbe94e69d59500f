/**
 * Writing behind a loop: the loop hands each batch's writes to {@link WriteBehind.add} and goes on with the next
 * batch while they run, in order, so writing (file appends, sidecars) overlaps with computing the next batch
 * instead of adding to it.
 */

/** Ordered tasks run behind their producer, at most `depth` waiting; the first failure stops the rest. */
export class WriteBehind {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  /** @param depth tasks that may wait at once (the producer pauses beyond that: bounded memory). */
  constructor(private readonly depth: number) {}

  /**
   * Queues `task` after the earlier ones; resolves once it is queued (waiting while `depth` tasks wait).
   *
   * @throws the error of an earlier task that failed (later tasks are not run)
   */
  async add(task: () => Promise<void>): Promise<void> {
    this.throwFailure();
    while (this.waiting >= this.depth) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.throwFailure();
    }
    this.waiting++;
    this.tail = this.tail.then(async () => {
      try {
        if (!this.failure) await task();
      } catch (error) {
        this.failure = { error };
      } finally {
        this.waiting--;
        const wake = this.wake;
        this.wake = undefined;
        wake?.();
      }
    });
  }

  /**
   * Waits for every queued task.
   *
   * @throws the error of the first task that failed
   */
  async drain(): Promise<void> {
    await this.tail;
    this.throwFailure();
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure.error;
  }
}
