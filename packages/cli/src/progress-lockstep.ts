/**
 * Internal, test-only: a lockstep handshake on the plain progress lines, so that fault-injection tests
 * (test/fault-helpers.ts) can stop the CLI at an exact point of its work however busy the machine is.
 * Not a user feature: its name and behaviour may change in any release.
 *
 * It is on only when the environment has `OPNP_PROGRESS_LOCKSTEP=1` (exactly `1`) **and** stdin (fd 0) is
 * a pipe or a socket. Then, after writing each plain progress line to stderr (`opnp: train [##---] 300/3000 ...`
 * and `opnp: train: done, 3000/3000`, not terminal bars), the CLI blocks on a synchronous read of one byte
 * from stdin before it goes on: the driving process acknowledges every progress line it has seen with one
 * byte, and sends its signal while the child is parked at the line it chose. End of input (the driver
 * closed stdin, or died) ends the lockstep: the run goes on without blocking, as without the variable. With
 * stdin a terminal, `/dev/null` or a file, or any other value of the variable, nothing changes.
 *
 * A Node process blocked in this read runs its signal handlers only once the read returns, so a driver that
 * sends SIGINT or SIGTERM must keep acknowledging lines (or close stdin) until the child exits; SIGKILL needs
 * no acknowledgement. `bin.ts` removes the variable from its environment, so processes the CLI starts never
 * inherit it.
 */
import { fstatSync, readSync } from 'node:fs';

/** The environment variable that turns the handshake on (value `1`). */
export const PROGRESS_LOCKSTEP_ENV = 'OPNP_PROGRESS_LOCKSTEP';

/** Where the acknowledgements come from: the process's stdin, or a fake in tests. */
export interface AckSource {
  /** Whether the source is a pipe or a socket (the only kinds a driving process hands over). */
  isPipe(): boolean;
  /** Blocks until one byte arrives; the bytes read, 1, or 0 at end of input. */
  readByte(): number;
}

/** Milliseconds between tries when stdin is non-blocking and has no byte yet. */
const RETRY_MS = 1;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** fd 0 of this process as an {@link AckSource}. */
export const stdinAckSource: AckSource = {
  isPipe() {
    try {
      const stat = fstatSync(0);
      return stat.isFIFO() || stat.isSocket();
    } catch {
      return false; // no fd 0 at all
    }
  },
  readByte() {
    const byte = Buffer.alloc(1);
    for (;;) {
      try {
        return readSync(0, byte, 0, 1, null);
      } catch (error) {
        // A non-blocking stdin (Node makes a piped stdin so once process.stdin is used) with no byte yet.
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        sleepSync(RETRY_MS);
      }
    }
  },
};

/**
 * The acknowledgement wait to call after each progress line, or `undefined` when the handshake is off
 * (see the module comment): `env` lacks `OPNP_PROGRESS_LOCKSTEP=1` or `source` is not a pipe. The wait
 * returns at once for good after the first end of input.
 */
export function progressLockstep(env: Readonly<Record<string, string | undefined>>, source: AckSource = stdinAckSource): (() => void) | undefined {
  if (env[PROGRESS_LOCKSTEP_ENV] !== '1' || !source.isPipe()) return undefined;
  let open = true;
  return () => {
    if (open && source.readByte() === 0) open = false;
  };
}
