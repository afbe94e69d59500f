#!/usr/bin/env node
/**
 * A static file server for the built page (`application/wasm` for the onnxruntime binary, no compression).
 *
 *   node serve.mjs [dir] [--port 8080] [--isolated]     (npm run serve -w examples/browser)
 *
 * `--isolated` adds `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`,
 * which make the page cross-origin isolated: onnxruntime-web can then run its wasm on several threads. Without it
 * (the default, and what the tests use) the wasm runs on one thread.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves `dir` on `127.0.0.1:port` (0 = any free port).
 *
 * @returns the base URL (ending in `/`) and `close()`
 */
export async function serveFolder(dir, { port = 0, isolated = false } = {}) {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    let size = -1;
    try {
      if (file.startsWith(root + sep)) size = statSync(file).isFile() ? statSync(file).size : -1;
    } catch {
      size = -1;
    }
    const headers = isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
    if (size < 0) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size, 'Cache-Control': 'no-store', ...headers });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolveListen);
  });
  const { port: bound } = server.address();
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise((resolveClose) => server.close(() => resolveClose())),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const portAt = args.indexOf('--port');
  const port = portAt >= 0 ? Number(args[portAt + 1]) : 8080;
  const dir = args.find((a, i) => !a.startsWith('--') && (portAt < 0 || i !== portAt + 1)) ?? join(here, 'dist');
  const { url } = await serveFolder(dir, { port, isolated: args.includes('--isolated') });
  console.log(`serving ${resolve(dir)} at ${url} (Ctrl+C to stop)`);
}
