/**
 * Starting a worker thread from a module of an `@opnp/*` package, whether the package runs built (`dist/*.js`) or
 * from its TypeScript sources (tests and benchmarks, under the `@opnp/source` condition with tsx).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The ES module API of tsx, which loads a worker entry when its package runs from TypeScript sources. */
function tsxApiUrl(packageName: string): string {
  let cjs: string;
  try {
    cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  } catch (cause) {
    throw new Error(`${packageName} runs from its TypeScript sources: its worker threads need tsx (npm install -D tsx), or build the package`, { cause });
  }
  const esm = cjs.replace(/\.cjs$/, '.mjs');
  return pathToFileURL(existsSync(esm) ? esm : cjs).href;
}

/**
 * Starts the worker whose entry is the module `entry` (a name without extension, e.g. `'./image-worker'`) beside
 * the module at `moduleUrl` (the caller's `import.meta.url`): `entry.js` when the caller is built, `entry.ts` through
 * tsx when it runs from sources. `packageName` names the package in the error when tsx is missing.
 */
export function startModuleWorker(moduleUrl: string, entry: string, packageName: string): Worker {
  if (!moduleUrl.endsWith('.ts')) return new Worker(new URL(`${entry}.js`, moduleUrl));
  const source = new URL(`${entry}.ts`, moduleUrl).href;
  // Node 20 applies a worker's --import hooks only to later imports, not to its entry: import it through tsx's API.
  const code = `import(${JSON.stringify(tsxApiUrl(packageName))}).then((tsx) => tsx.tsImport(${JSON.stringify(source)}, ${JSON.stringify(source)}))`;
  return new Worker(code, { eval: true, execArgv: ['--conditions=@opnp/source'] });
}
