/**
 * End-to-end benchmark (issue #16, target 7): `opnp eval` (energy, ReAct, OPNP at a fixed point) of a small
 * ResNet (bench/fixtures/mnist-resnet.onnx) over MNIST training and test images and two OOD sets, against a
 * PyTorch CPU script doing the same work on the model's PyTorch twin (bench/pytorch_eval.py: forward passes in
 * batches of 256 on 2 threads, closed-form sensitivity, scores, scikit-learn metrics), with
 * OMP_WAIT_POLICY=PASSIVE (its threads do not spin, as opnp's do not).
 *
 *   npx nx run-many -t build --projects=@opnp/cli      (the benchmark runs the built CLI)
 *   npm run bench:e2e -w @opnp/pipeline                 (scale 0.2: 12k / 2k / 4.2k images, 3 rounds)
 *   npm run bench:e2e -w @opnp/pipeline -- --scale 1    (60k / 10k / 21k, as in the issue)
 *
 * Every round runs both, one after the other, as whole processes (start-up and imports included), and
 * measures wall time and CPU time (user + system, through /usr/bin/python3's `resource.getrusage`). The ratio
 * opnp / PyTorch is taken per round; the JSON reports its median and range. Both processes print their
 * metrics, which are compared (energy and OPNP must agree to 1e-4 in AUROC; ReAct's fit rows are a different
 * seeded subset when the training set exceeds 20,000 images). Without python3-torch (and python3-onnx,
 * python3-sklearn) only opnp is timed, with a message. Progress on stderr; the LAST stdout line is JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_MODEL, benchData, log, numberArg, range, type BenchData } from './bench-data.js';

const SCALE = numberArg('--scale', 0.2);
const ROUNDS = numberArg('--rounds', 3);
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const CLI = fileURLToPath(new URL('../../cli/bin/opnp.js', import.meta.url));
const PYTORCH_SCRIPT = fileURLToPath(new URL('./pytorch_eval.py', import.meta.url));
const OPNP_POINT = { p_min: 10, p_max: 1, n_min: 10, n_max: 1 };
const say = (message: string) => log('bench:e2e', message);

/**
 * PyTorch's OpenMP threads wait passively, as onnxruntime's threads do in opnp (`allowSpinning: false`): with
 * spinning threads, PyTorch on 2 threads ran 10-15 times slower than on 1 on this shared machine.
 */
const PYTORCH_ENV = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' };

/** Runs a command and returns its wall and CPU seconds (CPU through python's getrusage when available) and stdout. */
function timed(command: string[], python: boolean, env: NodeJS.ProcessEnv = process.env): { wall: number; cpu?: number; stdout: string } {
  const start = performance.now();
  if (!python) {
    const run = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', maxBuffer: 1 << 26, env });
    if (run.status !== 0) throw new Error(`${command.join(' ')} failed:\n${run.stderr}`);
    return { wall: (performance.now() - start) / 1000, stdout: run.stdout };
  }
  const wrapper = 'import json,resource,subprocess,sys,time\nt=time.perf_counter()\nr=subprocess.run(sys.argv[1:],capture_output=True,text=True)\nu=resource.getrusage(resource.RUSAGE_CHILDREN)\nsys.stderr.write(r.stderr)\nprint(json.dumps({"code":r.returncode,"wall":time.perf_counter()-t,"cpu":u.ru_utime+u.ru_stime,"stdout":r.stdout}))';
  const run = spawnSync(PYTHON, ['-c', wrapper, ...command], { encoding: 'utf8', maxBuffer: 1 << 26, env });
  const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { code: number; wall: number; cpu: number; stdout: string };
  if (out.code !== 0) throw new Error(`${command.join(' ')} failed:\n${run.stderr}`);
  return { wall: out.wall, cpu: out.cpu, stdout: out.stdout };
}

function opnpCommand(data: BenchData, json: string): string[] {
  const point = Object.entries(OPNP_POINT).map(([k, v]) => `${k}=${v}`).join(',');
  return [
    process.execPath, CLI, 'eval', '--model', BENCH_MODEL,
    '--train', `idx:${data.train}`, '--test', `idx:${data.test}`,
    '--ood', `fashion=idx:${data.ood.fashion}`, '--ood', `noise=idx:${data.ood.noise}`,
    '--methods', 'energy,react,opnp', '--opnp', point, '--mean', '0.1307', '--std', '0.3081',
    '--batch-size', '256', '--threads', '2', '--json', json, '--quiet',
  ];
}

