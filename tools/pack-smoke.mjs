#!/usr/bin/env node
// Pack-and-install smoke test: the packages as users get them from npm.
//
//   node tools/pack-smoke.mjs [--keep]      (npm run smoke:pack; .ci/run runs it after npm test)
//
// 1. builds (nx cache) and `npm pack`s every publishable package in packages/* into a temp folder;
// 2. checks the tarballs: no declaration maps, every .js.map carries its sources (sourcesContent);
// 3. installs the tarballs of everything but @opnp/backend-tfjs into an empty temp project
//    (ONNXRUNTIME_NODE_INSTALL=skip; third-party packages come from the registry or npm's cache) and checks
//    that TensorFlow.js is not installed, that there is one copy of @opnp/core, that `npx opnp demo --quick
//    --quiet` prints the table, and that a model.json gets the "install @opnp/backend-tfjs" hint;
// 4. every export of every library package (`.`, `./node`, ...) through a plain-Node ESM import and a CommonJS
//    require, the `./node` entries of datasets and backend-tfjs re-exporting their browser-safe `.` entry, and
//    @opnp/backend-onnx-web running the demo model on onnxruntime-web's wasm;
// 5. adds the @opnp/backend-tfjs tarball (the opt-in) and checks the CLI's lazy import finds it.
// Prints PASS/FAIL per check and a summary; exits 1 when a check fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const keep = process.argv.includes('--keep');
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'opnp-pack-smoke-'));
const tarballs = join(work, 'tarballs');
const project = join(work, 'project');
mkdirSync(tarballs);
mkdirSync(project);
// No download of onnxruntime-node's optional CUDA binaries (npm versions that run dependencies' install
// scripts), no audit/fund traffic, the project's own .npmrc out of the way.
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

const results = [];
function check(name, fn) {
  const t = Date.now();
  try {
    const detail = fn();
    results.push({ name, ok: true });
    console.log(`PASS ${name}${detail ? ` (${detail})` : ''} [${((Date.now() - t) / 1000).toFixed(1)} s]`);
    return true;
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n     ${String(error instanceof Error ? error.message : error).trim().replace(/\n/g, '\n     ')}`);
    return false;
  }
}
function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: project, env, encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${(r.stderr || '').slice(-3000)}${(r.stdout || '').slice(-2000)}`);
  return r;
}

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private);
const libraries = packages.filter(({ pkg }) => !pkg.bin);
const optIn = new Set(['@opnp/backend-tfjs']);
/** Packages whose `./node` entry is the whole package for Node (the browser-safe `.` plus file access). */
const NODE_SUPERSETS = new Set(['@opnp/datasets', '@opnp/backend-tfjs']);
/** Entries that need an optional peer the smoke project does not install. */
const NEEDS_OPTIONAL_PEER = new Set(['@opnp/core/testing']); // vitest
const tgz = new Map();

const built = check('build (nx)', () => {
  execFileSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
});

const packed = built && check(`npm pack ${packages.length} packages`, () => {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tarballs, ...packages.flatMap(({ dir }) => ['-w', `packages/${dir}`])], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const sizes = [];
  for (const entry of JSON.parse(out)) {
    tgz.set(entry.name, join(tarballs, entry.filename));
    sizes.push(`${entry.name.replace('@opnp/', '')} ${(entry.size / 1024).toFixed(0)} kB`);
  }
  if (tgz.size !== packages.length) throw new Error(`packed ${tgz.size} of ${packages.length}`);
  return sizes.join(', ');
});

