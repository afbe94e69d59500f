/**
 * Command dispatch and exit codes of `opnp` itself (no model, no data): unknown commands and options are usage
 * errors (exit 2) even when help is requested, help requests exit 0, and `opnp` alone prints help as a usage error.
 */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { collect } from '../src/options.js';
import { createProgram } from '../src/program.js';
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
    expect(run.stderr).toBe("opnp: unknown option '--modle' for opnp eval; did you mean --model? (see opnp eval --help)\n");
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

  it('looks options of other commands up among every command\'s options, as the whole program does', async () => {
    // --shards is `opnp cluster`'s, which the program holding extract alone does not define.
    const run = await cli(['extract', '--model', 'm.onnx', '--data', 'd', '--out', 'f.npy', '--shards', '4']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("opnp: unknown option '--shards' for opnp extract; opnp cluster slurm and opnp cluster k8s take it (see opnp extract --help)\n");
    const misspelled = await cli(['extract', '--modle', 'm.onnx', '--data', 'd', '--out', 'f.npy']);
    expect(misspelled.code).toBe(2);
    expect(misspelled.stderr).toBe("opnp: unknown option '--modle' for opnp extract; did you mean --model? (see opnp extract --help)\n");
    const missing = await cli(['extract', '--data', 'd', '--out', 'f.npy', '--mdl', 'm.onnx']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("opnp: unknown option '--mdl' for opnp extract; did you mean --model? (see opnp extract --help)\n");
  });

  it('prints the same help for `opnp extract --help` as `opnp help extract`', async () => {
    const [flag, word] = [await cli(['extract', '--help']), await cli(['help', 'extract'])];
    expect(flag.code).toBe(0);
    expect(flag.stdout).toMatch(/^Usage: opnp extract \[options\]/);
    expect(flag.stdout).toBe(word.stdout);
  });
});

describe('usage errors point to the help of the command they are about', () => {
  it('an option, a missing option or argument of a command names that command\'s help, not the program\'s', async () => {
    const cases: [string[], string][] = [
      [['eval', '--frobnicate'], "opnp: unknown option '--frobnicate' for opnp eval (see opnp eval --help)\n"],
      [['report', 'results'], "opnp: required option '--out <dir>' not specified (see opnp report --help)\n"],
      // Checked by the command's action (a UsageError), before any model is loaded.
      [['eval', '--model', 'm.onnx'], "opnp: required option '--train <dataset>' not specified (see opnp eval --help)\n"],
      [['extract', 'merge', 'a.npy'], "opnp: required option '--out <features.npy>' not specified (see opnp extract merge --help)\n"],
      [['data', 'info'], "opnp: missing required argument 'dataset' (see opnp data info --help)\n"],
      [['--frobnicate'], "opnp: unknown option '--frobnicate' (see opnp --help)\n"],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toBe(stderr);
    }
  });
});

