/**
 * The message an OpnpError builds from its summary and details: every fact once.
 */
import { describe, expect, it } from 'vitest';
import { OpnpError } from '../src/errors.js';

describe('OpnpError messages', () => {
  it('name the file after the summary unless the summary already names it (the field keeps it either way)', () => {
    const apart = new OpnpError('DATASET_FORMAT', 'Bad header', { file: '/d/x.npy', offset: 8, expected: 'magic', actual: 'zeros' });
    expect(apart.message).toBe('Bad header (file: /d/x.npy, offset 8); expected magic, got zeros');
    const named = new OpnpError('DATASET_FORMAT', 'The header of /d/x.npy is bad', { file: '/d/x.npy', offset: 8, hint: 'Write it again' });
    expect(named.message).toBe('The header of /d/x.npy is bad (at offset 8). Write it again');
    expect(named.file).toBe('/d/x.npy');
    const once = new OpnpError('IO_ERROR', 'Cannot write /d/x.npy', { file: '/d/x.npy' });
    expect(once.message).toBe('Cannot write /d/x.npy');
  });
});
