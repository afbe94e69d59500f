/**
 * `opnp report` on every eval JSON `opnp eval` writes: one run, several seeds, several models (the tables and
 * report.html from the runs' own numbers, checked against the JSON here), and the errors for inputs without
 * results (an empty folder, a folder of other files, the printed table's JSON rows).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EvalReport, MultiRunReport } from '@opnp/pipeline';
import { cli, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

const RUN = ['--train', TRAIN, '--train-fraction', '0.05', '--test', TEST, '--ood', `fashion=${FASHION_VAL}`, '--ood', 'noise=noise:200#seed=3', ...NORMALISE, '--methods', 'msp,energy,opnp', '--val-noise', '100', '--batch-size', '250', '-q'];
const METRICS = ['fpr95', 'auroc', 'auprIn', 'auprOut'] as const;

let root: string;

async function evalJson(name: string, extra: string[]): Promise<string> {
  const file = join(root, `${name}.json`);
  const run = await cli(['eval', ...RUN, ...extra, '--json', file, '--format', 'csv']);
  expect(run.code, run.stderr).toBe(0);
  return file;
}

/** The tidy rows of one run by definition: per set in report order, then each method's mean over the sets. */
function tidyRows(run: string, r: EvalReport): { run: string; method: string; ood: string; metric: string; value: number }[] {
  const perSet = r.results.flatMap((row) => METRICS.map((metric) => ({ run, method: row.method, ood: row.ood, metric, value: row[metric] })));
  const averages = r.methods.flatMap((method) =>
    METRICS.map((metric) => {
      const values = r.results.filter((row) => row.method === method).map((row) => row[metric]);
      return { run, method, ood: 'Average', metric, value: values.reduce((a, b) => a + b, 0) / values.length };
    }),
  );
  return [...perSet, ...averages];
}

beforeAll(async () => {
  root = tempDir();
});

describe('opnp report on the eval JSON of several runs', () => {
  it.each([
    ['--seeds', ['--model', MODEL, '--seeds', '0,1']],
    ['several --model', ['--model', MODEL, '--model', 'COPY']],
  ])('%s: the mean ± std table, each run\'s table and the tidy table of every run', async (name, extra) => {
    // Another file of the same network: a copy would run once (identical contents), so one unknown protobuf field
    // (number 100, varint 1), which ONNX parsers skip, is appended.
    const copy = join(root, 'other.onnx');
    writeFileSync(copy, Buffer.concat([readFileSync(MODEL), Buffer.from([0xa0, 0x06, 0x01])]));
    const file = await evalJson(name.replace(/\W/g, ''), extra.map((a) => (a === 'COPY' ? copy : a)));
    const summary = JSON.parse(readFileSync(file, 'utf8')) as MultiRunReport;
    const out = join(root, `report-${name.replace(/\W/g, '')}`);
    const run = await cli(['report', file, '--out', out, '--recipe', 'cifar10']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/figures .* are drawn from the results folder of one run/);
    const tidy = JSON.parse(readFileSync(join(out, 'tables', 'results-tidy.json'), 'utf8')) as ReturnType<typeof tidyRows>;
    const expected = summary.runs.flatMap((r) => tidyRows(r.label, r.report));
    expect(tidy).toHaveLength(expected.length);
    for (const [i, row] of expected.entries()) {
      expect(tidy[i]).toMatchObject({ run: row.run, method: row.method, ood: row.ood, metric: row.metric });
      expect(tidy[i]!.value).toBeCloseTo(row.value, 14);
    }
    const opnp = summary.results.find((r) => r.method === 'opnp' && r.ood === 'fashion')!;
    const cell = `${(opnp.fpr95.mean * 100).toFixed(2)} ± ${(opnp.fpr95.std * 100).toFixed(2)}`;
    expect(readFileSync(join(out, 'tables', 'results.md'), 'utf8')).toMatch(new RegExp(`^\\| opnp \\| ${cell.replace(/[.]/g, '\\.')} \\|`, 'm'));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain(`data-method="opnp" data-ood="fashion" data-metric="fpr95"`);
    expect(html).toContain(cell);
    for (const [i, r] of summary.runs.entries()) expect(html).toContain(`<h2>Run ${i + 1}: ${r.label}</h2>`);
    // The paper comparison shows our means (percent, two decimals).
    expect(html).toMatch(new RegExp(`data-method="opnp"[^>]*data-metric="fpr95" data-source="ours">${(opnp.fpr95.mean * 100).toFixed(2)}<`));
  });

  it('one run\'s eval JSON still gives its table', async () => {
    const file = await evalJson('single', ['--model', MODEL]);
    const report = JSON.parse(readFileSync(file, 'utf8')) as EvalReport;
    const out = join(root, 'report-single');
    const run = await cli(['report', file, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const tidy = JSON.parse(readFileSync(join(out, 'tables', 'results-tidy.json'), 'utf8')) as { value: number }[];
    const expected = tidyRows('', report);
    expect(tidy).toHaveLength(expected.length);
    for (const [i, row] of expected.entries()) expect(tidy[i]!.value).toBeCloseTo(row.value, 14);
  });
});

describe('opnp report on inputs without results', () => {
  it('an empty folder: named, and what was expected', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const run = await cli(['report', empty, '--out', join(root, 'x')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`opnp: ${empty} is empty: it holds no results`);
    expect(run.stderr).toMatch(/expected a results folder \(manifest\.json, report\.json, \.\.\.: opnp eval --save; the library: writeResultsDir\) or an eval JSON report \(opnp eval --json/);
  });

  it('a folder of other files: what it holds, and an eval JSON in it pointed at', async () => {
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'x');
    const run = await cli(['report', other, '--out', join(root, 'x')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`opnp: ${other} holds no results: no manifest.json among its 1 entry (notes.txt)`);
    copyFileSync(join(root, 'single.json'), join(other, 'results.json'));
    const again = await cli(['report', other, '--out', join(root, 'x')]);
    expect(again.stderr).toContain(`among its 2 entries (notes.txt, results.json)`);
    expect(again.stderr).toContain(`give the file itself, e.g. ${join(other, 'results.json')}`);
  });

  it('a compressed or binary file: said so, without its bytes', async () => {
    const gz = join(root, 'f.gz');
    copyFileSync(TRAIN.replace(/^idx:/, ''), gz);
    const run = await cli(['report', gz, '--out', join(root, 'x')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`opnp: ${gz} is not valid JSON: it is not text (a binary or compressed file)`);
    expect(run.stderr).not.toContain('\ufffd');
  });

  it('the printed table as JSON rows is told from a report', async () => {
    const rows = join(root, 'rows.json');
    const printed = await cli(['eval', ...RUN, '--model', MODEL, '--format', 'json']);
    writeFileSync(rows, printed.stdout);
    const run = await cli(['report', rows, '--out', join(root, 'x')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`opnp: ${rows} holds table rows (the printed table as JSON), not an eval report`);
  });
});
