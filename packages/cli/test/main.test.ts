/**
 * Command dispatch and exit codes of `opnp` itself (no model, no data): unknown commands and options are usage
 * errors (exit 2) even when help is requested, help requests exit 0, and `opnp` alone prints help as a usage error.
 */
import { describe, expect, it } from 'vitest';
import { runsExtractAlone } from '../src/main.js';
import { cli } from './helpers.js';

describe('opnp dispatch', () => {
  it('an unknown command exits 2 with one line on stderr, also with --help or as `help <command>`', async () => {
    for (const args of [['frobnicate'], ['frobnicate', '--help'], ['frobnicate', '-h'], ['--help', 'frobnicate'], ['help', 'frobnicate']]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toBe("opnp: unknown command 'frobnicate' (see opnp --help)\n");
      expect(run.stdout, args.join(' ')).toBe('');
    }
  });

  it('an unknown subcommand of a command group names the group', async () => {
    const run = await cli(['data', 'bogus', '--help']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("opnp: unknown command 'bogus' (see opnp data --help)\n");
    expect(run.stdout).toBe('');
  });

  it('an unknown option exits 2 with one line on stderr', async () => {
    for (const args of [['--frobnicate'], ['data', 'info', 'some-dataset', '--frobnicate']]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^opnp: unknown option '--frobnicate'.*\n$/);
      expect(run.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('--help, -h, help and `help <command>` print help on stdout and exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['help'], ['help', 'eval'], ['eval', '--help'], ['data', '--help']]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(0);
      expect(run.stdout, args.join(' ')).toMatch(/^Usage: opnp/);
      expect(run.stderr, args.join(' ')).toBe('');
    }
    const main = await cli(['--help']);
    expect(main.stdout).toContain('Exit codes: 0 ok, 1 error, 2 usage error');
    expect(main.stdout).toContain('130 interrupted (Ctrl-C)');
    expect(main.stdout).not.toContain('checkpoint written');
  });

  it('no command prints the help on stderr and exits 2 (nothing was done)', async () => {
    for (const args of [[], ['data']]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr, args.join(' ')).toMatch(/^Usage: opnp/);
    }
  });
});

describe('misspelled options', () => {
  it('are named (with the closest option) instead of the required option they hide', async () => {
    const run = await cli(['eval', '--modle', 'm.onnx', '--train', 'a', '--test', 'b']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("opnp: unknown option '--modle' (did you mean --model?) (see opnp --help)\n");
    const missing = await cli(['eval', '--train', 'a', '--test', 'b']);
    expect(missing.stderr).toMatch(/required option '--model <file>' not specified/);
  });
});

describe('opnp extract runs with the extract command alone', () => {
  it('runsExtractAlone: `extract ...` without a help request', () => {
    expect(runsExtractAlone(['extract', '--model', 'm.onnx', '--data', 'd', '--out', 'f.npy'])).toBe(true);
    expect(runsExtractAlone(['extract', 'merge', 'a.npy', '--out', 'f.npy'])).toBe(true);
    for (const args of [['extract', '--help'], ['extract', '-h'], ['extract', 'merge', '--help'], ['extract', 'help', 'merge'], ['help', 'extract'], ['eval', '--model', 'm.onnx'], ['--version'], []]) {
      expect(runsExtractAlone(args), args.join(' ')).toBe(false);
    }
  });

  it('looks misspelled options up among every command\'s options, as the whole program does', async () => {
    // --shards is `opnp cluster`'s: known to the whole program, so it is reported as commander reports it, without
    // the "did you mean --shard?" a lookup among extract's options alone would add.
    const run = await cli(['extract', '--model', 'm.onnx', '--data', 'd', '--out', 'f.npy', '--shards', '4']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("opnp: unknown option '--shards' (see opnp --help)\n");
    const misspelled = await cli(['extract', '--modle', 'm.onnx', '--data', 'd', '--out', 'f.npy']);
    expect(misspelled.code).toBe(2);
    expect(misspelled.stderr).toBe("opnp: unknown option '--modle' (did you mean --model?) (see opnp --help)\n");
    const missing = await cli(['extract', '--data', 'd', '--out', 'f.npy', '--mdl', 'm.onnx']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^opnp: unknown option '--mdl' \(did you mean --model\?\) \(see opnp --help\)\n$/);
  });

  it('prints the same help for `opnp extract --help` as `opnp help extract`', async () => {
    const [flag, word] = [await cli(['extract', '--help']), await cli(['help', 'extract'])];
    expect(flag.code).toBe(0);
    expect(flag.stdout).toMatch(/^Usage: opnp extract \[options\]/);
    expect(flag.stdout).toBe(word.stdout);
  });
});
