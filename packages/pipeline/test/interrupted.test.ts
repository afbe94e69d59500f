/** `isInterrupted`: an InterruptedError is recognised by name, also one from another instance of the module. */
import { describe, expect, it } from 'vitest';
import { InterruptedError, isInterrupted } from '../src/index.js';

describe('isInterrupted', () => {
  it('recognises the class, and a twin class from another module instance, by name', () => {
    expect(isInterrupted(new InterruptedError('checkpoint written'))).toBe(true);
    // What a second copy of @opnp/pipeline throws: same name, another class.
    class OtherInterruptedError extends Error {
      override readonly name = 'InterruptedError';
    }
    const twin = new OtherInterruptedError('checkpoint written');
    expect(twin instanceof InterruptedError).toBe(false);
    expect(isInterrupted(twin)).toBe(true);
  });

  it('does not take other errors, aborts or non-errors for an interruption', () => {
    expect(isInterrupted(new Error('interrupted'))).toBe(false);
    expect(isInterrupted(Object.assign(new Error('Interrupted'), { name: 'AbortError' }))).toBe(false);
    expect(isInterrupted({ name: 'InterruptedError', message: 'not an Error' })).toBe(false);
    expect(isInterrupted(undefined)).toBe(false);
  });
});
