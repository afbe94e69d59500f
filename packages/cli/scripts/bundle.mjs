#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/bin.js and what it imports of the @opnp packages) into dist/bundle/, split into
 * chunks so that each command's code still loads only when that command runs. `bin/opnp.js` runs the bundle: one
 * file per chunk instead of about 120 ES modules to resolve and link at every start (about 0.2 s of an
 * `opnp extract`). Every other package stays external, and each must be a dependency of @opnp/cli (checked here),
 * so that it resolves from the bundle's folder once installed. Also writes dist/bundle/meta.json (esbuild's
 * metafile: which modules each chunk holds, read by test/start-up-modules.test.ts).
 *
 *   node scripts/bundle.mjs        (run by `npm run build` after tsc)
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]);

/** The package name of a bare specifier (`@scope/name/sub` -> `@scope/name`). */
const packageOf = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

const externals = new Set();

/**
 * Packages bundled although they are not @opnp's: small pure-JavaScript CommonJS packages every command loads
 * (commander: four files that Node would resolve, read and wrap one by one at every start).
 */
const BUNDLED = new Set(['commander']);

/**
 * commander requires node:child_process at load for executable subcommands, which opnp has none of; Node loads it
 * with net, dgram and more (about 5 ms of every start). Inside commander it becomes this module, which loads the real
 * one at the first `spawn`.
 */
const LAZY_CHILD_PROCESS = `let loaded; module.exports = { spawn: (...args) => (loaded ??= require('node:child_process')).spawn(...args) };`;

/** Bundled CommonJS code calls require() for Node's modules: an ES module has none of its own. */
const REQUIRE_BANNER = `import { createRequire as __opnpCreateRequire } from 'node:module'; const require = __opnpCreateRequire(import.meta.url);`;
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
const thirdPartyExternal = {
  name: 'third-party-external',
  setup(b) {
    // @opnp packages are bundled; every other bare import stays an import of the installed package.
    b.onResolve({ filter: /^node:child_process$/ }, (args) => (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({ contents: LAZY_CHILD_PROCESS, loader: 'js' }));
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || args.path.startsWith('@opnp/') || args.path.startsWith('#')) return undefined; // subpath imports (#onnx-proto) resolve inside their package
      if (BUNDLED.has(packageOf(args.path))) return undefined;
      externals.add(packageOf(args.path));
      return { path: args.path, external: true };
    });
  },
};
const common = {
  outdir,
  absWorkingDir: root, // metafile paths relative to packages/cli, wherever the script runs from
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  metafile: true,
  banner: { js: REQUIRE_BANNER },
  logLevel: 'warning',
  plugins: [thirdPartyExternal],
};
const cli = await build({ ...common, entryPoints: { bin: `${root}dist/bin.js` }, splitting: true });
// Worker entries sit beside the chunks that start them (`startModuleWorker` resolves `./<name>.js` from its caller).
// Each is one self-contained file, built apart so that the code it shares with the CLI does not split the CLI's chunks.
const workers = await build({
  ...common,
  entryPoints: {
    'image-worker': fileURLToPath(new URL('../../datasets/dist/node/image-worker.js', import.meta.url)),
    'banded-scoring-worker': fileURLToPath(new URL('../../core/dist/node/banded-scoring-worker.js', import.meta.url)),
  },
  splitting: false,
});
const metafile = { inputs: { ...cli.metafile.inputs, ...workers.metafile.inputs }, outputs: { ...cli.metafile.outputs, ...workers.metafile.outputs } };
const builtins = new Set((await import('node:module')).builtinModules);
const missing = [...externals].filter((name) => !declared.has(name) && !builtins.has(name));
if (missing.length > 0) {
  console.error(`bundle: the bundle imports ${missing.join(', ')}, which @opnp/cli does not declare: add ${missing.length === 1 ? 'it' : 'them'} to its dependencies`);
  process.exit(1);
}
writeFileSync(`${outdir}/meta.json`, JSON.stringify(metafile));