if (packed) {
  check('tarballs: no .d.ts.map, every .js.map has sourcesContent, README and LICENSE', () => {
    const problems = [];
    for (const [name, file] of tgz) {
      const dir = join(work, 'unpacked', name);
      mkdirSync(dir, { recursive: true });
      execFileSync('tar', ['-xzf', file, '-C', dir]);
      const files = execFileSync('find', ['.', '-type', 'f'], { cwd: join(dir, 'package'), encoding: 'utf8' }).split('\n').filter(Boolean);
      for (const required of ['./README.md', './LICENSE', './package.json', './dist/index.js', './dist/index.d.ts']) {
        if (!files.includes(required)) problems.push(`${name}: missing ${required}`);
      }
      for (const f of files) {
        if (f.endsWith('.d.ts.map')) problems.push(`${name}: ${f} (declaration maps point at src/, which is not shipped)`);
        if (f.endsWith('.tsbuildinfo')) problems.push(`${name}: ${f}`);
        if (f.endsWith('.js.map')) {
          const map = JSON.parse(readFileSync(join(dir, 'package', f), 'utf8'));
          if (!Array.isArray(map.sourcesContent) || map.sourcesContent.length !== map.sources.length || map.sourcesContent.some((s) => typeof s !== 'string')) {
            problems.push(`${name}: ${f} has no sourcesContent`);
          }
        }
      }
    }
    if (problems.length) throw new Error(problems.slice(0, 20).join('\n'));
  });

  const installed = check('npm install the tarballs (without @opnp/backend-tfjs) into an empty project', () => {
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'opnp-smoke', private: true, version: '1.0.0' }, null, 2));
    const base = [...tgz].filter(([name]) => !optIn.has(name)).map(([, file]) => file);
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...base]);
  });

  if (installed) {
    check('TensorFlow.js is opt-in (no @opnp/backend-tfjs, no @tensorflow/* installed)', () => {
      for (const p of ['node_modules/@opnp/backend-tfjs', 'node_modules/@tensorflow']) {
        if (existsSync(join(project, p))) throw new Error(`${p} is installed`);
      }
    });
    check('one copy of @opnp/core', () => {
      const copies = execFileSync('find', ['node_modules', '-path', '*/@opnp/core/package.json'], { cwd: project, encoding: 'utf8' }).split('\n').filter(Boolean);
      if (copies.length !== 1) throw new Error(copies.join('\n'));
    });
    check('npx opnp demo --quick --quiet', () => {
      const r = run('npx', ['--no-install', 'opnp', 'demo', '--quick', '--quiet']);
      if (!/fashion/i.test(r.stdout) || !/FPR95|AUROC/i.test(r.stdout)) throw new Error(`unexpected output:\n${r.stdout}`);
      const warnings = r.stderr.split('\n').filter((l) => /npm warn/i.test(l));
      if (warnings.length) throw new Error(`npm warnings:\n${warnings.join('\n')}`);
    });
    check('opnp help examples use no monorepo paths', () => {
      const r = run('npx', ['--no-install', 'opnp', '--help']);
      if (/node_modules/.test(r.stdout)) throw new Error(r.stdout);
    });
    check('opnp eval with a model.json asks for @opnp/backend-tfjs', () => {
      mkdirSync(join(project, 'tfjs-model'), { recursive: true });
      writeFileSync(join(project, 'tfjs-model', 'model.json'), '{}');
      const r = spawnSync('npx', ['--no-install', 'opnp', 'eval', '--model', 'tfjs-model/model.json', '--train', 'noise:10', '--test', 'noise:10', '--ood', 'n=noise:10', '--quiet'], { cwd: project, env, encoding: 'utf8' });
      if (r.status === 0 || !/npm install @opnp\/backend-tfjs/.test(r.stderr)) throw new Error(`exit ${r.status}\n${r.stderr}${r.stdout}`);
      return `exit ${r.status}`;
    });
    entryChecks(libraries.filter(({ pkg }) => !optIn.has(pkg.name)));
    check('@opnp/backend-onnx-web runs the demo model on onnxruntime-web (its wasm, found in the installed package)', () => {
      const code = `import { readFileSync } from 'node:fs';
        import { loadOnnxWebFeatureExtractor } from '@opnp/backend-onnx-web';
        const model = new Uint8Array(readFileSync('node_modules/@opnp/cli/assets/demo/mnist-cnn.onnx'));
        const extractor = await loadOnnxWebFeatureExtractor(model);
        const { features, logits } = await extractor.extract({ data: new Float32Array(2 * 784), shape: [2, 1, 28, 28] });
        await extractor.dispose();
        console.log(JSON.stringify({ providers: extractor.runtime.executionProviders, features: [features.rows, features.cols], logits: [logits.rows, logits.cols] }));`;
      const r = run('node', ['--input-type=module', '-e', code]);
      const out = JSON.parse(r.stdout.trim().split('\n').pop());
      if (out.providers[0] !== 'wasm' || out.features.join() !== '2,128' || out.logits.join() !== '2,10') throw new Error(r.stdout);
      return `${out.providers.join(', ')}: features ${out.features.join(' x ')}, logits ${out.logits.join(' x ')}`;
    });
    check('ESM import of @opnp/cli', () => {
      run('node', ['--input-type=module', '-e', "const m = await import('@opnp/cli'); if (typeof m.runCli !== 'function') throw new Error('no runCli');"]);
    });

    const tfjs = check('npm install the @opnp/backend-tfjs tarball (opt-in)', () => {
      run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tgz.get('@opnp/backend-tfjs')]);
    });
    if (tfjs) {
      entryChecks(libraries.filter(({ pkg }) => optIn.has(pkg.name)));
      check('the CLI finds the optional @opnp/backend-tfjs', () => {
        // what packages/cli/src/model.ts does: import('@opnp/backend-tfjs/register') from inside @opnp/cli
        const cliDir = join(project, 'node_modules', '@opnp', 'cli');
        run('node', ['--input-type=module', '-e', "await import('@opnp/backend-tfjs/register');"], { cwd: cliDir });
      });
      check('still one copy of @opnp/core', () => {
        const copies = execFileSync('find', ['node_modules', '-path', '*/@opnp/core/package.json'], { cwd: project, encoding: 'utf8' }).split('\n').filter(Boolean);
        if (copies.length !== 1) throw new Error(copies.join('\n'));
      });
    }
  }
}

