#!/usr/bin/env node
/**
 * Bundle size budgets of the browser entries: bundles each entry of tools/bundle-budgets.json for the browser with
 * esbuild (ESM, minified, from the workspace sources through the `@opnp/source` condition, so no build is needed),
 * gzips it (level 9) and fails when one is over its budget. Prints a table.
 *
 *   node tools/bundle-budget.mjs [--json] [--config <budgets.json>]      (run by npm test)
 *
 * tools/bundle-budgets.json: `{ "budgets": [{ "name", "entry" | "file", "external"?, "maxGzipBytes" }] }`; `entry`
 * is a package specifier (`@opnp/core`, everything it exports) or a file relative to the repository root (an app's
 * entry point); `file` is an asset shipped as it is (onnxruntime-web's wasm binary). `external` packages are left
 * out (the app bundles them anyway; e.g. onnxruntime-web for the web backend, whose own size is the example
 * page's, or TensorFlow.js for backend-tfjs). Budgets are about 15-20% above the measured sizes: raise one
 * deliberately, with the reason in the commit, when a change needs it.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const configAt = process.argv.indexOf('--config');
const CONFIG = configAt > 0 ? resolve(process.argv[configAt + 1]) : join(ROOT, 'tools/bundle-budgets.json');

/** The minified ESM bundle of one budget entry, or the bytes of a `file` entry (a shipped asset). */
async function bundle({ entry, file, external = [] }) {
  if (file !== undefined) return readFileSync(join(ROOT, file));
  const isFile = entry.startsWith('.') || entry.includes('/src/');
  const result = await build({
    ...(isFile ? { entryPoints: [join(ROOT, entry)] } : { stdin: { contents: `export * from ${JSON.stringify(entry)};`, resolveDir: ROOT, loader: 'js', sourcefile: 'entry.js' } }),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['@opnp/source'],
    minify: true,
    external,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].contents;
}

const kB = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;

const { budgets } = JSON.parse(readFileSync(CONFIG, 'utf8'));
const rows = [];
for (const budget of budgets) {
  try {
    const code = await bundle(budget);
    const gzip = gzipSync(code, { level: 9 }).length;
    rows.push({ ...budget, bytes: code.length, gzip, ok: gzip <= budget.maxGzipBytes });
  } catch (error) {
    const messages = error.errors?.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)) ?? [String(error)];
    rows.push({ ...budget, error: messages.join('; '), ok: false });
  }
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows.map(({ name, bytes, gzip, maxGzipBytes, ok, error }) => ({ name, bytes, gzip, maxGzipBytes, ok, ...(error ? { error } : {}) })), null, 2));
} else {
  const width = Math.max(...rows.map((r) => r.name.length), 5);
  console.log(`${'entry'.padEnd(width)}  ${'minified'.padStart(10)}  ${'gzip'.padStart(10)}  ${'budget'.padStart(10)}  used`);
  for (const r of rows) {
    const used = r.error ? 'FAILED TO BUNDLE' : `${((r.gzip / r.maxGzipBytes) * 100).toFixed(0).padStart(3)}%${r.ok ? '' : '  OVER BUDGET'}`;
    console.log(`${r.name.padEnd(width)}  ${(r.error ? '-' : kB(r.bytes)).padStart(10)}  ${(r.error ? '-' : kB(r.gzip)).padStart(10)}  ${kB(r.maxGzipBytes).padStart(10)}  ${used}`);
    if (r.error) console.log(`  ${r.error}`);
  }
}
const failed = rows.filter((r) => !r.ok);
if (failed.length > 0) {
  console.error(`bundle-budget: ${failed.map((r) => r.name).join(', ')} ${failed.length === 1 ? 'is' : 'are'} over budget or failed to bundle (tools/bundle-budgets.json)`);
  process.exitCode = 1;
}
