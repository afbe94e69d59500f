/**
 * `opnp cluster slurm|k8s`: the generated sbatch scripts (array of --shard auto tasks with per-task logs and
 * per-shard state files, the dependent merge job), `--submit` through a stand-in sbatch, and the Kubernetes
 * Indexed Job manifests, parsed as YAML and validated against a trimmed batch/v1 Job schema.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cli, tempDir } from './helpers.js';

const SENSITIVITY = ['sensitivity', '--model', 'm.onnx', '--train', 'idx:./train images', '--mean', '0.1307', '--std', '0.3081', '--out', 'sens.npy', '--neuron-out', 'neuron.npy', '--state-out', 'state.npy'];
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
    const run = await cli(['cluster', 'slurm', ...SENSITIVITY, '--shards', '2', '--merge', '--submit', '--sbatch', fake, '--log-dir', join(dir, 'logs')]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('array 41\nmerge 42\n');
    expect(readFileSync(join(dir, 'call-0.args'), 'utf8').trim()).toBe('--parsable');
    expect(readFileSync(join(dir, 'call-1.args'), 'utf8').trim()).toBe('--parsable --dependency=afterok:41');
    expect(directives(readFileSync(join(dir, 'call-0.sh'), 'utf8')).array).toBe('0-1');
    expect(readFileSync(join(dir, 'call-1.sh'), 'utf8')).toContain('opnp sensitivity merge state.shard-001-of-002.npy state.shard-002-of-002.npy --out sens.npy --neuron-out neuron.npy --state-out state.npy');
  });

  it('refuses commands it cannot shard and --restart', async () => {
    const evalRun = await cli(['cluster', 'slurm', 'eval', '--model', 'm.onnx', '--shards', '2']);
    expect(evalRun.code).toBe(2);
    expect(evalRun.stderr).toMatch(/cannot shard "eval"/);
    const restart = await cli(['cluster', 'slurm', ...EXTRACT, '--restart', '--shards', '2']);
    expect(restart.stderr).toMatch(/--restart in an array job/);
    expect((await cli(['cluster', 'slurm', ...EXTRACT])).stderr).toMatch(/--shards/);
  });
});

type Schema = { type?: string | string[]; enum?: unknown[]; pattern?: string; minimum?: number; minItems?: number; required?: string[]; properties?: Record<string, Schema>; additionalProperties?: boolean | Schema; items?: Schema; $ref?: string; definitions?: Record<string, Schema> };

/** A small JSON-schema validator (the keywords the trimmed schema uses); returns the errors as `path: message`. */
function validate(value: unknown, schema: Schema, root: Schema, path = '$'): string[] {
  if (schema.$ref) return validate(value, root.definitions![schema.$ref.replace('#/definitions/', '')]!, root, path);
  const errors: string[] = [];
  const typeOf = (v: unknown) => (Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : v === null ? 'null' : typeof v);
  const types = schema.type === undefined ? undefined : [schema.type].flat();
  if (types && !types.includes(typeOf(value)) && !(types.includes('number') && typeof value === 'number')) return [`${path}: expected ${types.join('|')}, got ${typeOf(value)}`];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: "${value}" does not match ${schema.pattern}`);
  if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum) errors.push(`${path}: ${value} < ${schema.minimum}`);
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => errors.push(...validate(v, schema.items!, root, `${path}[${i}]`)));
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) errors.push(`${path}: missing ${key}`);
    for (const [key, v] of Object.entries(record)) {
      const sub = schema.properties?.[key];
      if (sub) errors.push(...validate(v, sub, root, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unknown field ${key}`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...validate(v, schema.additionalProperties, root, `${path}.${key}`));
    }
  }
  return errors;
}

const SCHEMA = JSON.parse(readFileSync(new URL('./fixtures/k8s-job-batch-v1.schema.json', import.meta.url), 'utf8')) as Schema;

describe('opnp cluster k8s', () => {
  it('the validator catches what the schema forbids', () => {
    const bad = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'Bad_Name' }, spec: { completionMode: 'indexed', completions: -1, template: { spec: { containers: [], restartPolicy: 'Sometimes', volumes: [{ name: 'w', persistentVolumeClaim: {} }] } }, paralelism: 2 } };
    const errors = validate(bad, SCHEMA, SCHEMA).join('\n');
    for (const e of ['metadata.name', 'completionMode', 'completions: -1', 'unknown field paralelism', 'containers: fewer than 1', 'restartPolicy', 'missing claimName']) expect(errors).toContain(e);
  });

  it('prints an Indexed Job of --shard auto tasks on a shared volume and the merge Job, valid batch/v1 Jobs', async () => {
    const run = await cli(['cluster', 'k8s', ...SENSITIVITY, '--shards', '4', '--image', 'registry.example/opnp:1', '--pvc', 'opnp-data', '--cpus', '4', '--mem', '8G', '--gpus', '1', '--merge']);
    expect(run.code).toBe(0);
    const docs = parseAllDocuments(run.stdout).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as { metadata: { name: string }; spec: Record<string, unknown> & { template: { spec: { containers: { command: string[]; env?: { name: string; value: string }[]; resources: unknown; volumeMounts: unknown[] }[]; initContainers?: { command: string[] }[]; volumes: unknown[] } } } };
    });
    expect(docs).toHaveLength(2);
    for (const doc of docs) expect(validate(doc, SCHEMA, SCHEMA)).toEqual([]);
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

  it('without --merge: one Job; extract tasks name their own shard files', async () => {
    const run = await cli(['cluster', 'k8s', ...EXTRACT, '--shards', '2']);
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as Record<string, unknown>);
    expect(docs).toHaveLength(1);
    expect(validate(docs[0], SCHEMA, SCHEMA)).toEqual([]);
    expect(run.stdout).toContain('--shard auto"');
  });
});