/**
 * ESM import and CJS require of every export of each package (`.`, `./node`, ...), from the project folder; the
 * `./node` entry of datasets and backend-tfjs must re-export every name of the browser-safe `.` (one import for Node).
 */
function entryChecks(list) {
  for (const { pkg } of list) {
    if (NODE_SUPERSETS.has(pkg.name)) {
      check(`${pkg.name}/node re-exports every export of ${pkg.name}`, () => {
        const code = `const [b, n] = await Promise.all([import('${pkg.name}'), import('${pkg.name}/node')]); const missing = Object.keys(b).filter((k) => !(k in n)); if (missing.length) throw new Error('missing: ' + missing.join(', ')); console.log(Object.keys(b).length + ' + ' + (Object.keys(n).length - Object.keys(b).length));`;
        return `${run('node', ['--input-type=module', '-e', code]).stdout.trim()} Node-only exports`;
      });
    }
    const specifiers = Object.keys(pkg.exports).filter((k) => !k.endsWith('.json')).map((k) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`))
      .filter((s) => !NEEDS_OPTIONAL_PEER.has(s));
    check(`ESM import of ${specifiers.join(', ')}`, () => {
      const code = `for (const s of ${JSON.stringify(specifiers)}) { await import(s); }`;
      run('node', ['--input-type=module', '-e', code]);
    });
    check(`CJS require of ${specifiers.join(', ')}`, () => {
      const code = `for (const s of ${JSON.stringify(specifiers)}) { const m = require(s); if (s.endsWith('/register')) continue; if (Object.keys(m).length === 0) throw new Error(s + ': no exports'); }`;
      const r = run('node', ['--input-type=commonjs', '-e', code]);
      const warnings = r.stderr.split('\n').filter((l) => /Warning/.test(l));
      if (warnings.length) throw new Error(warnings.join('\n'));
    });
  }
}

const failed = results.filter((r) => !r.ok);
const seconds = ((Date.now() - started) / 1000).toFixed(0);
console.log(`\npack-smoke: ${failed.length ? 'FAIL' : 'PASS'}, ${results.length - failed.length} passed, ${failed.length} failed, ${seconds} s${keep ? `, kept ${work}` : ''}`);
for (const r of failed) console.log(`  failed: ${r.name}`);
if (!keep) rmSync(work, { recursive: true, force: true });
process.exit(failed.length || results.length === 0 ? 1 : 0);
