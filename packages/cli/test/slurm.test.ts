/**
 * On a real Slurm: `opnp cluster slurm` job arrays of `opnp sensitivity --shard auto` (through the printed
 * `--merge` script, run with bash) and of `opnp extract --shard auto` (through `--submit`), each with its
 * dependent merge job; the merged sensitivity equals an unsharded run to 1e-6 relative and the merged
 * features are the unsharded run's bytes. Then a 3-task array of `opnp eval --shard auto` reading those
 * shard files directly (feature shards, sensitivity shard states) and its `opnp eval merge` job: the report
 * equals an eval of the merged files.
 *
 * Needs a Slurm cluster: an existing one (`sinfo` answers), or, as root with the packages installed
 * (`slurmctld`, `slurmd`, `munge`; see .ci/run), the one-node cluster of tools/slurm/start-local-slurm.sh,
 * which this test starts and stops again. Otherwise it is skipped with the reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNpy } from '@opnp/datasets/node';
import { OPNP_BIN } from './built-cli.js';
import { cli, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const START = join(ROOT, 'tools/slurm/start-local-slurm.sh');
const STOP = join(ROOT, 'tools/slurm/stop-local-slurm.sh');
/** How the jobs run opnp: the built executable (see global-setup.ts). */
const OPNP = `${process.execPath} ${OPNP_BIN}`;

function run(command: string, args: string[], timeout = 30_000): { ok: boolean; out: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const clusterUp = () => run('scontrol', ['ping']).out.includes('is UP') && /idle|mix|alloc/.test(run('sinfo', ['-h', '-o', '%t']).out);

/** Whether a cluster is up, starting the local one when it can; `started` when this test must stop it. */
function ensureSlurm(): { ready: boolean; started: boolean; reason: string } {
  if (run('sh', ['-c', 'command -v sinfo']).ok && clusterUp()) return { ready: true, started: false, reason: '' };
  if (process.getuid?.() !== 0) return { ready: false, started: false, reason: 'no Slurm cluster answers and this is not root (run tools/slurm/start-local-slurm.sh as root first)' };
  if (!['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged'].every((p) => existsSync(p))) return { ready: false, started: false, reason: 'Slurm is not installed (apt-get install munge slurmctld slurmd slurm-client)' };
  const started = spawnSync('bash', [START], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, LOCAL_SLURM_NO_INSTALL: '1' } });
  const out = `${started.stdout ?? ''}${started.stderr ?? ''}`;
  if (started.status !== 0 || !clusterUp()) return { ready: false, started: true, reason: `tools/slurm/start-local-slurm.sh failed: ${out.trim().split('\n').slice(-3).join(' | ')}` };
  return { ready: true, started: true, reason: '' };
}

const slurm = ensureSlurm();
afterAll(() => {
  if (slurm.started) run('bash', [STOP], 60_000);
});

/** Waits until the jobs have left the queue; their final states from scontrol (kept MinJobAge seconds). */
async function waitForJobs(ids: string[], timeoutMs: number): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const queued = run('squeue', ['-h', '-o', '%i', '-j', ids.join(',')]).out.trim();
    if (queued === '' || queued.includes('Invalid job id')) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const states: Record<string, string> = {};
  for (const id of ids) {
    const text = run('scontrol', ['show', 'job', '-o', id]).out;
    states[id] = [...text.matchAll(/JobState=(\S+)/g)].map((m) => m[1]).join(',') || 'UNKNOWN';
  }
  return states;
}

function logs(dir: string): string {
  if (!existsSync(dir)) return '(no logs)';
  return readdirSync(dir).map((f) => `== ${f}\n${readFileSync(join(dir, f), 'utf8').split('\n').slice(-6).join('\n')}`).join('\n');
}

const ids = (stdout: string) => ({ array: /^array (\d+)$/m.exec(stdout)?.[1] ?? '', merge: /^merge (\d+)$/m.exec(stdout)?.[1] ?? '' });

