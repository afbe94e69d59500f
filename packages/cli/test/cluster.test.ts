/**
 * `opnp cluster slurm|k8s`: the generated sbatch scripts (array of --shard auto tasks with per-task logs and
 * per-shard state files, the dependent merge job), `--submit` through a stand-in sbatch, and the Kubernetes
 * Indexed Job manifests, parsed as YAML and validated with ajv against the batch/v1 Job schema derived from
 * the Kubernetes OpenAPI spec (tools/k8s/make-job-schema.mjs).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { cli, tempDir } from './helpers.js';

const SENSITIVITY = ['sensitivity', '--model', 'm.onnx', '--train', 'idx:./train images', '--mean', '0.1307', '--std', '0.3081', '--out', 'sens.npy', '--neuron-out', 'neuron.npy', '--state-out', 'state.npy'];
const EVAL = ['eval', '--model', 'm.onnx', '--train', 'features:train.npy', '--test', 'features:val.npy', '--ood', 'inat=features:inat.npy', '--sensitivity-state', 'state.npy', '--json', 'report.json', '--save', 'results', '--format', 'markdown'];
const EXTRACT = ['extract', '--model', 'm.onnx', '--data', 'idx:./val', '--out', 'feats.npy', '--logits-out', 'logits.npy', '--indices-out', 'idx.npy'];

/** The `#SBATCH` directives of a script, as a map. */
function directives(script: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of script.matchAll(/^#SBATCH --([a-z-]+)(?:=(.*))?$/gm)) out[m[1]!] = m[2] ?? '';
  return out;
}

describe('opnp cluster slurm', () => {
  it('prints the array script: one --shard auto task per shard, per-task logs, own state and checkpoint files', async () => {
    const run = await cli(['cluster', 'slurm', ...SENSITIVITY, '--shards', '4', '--time', '02:00:00', '--cpus', '8', '--mem', '16G', '--gpus', '1', '--log-dir', 'logs']);
    // Without --merge the merged --out is not written by the jobs: stderr says how to merge.
    expect(run.stderr).toMatch(/without --merge the jobs write only the 4 shard outputs .*opnp sensitivity merge /);
    expect(run.code).toBe(0);
    const script = run.stdout;
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(directives(script)).toMatchObject({ array: '0-3', time: '02:00:00', 'cpus-per-task': '8', mem: '16G', gres: 'gpu:1', output: 'logs/opnp-sensitivity-%A_%a.log', requeue: '', 'job-name': 'opnp-sensitivity' });
    const task = script.split('\n').find((l) => l.startsWith('opnp sensitivity'))!;
    expect(task).toContain("--train 'idx:./train images'");
    expect(task).toContain('--shard auto --state-out "state.shard-${SHARD}-of-004.npy" --checkpoint "state.checkpoint.shard-${SHARD}-of-004.npy" --threads 8');
    expect(task).not.toMatch(/--out |--neuron-out /); // the merge writes those
    expect(script).toContain("SHARD=$(printf '%03d' $((SLURM_ARRAY_TASK_ID + 1)))");
    expect(script).not.toContain('--dependency');
  });

  it('with --merge: a bash script submitting the array and the merge job with --dependency=afterok', async () => {
    const run = await cli(['cluster', 'slurm', ...EXTRACT, '--shards', '3', '--merge']);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('#!/usr/bin/env bash');
    expect(run.stdout).toContain("array_id=$(sbatch --parsable <<'OPNP_ARRAY_JOB'");
    expect(run.stdout).toContain("merge_id=$(sbatch --parsable --dependency=afterok:${array_id} <<'OPNP_MERGE_JOB'");
    expect(lines).toContain('opnp extract --model m.onnx --data idx:./val --out feats.npy --logits-out logits.npy --indices-out idx.npy --shard auto');
    expect(lines).toContain('opnp extract merge feats.shard-001-of-003.npy feats.shard-002-of-003.npy feats.shard-003-of-003.npy --out feats.npy --logits-out logits.npy --indices-out idx.npy');
    expect(directives(run.stdout)['job-name']).toBeDefined();
  });

  it('--submit runs sbatch --parsable and prints the job ids; the merge depends on the array', async () => {
    const dir = tempDir();
    const fake = join(dir, 'sbatch');
    writeFileSync(fake, `#!/bin/sh\nn=$(ls ${dir}/call-*.args 2>/dev/null | wc -l)\necho "$@" > ${dir}/call-$n.args\ncat > ${dir}/call-$n.sh\necho "$((41 + n));cluster"\n`);
    chmodSync(fake, 0o755);
    for (const input of ['m.onnx', 'train images']) writeFileSync(join(dir, input), ''); // checked before submitting
    const run = await cli(['cluster', 'slurm', ...SENSITIVITY, '--shards', '2', '--merge', '--submit', '--sbatch', fake, '--log-dir', join(dir, 'logs'), '--chdir', dir]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('array 41\nmerge 42\n');
    expect(readFileSync(join(dir, 'call-0.args'), 'utf8').trim()).toBe('--parsable');
    expect(readFileSync(join(dir, 'call-1.args'), 'utf8').trim()).toBe('--parsable --dependency=afterok:41');
    expect(directives(readFileSync(join(dir, 'call-0.sh'), 'utf8')).array).toBe('0-1');
    expect(readFileSync(join(dir, 'call-1.sh'), 'utf8')).toContain('opnp sensitivity merge state.shard-001-of-002.npy state.shard-002-of-002.npy --out sens.npy --neuron-out neuron.npy --state-out state.npy');
  });

  it('eval: the tasks score their shard into per-shard files, the merge job computes the report and writes --json / --save', async () => {
    const run = await cli(['cluster', 'slurm', ...EVAL, '--shards', '4', '--cpus', '2', '--merge']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContain('opnp eval --model m.onnx --train features:train.npy --test features:val.npy --ood inat=features:inat.npy --sensitivity-state state.npy --shard auto --scores-out report.scores.npy --threads 2');
    expect(lines).toContain('opnp eval merge report.scores.shard-001-of-004.npy report.scores.shard-002-of-004.npy report.scores.shard-003-of-004.npy report.scores.shard-004-of-004.npy --json report.json --save results --format markdown');
    const named = await cli(['cluster', 'slurm', ...EVAL.filter((a) => a !== '--json' && a !== 'report.json'), '--scores-out', 'out/s.npy', '--shards', '2']);
    expect(named.stdout).toContain('--shard auto --scores-out out/s.npy'); // eval names its shard's files itself
    expect(named.stderr).toContain('opnp eval merge out/s.shard-001-of-002.npy out/s.shard-002-of-002.npy --save results --format markdown');
  });

  it('refuses commands it cannot shard and --restart', async () => {
    const reportRun = await cli(['cluster', 'slurm', 'report', 'results', '--shards', '2']);
    expect(reportRun.code).toBe(2);
    expect(reportRun.stderr).toMatch(/cannot shard "report": give an opnp sensitivity, extract or eval command/);
    const typo = await cli(['cluster', 'slurm', 'extrct', '--shards', '2']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^opnp: cannot shard "extrct" \(did you mean extract\?\): give an opnp sensitivity, extract or eval command/);
    const runs = await cli(['cluster', 'slurm', ...EVAL, '--model', 'b.onnx', '--shards', '2']);
    expect(runs.stderr).toMatch(/a sharded eval is one run: give one --model and no --seeds/);
    const restart = await cli(['cluster', 'slurm', ...EXTRACT, '--restart', '--shards', '2']);
    expect(restart.stderr).toMatch(/--restart in an array job/);
    expect((await cli(['cluster', 'slurm', ...EXTRACT])).stderr).toMatch(/--shards/);
  });

  it('refuses a --shard (or --shard-count) of the command to shard: the planner gives every task --shard auto', async () => {
    for (const [kind, shard] of [['slurm', ['--shard', '1/2']], ['slurm', ['--shard', '2/3']], ['k8s', ['--shard=1/2']], ['slurm', ['--shard', 'auto']], ['slurm', ['--shard-count', '2']]] as const) {
      const run = await cli(['cluster', kind, ...EXTRACT, ...shard, '--shards', '2']);
      expect(run.code, shard.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`opnp: ${shard.join(' ')} in the command to shard: opnp cluster gives every task its own shard (--shard auto), out of --shards; drop ${shard[0].replace(/=.*/, '')} (see opnp cluster ${kind} --help)\n`);
    }
  });

  it('refuses the usage errors of the command to shard, which every task would meet on the cluster', async () => {
    const twice = await cli(['cluster', 'slurm', ...EXTRACT, '--out', 'other.npy', '--shards', '2']);
    expect(twice.code).toBe(2);
    expect(twice.stdout).toBe('');
    expect(twice.stderr).toBe("opnp: in the command to shard: --out is given twice ('feats.npy', then 'other.npy'): give it once (see opnp cluster slurm --help)\n");
    const misspelled = await cli(['cluster', 'k8s', ...EXTRACT, '--thread', '4', '--shards', '2']);
    expect(misspelled.code).toBe(2);
    expect(misspelled.stderr).toBe("opnp: in the command to shard: unknown option '--thread' for opnp extract; did you mean --threads? (see opnp cluster k8s --help)\n");
    // The merge job of a sharded eval writes --json and --format: --json - refuses --format there too.
    const stdout = await cli(['cluster', 'slurm', ...EVAL.filter((a) => a !== 'report.json' && a !== '--json'), '--json', '-', '--shards', '2']);
    expect(stdout.code).toBe(2);
    expect(stdout.stderr).toMatch(/^opnp: --format markdown cannot go with --json -/);
  });

  it('checks its own numeric flags before writing anything: --shards, --cpus, --gpus, --mem, --time, --backoff-limit', async () => {
    const bad: [string, string[], RegExp][] = [
      ['slurm', ['--shards', '0'], /--shards: expected a positive integer, got "0"/],
      ['slurm', ['--shards', '2', '--cpus', '0'], /--cpus: expected a positive integer/],
      ['k8s', ['--shards', '2', '--gpus', '1.5'], /--gpus: expected a positive integer/],
      ['slurm', ['--shards', '2', '--mem', '8GB'], /--mem: expected a size such as 8G/],
      ['slurm', ['--shards', '2', '--time', '2h'], /--time: expected a Slurm time limit such as 02:00:00.*got "2h"/],
      ['k8s', ['--shards', '2', '--backoff-limit', '-1'], /--backoff-limit: expected a non-negative integer/],
    ];
    for (const [kind, flags, message] of bad) {
      const run = await cli(['cluster', kind, ...EXTRACT, ...flags]);
      expect(run.code, flags.join(' ')).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
    }
    for (const time of ['90', '30:00', '02:00:00', '1-12', '1-12:30', '1-12:30:00', 'UNLIMITED']) {
      const run = await cli(['cluster', 'slurm', ...EXTRACT, '--shards', '2', '--time', time]);
      expect(run.stdout).toContain(`#SBATCH --time=${time}\n`);
    }
  });

  it('--cpus adds --threads only when the command has none, also as --threads=<n>', async () => {
    const task = async (threads: string[]) => (await cli(['cluster', 'slurm', ...EXTRACT, ...threads, '--shards', '2', '--cpus', '8'])).stdout.split('\n').find((l) => l.startsWith('opnp extract'))!;
    expect(await task([])).toMatch(/ --threads 8$/);
    expect(await task(['--threads', '2'])).toMatch(/ --threads 2 --shard auto$/);
    expect(await task(['--threads=2'])).toMatch(/ --threads=2 --shard auto$/);
  });
});

/**
 * The batch/v1 Job schema, derived from the Kubernetes OpenAPI spec by tools/k8s/make-job-schema.mjs (its
 * `$comment` names the source file and commit), compiled by ajv.
 */
const SCHEMA = JSON.parse(readFileSync(new URL('./fixtures/k8s-job-batch-v1.schema.json', import.meta.url), 'utf8')) as { $comment: string };
const validateJob = new Ajv({ allErrors: true, strict: true, validateFormats: false }).compile(SCHEMA);

/** The schema's errors for `value`, as `path: message`. */
function validate(value: unknown): string[] {
  if (validateJob(value)) return [];
  return (validateJob.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` ${String(e.params.additionalProperty)}` : ''}`);
}

describe('opnp cluster k8s', () => {
  it('the schema is the official one and catches what a Job may not hold', () => {
    expect(SCHEMA.$comment).toMatch(/from kubernetes-client\/python@[0-9a-f]{40}:kubernetes\/swagger\.json\.unprocessed .*release-1\.\d+.*sha256 [0-9a-f]{64}/);
    const bad = { apiVersion: 'batch/v2', kind: 'Job', metadata: { name: 'x' }, spec: { completions: '4', template: { spec: { containers: [{ image: 'i' }], volumes: [{ name: 'w', persistentVolumeClaim: {} }] } }, paralelism: 2 } };
    const errors = validate(bad).join('\n');
    for (const e of ['/apiVersion: must be equal to one of the allowed values', '/spec/completions: must be integer', '/spec: must NOT have additional properties paralelism', "/spec/template/spec/containers/0: must have required property 'name'", "/spec/template/spec/volumes/0/persistentVolumeClaim: must have required property 'claimName'"]) expect(errors).toContain(e);
    expect(validate({ apiVersion: 'batch/v1', kind: 'Job', spec: { template: { spec: {} } } }).join('\n')).toContain("/spec/template/spec: must have required property 'containers'");
  });

  it('prints an Indexed Job of --shard auto tasks on a shared volume and the merge Job, valid batch/v1 Jobs', async () => {
    const run = await cli(['cluster', 'k8s', ...SENSITIVITY, '--shards', '4', '--image', 'registry.example/opnp:1', '--pvc', 'opnp-data', '--cpus', '4', '--mem', '8G', '--gpus', '1', '--merge']);
    expect(run.code).toBe(0);
    const docs = parseAllDocuments(run.stdout).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as { metadata: { name: string }; spec: Record<string, unknown> & { template: { spec: { containers: { command: string[]; env?: { name: string; value: string }[]; resources: unknown; volumeMounts: unknown[] }[]; initContainers?: { command: string[] }[]; volumes: unknown[] } } } };
    });
    expect(docs).toHaveLength(2);
    for (const doc of docs) expect(validate(doc)).toEqual([]);
    const [shards, merge] = docs as [(typeof docs)[0], (typeof docs)[0]];
    expect(shards.metadata.name).toBe('opnp-sensitivity');
    expect(shards.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 4 });
    const container = shards.spec.template.spec.containers[0]!;
    expect(container.env).toContainEqual({ name: 'OPNP_SHARD_COUNT', value: '4' });
    expect(container.resources).toEqual({ requests: { cpu: '4', memory: '8Gi', 'nvidia.com/gpu': '1' }, limits: { cpu: '4', memory: '8Gi', 'nvidia.com/gpu': '1' } });
    expect(shards.spec.template.spec.volumes).toEqual([{ name: 'work', persistentVolumeClaim: { claimName: 'opnp-data' } }]);
    // `$` is doubled so that Kubernetes leaves the shell's $(...) alone.
    expect(container.command[2]).toContain("SHARD=$$(printf '%03d' $$((JOB_COMPLETION_INDEX + 1)))");
    expect(container.command[2]).toContain('--shard auto --state-out "state.shard-$${SHARD}-of-004.npy"');
    expect(merge.metadata.name).toBe('opnp-sensitivity-merge');
    expect(merge.spec.completionMode).toBeUndefined();
    expect(merge.spec.template.spec.initContainers![0]!.command[2]).toContain('until [ -f state.shard-001-of-004.npy ] && [ -f state.shard-001-of-004.npy.json ]');
    expect(merge.spec.template.spec.containers[0]!.command[2]).toBe('opnp sensitivity merge state.shard-001-of-004.npy state.shard-002-of-004.npy state.shard-003-of-004.npy state.shard-004-of-004.npy --out sens.npy --neuron-out neuron.npy --state-out state.npy');
  });

  it('eval: an Indexed Job of scoring shards and the merge Job that waits for every shard\'s scores and sidecar, valid Jobs', async () => {
    const run = await cli(['cluster', 'k8s', ...EVAL, '--shards', '3', '--merge']);
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as { spec: { template: { spec: { containers: { command: string[] }[]; initContainers?: { command: string[] }[] } } } });
    expect(docs).toHaveLength(2);
    for (const doc of docs) expect(validate(doc)).toEqual([]);
    expect(docs[0]!.spec.template.spec.containers[0]!.command[2]).toContain('--shard auto --scores-out report.scores.npy');
    expect(docs[1]!.spec.template.spec.initContainers![0]!.command[2]).toContain('[ -f report.scores.shard-003-of-003.npy ] && [ -f report.scores.shard-003-of-003.npy.json ]');
    expect(docs[1]!.spec.template.spec.containers[0]!.command[2]).toMatch(/^opnp eval merge .* --json report\.json --save results --format markdown$/);
  });

  it('without --merge: one Job; extract tasks name their own shard files', async () => {
    const run = await cli(['cluster', 'k8s', ...EXTRACT, '--shards', '2']);
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as Record<string, unknown>);
    expect(docs).toHaveLength(1);
    expect(validate(docs[0])).toEqual([]);
    expect(run.stdout).toContain('--shard auto"');
  });
});
