/**
 * The conformance suite on core's own linear extractor: plain, and with the optional capabilities (an exact ReLU `inputGradient`, a toy
 * `exportDetector` writing JSON, run back by a float64 JavaScript evaluator), so the capability checks are
 * exercised without any backend.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { RunnerTestFile, RunnerTestSuite } from 'vitest';
import { OpnpError, linearHead, type DetectorExportOptions, type DetectorExportResult, type DetectorPreprocessing, type FeatureExtractor } from '@opnp/core';
import { resolveDetectorExportOptions } from '@opnp/core/backend';
import { describeFeatureExtractorConformance, type DetectorRunner } from '@opnp/core/testing';
import { createLinearFeatureExtractor } from '../src/extractors/linear-extractor.js';
import { linearReluInputGradient, randomMatrix, rng } from './helpers.js';

const I = 6;
const D = 5;
const C = 4;
const input = { name: 'x', shape: [null, I], layout: 'flat' } as const;
const projection = randomMatrix(D, I, rng(11));
const head = linearHead(randomMatrix(C, D, rng(12)), [0.25, -0.5, 0, 1]);
const makeBatch = (n: number) => {
  const data = new Float32Array(n * I);
  for (let i = 0; i < n; i++) data.set(randomMatrix(1, I, rng(100 + i)).data, i * I);
  return { data, shape: [n, I] };
};

interface JsonDetector {
  projection: number[];
  weight: number[];
  bias: number[];
  clip: number | null;
  T: number;
  threshold: number | null;
  preprocessing?: DetectorPreprocessing;
}

/** The linear extractor plus `runtime`, an exact `inputGradient` and an `exportDetector` that writes the pruned head as JSON. */
function withCapabilities(): FeatureExtractor {
  const base = createLinearFeatureExtractor({ projection, head, input });
  let disposed = false;
  return {
    ...base,
    extract: (batch) => base.extract(batch),
    runtime: { executionProviders: ['js'], threads: 1 },
    inputGradient: async (batch, w) => linearReluInputGradient(projection, head.weight, batch.data, w),
    async exportDetector(options: DetectorExportOptions): Promise<DetectorExportResult> {
      if (disposed) throw new OpnpError('DISPOSED', 'disposed');
      const r = resolveDetectorExportOptions(head, options);
      const json: JsonDetector = { projection: Array.from(projection.data), weight: Array.from(r.prunedWeight.data), bias: Array.from(r.bias), clip: r.reactClip ?? null, T: r.temperature, threshold: r.threshold ?? null, ...(r.preprocessing ? { preprocessing: r.preprocessing } : {}) };
      writeFileSync(r.outputPath, JSON.stringify(json));
      const outputs = { logits: 'logits', oodScore: 'ood_score', ...(r.threshold !== undefined ? { isOod: 'is_ood' } : {}) };
      return {
        format: 'json',
        path: r.outputPath,
        files: [r.outputPath],
        input,
        outputs: { ...outputs, all: Object.values(outputs) },
        temperature: r.temperature,
        ...(r.reactClip !== undefined ? { reactClip: r.reactClip } : {}),
        ...(r.threshold !== undefined ? { threshold: r.threshold } : {}),
        ...(r.preprocessing !== undefined ? { preprocessing: r.preprocessing } : {}),
      };
    },
    async dispose() {
      disposed = true;
      await base.dispose();
    },
  };
}

/** Evaluates a JSON detector in float64. */
const detector: DetectorRunner = {
  run: async (result, batch) => {
    const j = JSON.parse(readFileSync(result.path, 'utf8')) as JsonDetector;
    const n = batch.shape[0]!;
    const logits: number[] = [];
    const score: number[] = [];
    const isOod: boolean[] = [];
    const dot = (w: number[], row: number, x: ArrayLike<number>, len: number) => Array.from({ length: len }, (_, k) => w[row * len + k]! * x[k]!).reduce((a, b) => a + b, 0);
    for (let i = 0; i < n; i++) {
      const h = Array.from({ length: D }, (_, d) => Math.max(0, dot(j.projection, d, batch.data.subarray(i * I, (i + 1) * I), I)));
      const clipped = h.map((v) => (j.clip === null ? v : Math.min(v, Math.fround(j.clip))));
      for (let c = 0; c < C; c++) logits.push(dot(Array.from(head.weight.data), c, h, D) + head.bias[c]!);
      const z = Array.from({ length: C }, (_, c) => (dot(j.weight, c, clipped, D) + j.bias[c]!) / j.T);
      const m = Math.max(...z);
      const s = j.T * (m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)));
      score.push(s);
      if (j.threshold !== null) isOod.push(s < j.threshold);
    }
    return { logits, ood_score: score, ...(j.threshold !== null ? { is_ood: isOod } : {}) };
  },
  outputPath: (dir) => `${dir}/detector.json`,
  readPreprocessing: async (result) => (JSON.parse(readFileSync(result.path, 'utf8')) as JsonDetector).preprocessing,
};

describe('conformance: linear extractor (no optional capabilities)', () => {
  let suite: Readonly<RunnerTestSuite | RunnerTestFile> | undefined;
  // vitest passes the suite second; its first argument must be a destructuring pattern.
  // eslint-disable-next-line no-empty-pattern
  beforeAll(({}, s) => {
    suite = s;
  });
  describeFeatureExtractorConformance('suite', {
    create: async () => createLinearFeatureExtractor({ projection, head, input }),
    makeBatch,
  });
  // Runs after the suite's tests: the capabilities the extractor lacks are reported as skipped, with the reason.
  afterAll(() => {
    const tests = (suite!.tasks[0] as RunnerTestSuite).tasks;
    const state = (fragment: string) => {
      const test = tests.find((t) => t.name.includes(fragment));
      const result = test?.result as { state?: string; note?: string } | undefined; // `note` (the skip reason) is not in TaskResult's type
      return { state: result?.state, note: result?.note };
    };
    expect(state('(optional runtime)')).toEqual({ state: 'skip', note: 'the extractor has no runtime (optional)' });
    expect(state('(optional exportDetector)')).toEqual({ state: 'skip', note: 'the extractor has no exportDetector (optional)' });
    expect(state('(optional inputGradient)')).toEqual({ state: 'skip', note: 'the extractor has no inputGradient (optional)' });
    expect(state('implements the FeatureExtractor v1 members').state).toBe('pass');
    expect(state('returns logits equal to W h + b').state).toBe('pass');
  });
});

describeFeatureExtractorConformance('conformance: linear extractor with runtime, inputGradient and a JSON exportDetector', {
  create: async () => withCapabilities(),
  makeBatch,
  detector,
});