function pytorchCommand(data: BenchData): string[] {
  const point = Object.values(OPNP_POINT).join(',');
  return [PYTHON, PYTORCH_SCRIPT, '--model', BENCH_MODEL, '--train', data.train, '--test', data.test, '--ood', `fashion=${data.ood.fashion}`, '--ood', `noise=${data.ood.noise}`, '--threads', '2', '--batch-size', '256', '--opnp', point];
}

interface Auroc {
  method: string;
  ood: string;
  auroc: number;
}

/** Largest AUROC difference per method between the two runs. */
function aurocDifferences(opnp: Auroc[], torch: Auroc[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of torch) {
    const o = opnp.find((r) => r.method === t.method && r.ood === t.ood);
    if (o) out[t.method] = Math.max(out[t.method] ?? 0, Number(Math.abs(o.auroc - t.auroc).toExponential(2)));
  }
  return out;
}

function torchAvailable(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, onnx, sklearn, numpy'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  if (!existsSync(CLI) || !existsSync(fileURLToPath(new URL('../../cli/dist/index.js', import.meta.url)))) throw new Error('Build the CLI first: npx nx run-many -t build --projects=@opnp/cli');
  const data = benchData(SCALE);
  const python = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import resource'], { stdio: 'ignore' }).status === 0;
  const torch = torchAvailable();
  if (!torch) say(`${PYTHON} with torch, onnx, sklearn and numpy not found (apt-get install python3-torch python3-onnx python3-sklearn): PyTorch is skipped`);
  say(`scale ${SCALE}: ${JSON.stringify(data.counts)} in ${data.dir}; ${ROUNDS} rounds`);
  const work = mkdtempSync(join(tmpdir(), 'opnp-bench-e2e-'));
  const rows: { opnp: { wall: number; cpu?: number }; torch?: { wall: number; cpu?: number; script: number } }[] = [];
  let differences: Record<string, number> | undefined;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const json = join(work, 'report.json');
      const opnp = timed(opnpCommand(data, json), python);
      const row: (typeof rows)[number] = { opnp: { wall: opnp.wall, ...(opnp.cpu !== undefined ? { cpu: opnp.cpu } : {}) } };
      if (torch) {
        const t = timed(pytorchCommand(data), true, PYTORCH_ENV);
        const report = JSON.parse(t.stdout.trim().split('\n').at(-1)!) as { seconds: number; results: Auroc[] };
        row.torch = { wall: t.wall, ...(t.cpu !== undefined ? { cpu: t.cpu } : {}), script: report.seconds };
        differences = aurocDifferences((JSON.parse(readFileSync(json, 'utf8')) as { results: Auroc[] }).results, report.results);
      }
      rows.push(row);
      say(`round ${round + 1}: opnp ${opnp.wall.toFixed(1)} s (CPU ${opnp.cpu?.toFixed(1) ?? '?'} s)${row.torch ? `, PyTorch ${row.torch.wall.toFixed(1)} s (CPU ${row.torch.cpu?.toFixed(1)} s), ratio ${(opnp.wall / row.torch.wall).toFixed(2)}` : ''}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const pick = (f: (r: (typeof rows)[number]) => number | undefined) => rows.map(f).filter((v): v is number => v !== undefined);
  console.log(
    JSON.stringify({
      scale: SCALE,
      counts: data.counts,
      fashionSource: data.fashionSource,
      model: 'bench/fixtures/mnist-resnet.onnx (stem 16/2, stages 16/32/64, D = 64)',
      command: 'opnp eval --methods energy,react,opnp --opnp p_min=10,p_max=1,n_min=10,n_max=1 --batch-size 256 --threads 2',
      pytorch: 'bench/pytorch_eval.py --threads 2 --batch-size 256, OMP_WAIT_POLICY=PASSIVE',
      rounds: ROUNDS,
      opnpSeconds: range(pick((r) => r.opnp.wall)),
      ...(python ? { opnpCpuSeconds: range(pick((r) => r.opnp.cpu)) } : {}),
      ...(torch
        ? {
            pytorchSeconds: range(pick((r) => r.torch?.wall)),
            pytorchCpuSeconds: range(pick((r) => r.torch?.cpu)),
            pytorchScriptSeconds: range(pick((r) => r.torch?.script)),
            ratioOpnpOverPytorch: range(pick((r) => (r.torch ? r.opnp.wall / r.torch.wall : undefined))),
            cpuRatioOpnpOverPytorch: range(pick((r) => (r.torch?.cpu !== undefined && r.opnp.cpu !== undefined ? r.opnp.cpu / r.torch.cpu : undefined))),
            maxAurocDifference: differences,
          }
        : { pytorch: 'skipped: python3-torch, python3-onnx or python3-sklearn not found' }),
    }),
  );
}

await main();
