/**
 * What a command loads before it starts its work is start-up time of every run: `opnp --version` answers without
 * building the program, and `opnp extract` loads the extract command and its libraries only (no evaluation,
 * scores, metrics or other commands). The built CLI runs with module hooks that log every module Node loads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { asksVersionAlone } from '../src/main.js';
import { VERSION } from '../src/version.js';
import { OPNP_BIN } from './built-cli.js';
import { MODEL } from './helpers.js';
import { demoAssetPath } from '../src/commands/demo.js';

const REGISTER = fileURLToPath(new URL('./fixtures/module-log-register.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'opnp-start-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the built CLI with `args`; its stdout, exit code and the modules it loaded (paths from `packages/` or `node_modules/`). */
function loadedBy(args: readonly string[], name: string): { code: number | null; stdout: string; stderr: string; modules: string[] } {
  const log = join(dir, `${name}.log`);
  const run = spawnSync(process.execPath, ['--import', REGISTER, OPNP_BIN, ...args], { encoding: 'utf8', env: { ...process.env, OPNP_TEST_MODULE_LOG: log } });
  const modules = readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((url) => url.replace(/^.*?\/(packages|node_modules)\//, '$1/'));
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, modules };
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
  });

  it('opnp extract loads the extract command and its libraries only', () => {
    const data = `idx:${demoAssetPath('fashion-val-images-idx3-ubyte.gz')}`;
    const run = loadedBy(['extract', '--model', MODEL, '--data', data, '--mean', '0.1307', '--std', '0.3081', '--out', join(dir, 'f.npy'), '--quiet'], 'extract');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Evaluation, scores, searches, metrics and every other command stay unloaded (the kernel's WebAssembly scorer of
    // banded grids comes with @opnp/core/backend: 17 kB, compiled only when used).
    const forbidden = run.modules.filter((m) => /packages\/(metrics|backend-tfjs)\/|packages\/core\/dist\/(scores|opnp\/(?!grid\/banded-lse-wasm)|index\.js)|packages\/pipeline\/dist\/(index|methods|stages|ablations)|packages\/cli\/dist\/(program|commands\/(?!extract|shared))|node_modules\/(arquero|vega|@resvg|sharp)/.test(m));
    expect(forbidden).toEqual([]);
    expect(run.modules.length).toBeLessThan(140); // 119 on the day this was written
  });
});
