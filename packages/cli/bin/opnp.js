#!/usr/bin/env node
// The `opnp` command. It runs the bundled CLI in ../dist/bundle (`npm run build`: tsc, then scripts/bundle.mjs; in
// the repository `npm ci` builds it through the root `prepare` script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bundle/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('opnp: the CLI is not built (missing dist/bundle/bin.js); run `npm run build` in the repository first\n');
  process.exit(1);
}
await import(entry.href);