describe('did you mean', () => {
  it('suggests the nearest command or subcommand, also as `help <command>`, and nothing for names far from any', async () => {
    const cases: [string[], string][] = [
      [['extrct', '--model', 'm.onnx'], "opnp: unknown command 'extrct'; did you mean extract? (see opnp --help)\n"],
      [['help', 'evl'], "opnp: unknown command 'evl'; did you mean eval? (see opnp --help)\n"],
      [['data', 'inf', 'x'], "opnp: unknown command 'inf'; did you mean info? (see opnp data --help)\n"],
      [['frobnicate'], "opnp: unknown command 'frobnicate' (see opnp --help)\n"],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toBe(stderr);
    }
  });

  it('suggests the nearest options of the command itself', async () => {
    const run = await cli(['eval', '--thread', '2']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("opnp: unknown option '--thread' for opnp eval; did you mean --threads? (see opnp eval --help)\n");
  });

  it('suggests the nearest methods; names without a near one get the known list', async () => {
    const run = await cli(['eval', '--methods', 'energy,vimm']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('opnp: --methods: unknown method "vimm"; did you mean vim?\n');
    const far = await cli(['demo', '--methods', 'vimm,frobnicate']);
    expect(far.code).toBe(1);
    expect(far.stderr).toMatch(/^opnp: --methods: unknown methods "vimm" \(did you mean vim\?\), "frobnicate"; known: msp, .*\bvim\b.*\n$/);
  });

  it('suggests the nearest value of flags with a closed set of names, the dataset format prefixes among them', async () => {
    const cases: [string[], string | RegExp][] = [
      [['eval', '--benchmark', 'cifar1'], 'opnp: --benchmark: expected one of cifar10, cifar100, imagenet, got "cifar1"; did you mean cifar10?\n'],
      [['demo', '--format', 'markdwn'], 'opnp: --format: expected one of table, markdown, csv, json, got "markdwn"; did you mean markdown?\n'],
      [['extract', '--resize-kernel', 'pil-bilnear'], /^opnp: --resize-kernel: expected one of pil-bilinear, .*, got "pil-bilnear"; did you mean pil-bilinear\?\n$/],
      [['extract', '--model', 'm.onnx', '--data', 'idz:./mnist', '--out', 'f.npy'], 'opnp: --data: unknown dataset format prefix "idz:" in "idz:./mnist"; did you mean idx:?\n'],
      [['eval', '--model', 'm.onnx', '--train', 'x', '--test', 'x', '--ood', 'f=featurs:f.npy'], 'opnp: --ood: unknown dataset format prefix "featurs:" in "featurs:f.npy"; did you mean features:?\n'],
      [['data', 'info', 'cifar11:./cifar'], 'opnp: unknown dataset format prefix "cifar11:" in "cifar11:./cifar"; did you mean cifar10:?\n'],
      [['ablate', 'statistic', '--statistics', 'mean,nrom'], 'opnp: --statistics: expected one of mean, max, min, median, l2 (the paper\'s norm; either name), variance, got "nrom"; did you mean norm?\n'],
      [['sensitivity', '--neuron-statistic', 'men'], 'opnp: --neuron-statistic: expected one of mean, max, min, median, l2 (the paper\'s norm; either name), variance, got "men"; did you mean mean or min?\n'],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(1);
      if (stderr instanceof RegExp) expect(run.stderr, args.join(' ')).toMatch(stderr);
      else expect(run.stderr, args.join(' ')).toBe(stderr);
    }
    // A prefix near no format is left to the dataset's own message.
    expect((await cli(['data', 'info', 'frobnicate:./x'])).stderr).toMatch(/^opnp: unknown dataset format prefix "frobnicate:"; expected one of idx:/);
  });

  it('suggests the nearest method and option of --method-option, before any model is loaded', async () => {
    const base = ['eval', '--model', '/nonexistent/m.onnx', '--train', 't', '--test', 't', '--ood', 'o=x', '--method-option'];
    const cases: [string, string][] = [
      ['reactt.percentile=85', 'opnp: --method-option: unknown method "reactt"; did you mean react?\n'],
      ['react.percentil=85', 'opnp: --method-option: react: unknown option "percentil"; did you mean percentile?\n'],
      ['msp.frobnicate=1', 'opnp: --method-option: msp: unknown option "frobnicate"; known: temperature\n'],
    ];
    for (const [value, stderr] of cases) {
      const run = await cli([...base, value]);
      expect(run.code, value).toBe(1);
      expect(run.stderr, value).toBe(stderr);
    }
  });

  it('suggests the nearest ablation', async () => {
    const run = await cli(['ablate', 'prunin', '--model', 'm.onnx', '--train', 'a', '--test', 'b']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^opnp: unknown ablation 'prunin': expected pruning .*; did you mean pruning\? \(see opnp ablate --help\)\n$/);
  });
});

describe('an option of another command', () => {
  it('names the commands that take it', async () => {
    const cases: [string[], string][] = [
      [['extract', '--methods', 'energy'], "opnp: unknown option '--methods' for opnp extract; opnp demo and opnp eval take it (see opnp extract --help)\n"],
      [['report', 'results', '--out', 'r', '--shards', '2'], "opnp: unknown option '--shards' for opnp report; opnp cluster slurm and opnp cluster k8s take it (see opnp report --help)\n"],
      [['demo', '--shard=1/2'], "opnp: unknown option '--shard' for opnp demo; opnp eval, opnp sensitivity and opnp extract take it (see opnp demo --help)\n"],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toBe(stderr);
    }
  });
});

describe('unexpected arguments', () => {
  it('are named with the command, not reported as an unknown command, also before --help', async () => {
    const cases: [string[], string][] = [
      [['eval', 'foo'], "opnp: unexpected argument 'foo' for opnp eval (see opnp eval --help)\n"],
      [['eval', '--model', 'm.onnx', 'foo', '--help'], "opnp: unexpected argument 'foo' for opnp eval (see opnp eval --help)\n"],
      [['eval', 'merg', 'a.npy'], "opnp: unexpected argument 'merg' for opnp eval; did you mean opnp eval merge? (see opnp eval --help)\n"],
      [['demo', 'quick'], "opnp: unexpected argument 'quick' for opnp demo (see opnp demo --help)\n"],
      [['data', 'info', 'a', 'b'], "opnp: unexpected argument 'b' for opnp data info (see opnp data info --help)\n"],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toBe(stderr);
      expect(run.stdout, args.join(' ')).toBe('');
    }
  });
});

describe('combinations that were silently accepted are refused', () => {
  const MISSING_MODEL = '/nonexistent/m.onnx';

  it('--shard-count without --shard auto (it is the count --shard auto reads; --shard i/n has its own)', async () => {
    const cases: [string[], string][] = [
      [['extract', '--model', MISSING_MODEL, '--data', 'd', '--out', 'f.npy', '--shard-count', '4'], "opnp: --shard-count is the shard count of --shard auto (a Kubernetes Indexed Job's completions): pass --shard auto too (see opnp extract --help)\n"],
      [['sensitivity', '--model', MISSING_MODEL, '--train', 't', '--state-out', 's.npy', '--shard', '1/4', '--shard-count', '4'], "opnp: --shard-count is the shard count of --shard auto (a Kubernetes Indexed Job's completions); --shard 1/4 gives its own count: drop --shard-count (see opnp sensitivity --help)\n"],
      [['eval', '--model', MISSING_MODEL, '--train', 't', '--test', 't', '--ood', 'o=x', '--shard-count', '4'], "opnp: --shard-count is the shard count of --shard auto (a Kubernetes Indexed Job's completions): pass --shard auto too (see opnp eval --help)\n"],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toBe(stderr);
    }
    // With --shard auto it is read (here: no array job, so the environment is what is missing).
    const auto = await cli(['extract', '--model', MISSING_MODEL, '--data', 'd', '--out', 'f.npy', '--shard', 'auto', '--shard-count', '4']);
    expect(auto.code).toBe(1);
    expect(auto.stderr).toMatch(/--shard auto found no array-job environment/);
  });

  it('a single-value option given twice with different values; the same value twice, switches and repeatable options pass', async () => {
    const cases: [string[], string][] = [
      [['extract', '--model', MISSING_MODEL, '--data', 'd', '--out', 'a.npy', '--out', 'b.npy'], "opnp: --out is given twice ('a.npy', then 'b.npy'): give it once (see opnp extract --help)\n"],
      [['eval', '--batch-size=8', '--model', MISSING_MODEL, '--batch-size', '16'], "opnp: --batch-size is given twice ('8', then '16'): give it once (see opnp eval --help)\n"],
      [['demo', '--json', '-', '--json', 'x.json'], "opnp: --json is given twice ('-', then 'x.json'): give it once (see opnp demo --help)\n"],
      // The same method option twice with different values: a repeatable flag, one value per method option.
      [
        ['eval', '--model', MISSING_MODEL, '--train', 't', '--test', 't', '--ood', 'o=x', '--method-option', 'react.percentile=80', '--method-option', 'react.percentile=90'],
        "opnp: --method-option react.percentile is given twice with different values ('react.percentile=80', then 'react.percentile=90'): give it once (see opnp eval --help)\n",
      ],
      [
        ['eval', '--model', MISSING_MODEL, '--train', 't', '--test', 't', '--ood', 'o=x', '--method-option', 'knn.k=5', '--knn-k', '10'],
        "opnp: --method-option knn.k is given twice with different values ('knn.k=5', then '--knn-k 10'): give it once (see opnp eval --help)\n",
      ],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toBe(stderr);
    }
    // These reach the model (which is missing): no usage error.
    const passing = [
      ['extract', '--model', MISSING_MODEL, '--data', 'd', '--out', 'a.npy', '--out=a.npy', '-q', '--quiet'],
      ['eval', '--model', MISSING_MODEL, '--model', '/nonexistent/n.onnx', '--train', 't', '--test', 't', '--ood', 'a=x', '--ood', 'b=y', '--val-ood', 'v', '--val-ood', 'w', '--method-option', 'react.percentile=85', '--method-option', 'knn.k=10', '--execution-provider', 'cpu', '--execution-provider', 'cuda'],
      ['eval', '--model', MISSING_MODEL, '--train', 't', '--test', 't', '--ood', 'o=x', '--method-option', 'react.percentile=85', '--method-option', 'react.percentile=85.0', '--method-option', 'knn.k=10', '--knn-k', '10'],
    ];
    for (const args of passing) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toMatch(/^opnp: model file not found: \/nonexistent\/m\.onnx/m);
    }
  });

  it('every option whose help says "repeatable" collects its values, and no other one does', () => {
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {} };
    const walk = (command: Command): Command[] => [command, ...command.commands.flatMap(walk)];
    const options = walk(createProgram(io)).flatMap((command) => command.options.map((option) => ({ name: `${command.name()} ${option.long!}`, option })));
    expect(options.length).toBeGreaterThan(100);
    for (const { name, option } of options) expect(option.parseArg === collect, name).toBe(/repeatable/.test(option.description));
  });

  it('two outputs on standard output (--json - with --format, or with --csv -) are a usage error naming both flags', async () => {
    const cases: [string[], string][] = [
      [['ablate', 'pruning', '--model', MISSING_MODEL, '--train', 't', '--test', 't', '--ood', 'o=x', '--json', '-', '--csv', '-'], 'opnp: --json - and --csv - both ask for standard output, which holds one of them: give --json or --csv a file (see opnp ablate --help)\n'],
      [['eval', '--model', MISSING_MODEL, '--train', 't', '--test', 't', '--ood', 'o=x', '--json', '-', '--format', 'markdown'], 'opnp: --format markdown cannot go with --json -, which prints the JSON report alone: drop --format, or give --json a file (see opnp eval --help)\n'],
      [['eval', 'merge', 'a.npy', '--format', 'json', '--json', '-'], 'opnp: --format json cannot go with --json -, which prints the JSON report alone: drop --format, or give --json a file (see opnp eval merge --help)\n'],
      [['demo', '--json', '-', '--format', 'table'], 'opnp: --format table cannot go with --json -, which prints the JSON report alone: drop --format, or give --json a file (see opnp demo --help)\n'],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toBe(stderr);
      expect(run.stdout, args.join(' ')).toBe('');
    }
    // The rule is in the help.
    const help = await cli(['eval', '--help']);
    expect(help.stdout).toMatch(/--format <format> .*\(not with --json -\)/);
  });
});