describe.skipIf(!slurm.ready)('on a real Slurm cluster', () => {
  it('4-task arrays of sensitivity and extract --shard auto plus their merge jobs equal unsharded runs; an eval array over the shards equals an eval of the merged files', { timeout: 600_000 }, async () => {
    const dir = tempDir();
    const logDir = join(dir, 'logs');
    mkdirSync(logDir);
    const cluster = ['--shards', '4', '--merge', '--opnp', OPNP, '--log-dir', logDir, '--chdir', ROOT, '--cpus', '1', '--time', '00:10:00'];
    const sensitivity = ['sensitivity', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.1', ...NORMALISE, '--batch-size', '50'];
    const extract = ['extract', '--model', MODEL, '--data', FASHION_VAL, ...NORMALISE, '--batch-size', '50'];
    // Sensitivity through the printed script (bash runs its two sbatch calls); extract through --submit.
    const printed = await cli(['cluster', 'slurm', ...sensitivity, '--out', join(dir, 'sens.npy'), '--state-out', join(dir, 'state.npy'), ...cluster]);
    expect(printed.code, printed.stderr).toBe(0);
    writeFileSync(join(dir, 'submit.sh'), printed.stdout);
    const sensJobs = ids(execFileSync('bash', [join(dir, 'submit.sh')], { encoding: 'utf8' }));
    const submitted = await cli(['cluster', 'slurm', ...extract, '--out', join(dir, 'f.npy'), '--logits-out', join(dir, 'l.npy'), '--indices-out', join(dir, 'i.npy'), ...cluster, '--submit']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const extractJobs = ids(submitted.stdout);
    for (const id of [sensJobs.array, sensJobs.merge, extractJobs.array, extractJobs.merge]) expect(id).toMatch(/^\d+$/);

    // Meanwhile, the unsharded references, in-process.
    const ref = tempDir();
    expect((await cli([...sensitivity, '--out', join(ref, 'sens.npy'), '-q'])).code).toBe(0);
    expect((await cli([...extract, '--out', join(ref, 'f.npy'), '--logits-out', join(ref, 'l.npy'), '--indices-out', join(ref, 'i.npy'), '-q'])).code).toBe(0);

    const states = await waitForJobs([sensJobs.array, sensJobs.merge, extractJobs.array, extractJobs.merge], 480_000);
    for (const [id, state] of Object.entries(states)) expect(state.split(',').every((s) => s === 'COMPLETED'), `job ${id}: ${state}\n${logs(logDir)}`).toBe(true);
    expect(readdirSync(logDir).filter((f) => /^opnp-(sensitivity|extract)-\d+_\d\.log$/.test(f))).toHaveLength(8);

    const merged = await loadNpy(join(dir, 'sens.npy'));
    const expected = await loadNpy(join(ref, 'sens.npy'));
    expect(merged.shape).toEqual(expected.shape);
    let worst = 0;
    for (let i = 0; i < expected.data.length; i++) worst = Math.max(worst, Math.abs(merged.data[i]! - expected.data[i]!) / Math.max(Math.abs(expected.data[i]!), 1e-30));
    expect(worst).toBeLessThan(1e-6);
    for (const name of ['f.npy', 'l.npy', 'i.npy']) expect(readFileSync(join(dir, name)), name).toEqual(readFileSync(join(ref, name)));
    const sidecar = (d: string) => readFileSync(join(d, 'f.npy.json'), 'utf8').split(d).join('<dir>');
    expect(sidecar(dir)).toBe(sidecar(ref));

    // The recipe's last step: an eval array that reads the shards directly (the merged files are moved away)
    // and its merge job, against an eval of the merged files in this process.
    for (const name of ['state.npy', 'state.npy.json', 'f.npy', 'f.npy.json', 'l.npy']) renameSync(join(dir, name), join(dir, name.replace('.npy', '.merged.npy')));
    const evaluation = (state: string, features: string, logits: string) => [
      'eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.1', '--test', TEST, ...NORMALISE, '--ood', `fashion=features:${features}#logits=${logits}`,
      '--methods', 'msp,energy,opnp', '--val-noise', '100', '--sensitivity-state', state, '--batch-size', '100',
    ];
    const evalSubmitted = await cli(['cluster', 'slurm', ...evaluation(join(dir, 'state.npy'), join(dir, 'f.npy'), join(dir, 'l.npy')), '--json', join(dir, 'report.json'), ...cluster, '--shards', '3', '--submit']);
    expect(evalSubmitted.code, evalSubmitted.stderr).toBe(0);
    const evalJobs = ids(evalSubmitted.stdout);
    const reference = await cli([...evaluation(join(dir, 'state.merged.npy'), join(dir, 'f.merged.npy'), join(dir, 'l.merged.npy')), '--json', '-', '-q']);
    expect(reference.code, reference.stderr).toBe(0);
    const evalStates = await waitForJobs([evalJobs.array, evalJobs.merge], 300_000);
    for (const [id, state] of Object.entries(evalStates)) expect(state.split(',').every((st) => st === 'COMPLETED'), `job ${id}: ${state}\n${logs(logDir)}`).toBe(true);
    expect(readFileSync(join(dir, 'report.json'), 'utf8')).toBe(reference.stdout);
    expect(readdirSync(logDir).filter((f) => /^opnp-eval-\d+_\d\.log$/.test(f))).toHaveLength(3);
  });
});

if (!slurm.ready) it.skip(`on a real Slurm cluster: skipped, ${slurm.reason}`, () => undefined);
