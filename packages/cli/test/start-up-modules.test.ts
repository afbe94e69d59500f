/**
 * What a command loads before it starts its work is start-up time of every run: `opnp --version` answers without
 * building the program, and `opnp extract` loads the extract command and its libraries only (no evaluation,
 * scores, metrics or other commands). The built CLI runs with module hooks that log every file Node loads; the
 * bundle's files (dist/bundle, scripts/bundle.mjs) are expanded into the modules they hold with the bundle's
 * metafile.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { asksVersionAlone } from '../src/main.js';
import { VERSION } from '../src/version.js';
import { OPNP_BIN } from './built-cli.js';
import { MODEL } from './helpers.js';
import { demoAssetPath } from '../src/commands/demo.js';

const REGISTER = fileURLToPath(new URL('./fixtures/module-log-register.mjs', import.meta.url));
const BUNDLE_META = fileURLToPath(new URL('../dist/bundle/meta.json', import.meta.url));

/** The modules (paths from `packages/`) a file of the bundle holds, or the file itself when it is not one. */
function modulesOf(file: string, meta: { outputs: Record<string, { inputs: Record<string, unknown> }> }): string[] {
  const match = /^packages\/cli\/(dist\/bundle\/[^/]+\.js)$/.exec(file);
  const output = match ? meta.outputs[match[1]!] : undefined;
  if (!output) return [file];
  return Object.keys(output.inputs).map((input) => posix.normalize(posix.join('packages/cli', input)));
}
const dir = mkdtempSync(join(tmpdir(), 'opnp-start-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the built CLI with `args`; its stdout, exit code, the modules it loaded (paths from `packages/` or
 * `node_modules/`) and the public Node built-ins it loaded (`child_process`, ...).
 */
function loadedBy(args: readonly string[], name: string): { code: number | null; stdout: string; stderr: string; files: string[]; modules: string[]; builtins: string[] } {
  const log = join(dir, `${name}.log`);
  const run = spawnSync(process.execPath, ['--import', REGISTER, OPNP_BIN, ...args], { encoding: 'utf8', env: { ...process.env, OPNP_TEST_MODULE_LOG: log } });
  const lines = readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  const builtins = lines.filter((line) => line.startsWith('builtin:')).map((line) => line.slice('builtin:'.length));
  const files = lines.filter((line) => !line.startsWith('builtin:')).map((url) => url.replace(/^.*?\/(packages|node_modules)\//, '$1/'));
  const meta = JSON.parse(readFileSync(BUNDLE_META, 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, files, modules: files.flatMap((file) => modulesOf(file, meta)), builtins };
}

describe('start-up: what a command loads', () => {
  it('asksVersionAlone: --version or -V and nothing else', () => {
    expect(asksVersionAlone(['--version'])).toBe(true);
    expect(asksVersionAlone(['-V'])).toBe(true);
    for (const args of [[], ['--version', 'extract'], ['extract', '--version'], ['--help'], ['-v']]) expect(asksVersionAlone(args), args.join(' ')).toBe(false);
  });

  it('opnp --version prints the version without loading any command, pipeline or dataset module', () => {
    const run = loadedBy(['--version'], 'version');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${VERSION}\n`);
    expect(run.modules.filter((m) => /packages\/cli\/dist\/(commands|program)/.test(m))).toEqual([]);
    expect(run.modules.filter((m) => /packages\/(datasets|metrics|onnx-common|backend-onnx)\//.test(m))).toEqual([]);
    expect(run.modules.filter((m) => m.startsWith('packages/pipeline/')).map((m) => m.replace(/^.*\//, ''))).toEqual(['interrupted.js']);
    expect(run.files.filter((f) => f.startsWith('packages/')).length).toBeLessThan(10); // the bundle: bin.js and a few shared chunks
  });

  it('opnp extract loads the extract command and its libraries only', () => {
    const data = `idx:${demoAssetPath('fashion-val-images-idx3-ubyte.gz')}`;
    const run = loadedBy(['extract', '--model', MODEL, '--data', data, '--mean', '0.1307', '--std', '0.3081', '--out', join(dir, 'f.npy'), '--quiet'], 'extract');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Evaluation, scores, searches, metrics and every other command stay unloaded (the kernel's WebAssembly scorer of
    // banded grids comes with @opnp/core/backend: 17 kB, compiled only when used). Reading the model needs no
    // protobuf library (onnx-common decodes it, and the session runs its bytes with the outputs appended).
    const forbidden = run.modules.filter((m) => /packages\/(metrics|backend-tfjs)\/|packages\/core\/dist\/(scores|opnp\/(?!grid\/banded-lse-wasm)|index\.js)|packages\/pipeline\/dist\/(index|methods|stages|ablations)|packages\/cli\/dist\/(program|commands\/(?!extract|shared))|node_modules\/(arquero|vega|@resvg|sharp|onnx-proto|protobufjs|long)\//.test(m));
    expect(forbidden).toEqual([]);
    expect(run.modules.length).toBeLessThan(165); // 119 when this was written; 143 after the trust checks of 2026-12-03 (partial owners, class folders, output targets); 153 after the next (content copies, the extraction lock, option names, the backend contract checks)
    // commander (bundled) loads node:child_process (and with it dgram) only when it spawns, which opnp never does
    expect(run.builtins).toContain('worker_threads'); // the log sees built-ins
    expect(run.builtins.filter((b) => ['child_process', 'dgram'].includes(b))).toEqual([]);
    expect(run.files.filter((f) => f.startsWith('packages/')).length).toBeLessThan(20); // 120 modules in a few bundle files
  });
});

describe('bundle: worker entries', () => {
  it('every worker the bundled modules start has its entry file beside the chunks', () => {
    const meta = JSON.parse(readFileSync(BUNDLE_META, 'utf8')) as { inputs: Record<string, unknown>; outputs: Record<string, { entryPoint?: string }> };
    const started = new Set<string>();
    for (const input of Object.keys(meta.inputs).filter((name) => !name.includes(':'))) {
      const source = readFileSync(fileURLToPath(new URL(`../${input}`, import.meta.url)), 'utf8');
      for (const match of source.matchAll(/startModuleWorker\(import\.meta\.url, '\.\/([\w-]+)'/g)) started.add(match[1]!);
    }
    expect([...started].sort(), 'workers started by bundled modules').toEqual(['banded-scoring-worker', 'image-worker']);
    for (const name of started) expect(meta.outputs[`dist/bundle/${name}.js`]?.entryPoint, `${name}.js is a bundle entry`).toBeDefined();
  });
});
