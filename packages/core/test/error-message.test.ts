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
    const colon = new OpnpError('IO_ERROR', 'Cannot read the IDX data of /d/x.gz: EIO', { file: '/d/x.gz' });
    expect(colon.message).toBe('Cannot read the IDX data of /d/x.gz: EIO');
    // Only the name as a word of its own: "f" inside "file", or /d/x.npy inside /d/x.npy.partial, is not the file.
    expect(new OpnpError('DATASET_FORMAT', 'IDX file is truncated', { file: 'f', offset: 3 }).message).toBe('IDX file is truncated (file: f, offset 3)');
    expect(new OpnpError('IO_ERROR', 'Cannot write /d/x.npy.partial', { file: '/d/x.npy' }).message).toBe('Cannot write /d/x.npy.partial (file: /d/x.npy)');
  });
});
