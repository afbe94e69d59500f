/**
 * `opnp ... | head -1`: when the reader of standard output goes away, the CLI stops quietly (141) instead of
 * printing Node's unhandled EPIPE error.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BROKEN_PIPE_EXIT, exitOnBrokenPipe } from '../src/broken-pipe.js';
import { OPNP_BIN } from './built-cli.js';

/** An 'error' event with an errno code, as a stream emits it. */
function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`write ${code}`), { code });
}

describe('exitOnBrokenPipe', () => {
  it('exits with 141 on EPIPE and rethrows other stream errors', () => {
    const stream = new EventEmitter();
    const exits: number[] = [];
    exitOnBrokenPipe(stream, (code) => exits.push(code));
    stream.emit('error', errnoError('EPIPE'));
    expect(exits).toEqual([BROKEN_PIPE_EXIT]);
    expect(() => stream.emit('error', errnoError('ENOSPC'))).toThrow(/ENOSPC/);
    expect(exits).toEqual([BROKEN_PIPE_EXIT]);
  });

  it('the executable stops quietly when its standard output is closed before it writes', async () => {
    // The read end is closed before the child has started Node, so its first write of the help finds no reader.
    const child = spawn(process.execPath, [OPNP_BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled|at /);
    // 141 when the write met the closed pipe (the usual case); 0 only if the child wrote before the close.
    expect([BROKEN_PIPE_EXIT, 0]).toContain(code);
  });
});
