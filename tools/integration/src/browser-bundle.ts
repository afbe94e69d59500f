/**
 * Bundles a package entry for the browser (esbuild, `platform: 'browser'`, `format: 'esm'`) from the
 * workspace sources (`@opnp/source`) and lists every import of a Node built-in (`node:*`, or a bare `fs`,
 * `path`, `zlib`, ...) in its import graph, with the module that imports it. A bare built-in that the importing
 * package maps to `false` in its `browser` field (tfjs's wasm backend does this for `fs`, `path`, ...) is the
 * package's own browser replacement and not counted. Also runs a bundle in a bare `node:vm` context.
 */
import { builtinModules } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { build, transform, type Plugin } from 'esbuild';

/** The repository root (where the workspaces resolve from). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** An import of a Node built-in found in a bundle's graph. */
export interface NodeImport {
  /** The specifier as written (`node:fs`, `zlib`). */
  readonly specifier: string;
  /** The importing module, relative to the repository root. */
  readonly importer: string;
}

/** What {@link bundleForBrowser} produced. */
export interface BrowserBundle {
  /** The ESM bundle (empty when the build failed). */
  readonly code: string;
  readonly nodeImports: readonly NodeImport[];
  /** esbuild's errors (e.g. an unresolvable import), as `file:line: text`. */
  readonly errors: readonly string[];
}

const BUILTINS = new Set(builtinModules.filter((name) => !name.startsWith('_')));

/** The `browser` field of the package that holds `file` (undefined when none). */
function browserField(file: string): Record<string, unknown> | undefined {
  let dir = dirname(file);
  while (dir !== dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const browser = (JSON.parse(readFileSync(manifest, 'utf8')) as { browser?: unknown }).browser;
      return browser !== null && typeof browser === 'object' ? (browser as Record<string, unknown>) : undefined;
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** Records Node built-in imports (and keeps them out of the bundle) instead of failing on the first one. */
function nodeImportRecorder(found: NodeImport[]): Plugin {
  return {
    name: 'node-import-recorder',
    setup(b) {
      b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
        const bare = args.path.replace(/^node:/, '').split('/')[0]!;
        if (!args.path.startsWith('node:') && !BUILTINS.has(bare)) return undefined;
        if (!args.path.startsWith('node:') && browserField(args.importer)?.[args.path] === false) return undefined;
        found.push({ specifier: args.path, importer: relative(REPO_ROOT, args.importer) });
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * Bundles `specifier` (e.g. `@opnp/datasets`) for the browser: `export * from specifier`, resolved from the
 * repository root through the `@opnp/source` condition (the TypeScript sources, no build needed).
 */
export async function bundleForBrowser(specifier: string): Promise<BrowserBundle> {
  const nodeImports: NodeImport[] = [];
  try {
    const result = await build({
      stdin: { contents: `export * from ${JSON.stringify(specifier)};`, resolveDir: REPO_ROOT, loader: 'js', sourcefile: 'entry.js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      conditions: ['@opnp/source', 'module'],
      write: false,
      logLevel: 'silent',
      plugins: [nodeImportRecorder(nodeImports)],
    });
    return { code: result.outputFiles[0]!.text, nodeImports, errors: [] };
  } catch (error) {
    const messages = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const errors = messages.map((m) => (m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text));
    return { code: '', nodeImports, errors: errors.length > 0 ? errors : [String(error)] };
  }
}

/** The web-platform globals a browser page has (and a bare `vm` context lacks); nothing Node-only. */
function webGlobals(): Record<string, unknown> {
  return { performance, TextEncoder, TextDecoder, console, queueMicrotask, setTimeout, clearTimeout, AbortController, AbortSignal, atob, btoa };
}

/**
 * Runs an ESM bundle in a new `node:vm` context that has the web globals of a browser page but no `require`,
 * `process`, `Buffer`, `global` or `module`, and returns the bundle's exports (objects of the context's realm).
 */
export async function runInBareContext(code: string): Promise<{ exports: Record<string, unknown>; context: vm.Context }> {
  const { code: iife } = await transform(code, { format: 'iife', globalName: '__bundle' });
  const context = vm.createContext(webGlobals());
  vm.runInContext('globalThis.self = globalThis;', context); // a worker's global name for itself
  vm.runInContext(iife, context, { filename: 'browser-bundle.js' });
  return { exports: context.__bundle as Record<string, unknown>, context };
}
