/** The README's example runs as documented and prints one line per method. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

it('examples/evaluate-demo.ts evaluates the demo model with a user-registered method', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=@opnp/source', '--import', 'tsx', 'packages/pipeline/examples/evaluate-demo.ts'], { cwd: REPO, timeout: 110_000 });
  const lines = stdout.trim().split('\n');
  expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['energy', 'react', 'opnp', 'max-feature']);
  for (const line of lines) expect(line).toMatch(/FPR95 \d+\.\d\d% {2}AUROC \d+\.\d\d%$/);
});
