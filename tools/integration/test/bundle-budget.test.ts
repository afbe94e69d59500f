/**
 * tools/bundle-budget.mjs fails over budget and on an entry that does not bundle, and passes within budget; the
 * sizes it reports are the gzip (level 9) of esbuild's minified browser bundle, recomputed here.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { REPO_ROOT } from '../src/browser-bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'opnp-bundle-budget-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let configs = 0;

/** Runs the script with `budgets`; returns its exit code and output. */
async function budget(budgets: object[], json = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const config = join(dir, `budgets-${++configs}.json`);
  writeFileSync(config, JSON.stringify({ budgets }));
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'tools/bundle-budget.mjs'), '--config', config, ...(json ? ['--json'] : [])], { cwd: REPO_ROOT });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tools/bundle-budget.mjs', () => {
  it('reports the gzip size of the minified browser bundle and passes within budget', async () => {
    const run = await budget([{ name: 'metrics', entry: '@opnp/metrics', maxGzipBytes: 1_000_000 }], true);
    expect(run.code).toBe(0);
    const [row] = JSON.parse(run.stdout) as { name: string; bytes: number; gzip: number; ok: boolean }[];
    const expected = await build({
      stdin: { contents: 'export * from "@opnp/metrics";', resolveDir: REPO_ROOT, loader: 'js' },
      bundle: true, platform: 'browser', format: 'esm', target: 'es2022', conditions: ['@opnp/source'], minify: true, write: false, logLevel: 'silent',
    });
    const code = expected.outputFiles[0]!.contents;
    expect(row).toMatchObject({ name: 'metrics', bytes: code.length, gzip: gzipSync(code, { level: 9 }).length, ok: true });
  });

  it('fails over budget and on an entry that does not bundle, naming them', async () => {
    const over = await budget([{ name: 'metrics', entry: '@opnp/metrics', maxGzipBytes: 100 }]);
    expect(over.code).toBe(1);
    expect(over.stdout).toMatch(/metrics .* OVER BUDGET/);
    expect(over.stderr).toMatch(/metrics is over budget/);
    const broken = await budget([{ name: 'missing', entry: '@opnp/no-such-package', maxGzipBytes: 1_000_000 }]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/FAILED TO BUNDLE/);
    expect(broken.stdout).toMatch(/@opnp\/no-such-package/);
  });
});
