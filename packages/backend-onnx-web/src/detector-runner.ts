/**
 * Running an exported detector (`opnp export`, {@link exportOnnxWebDetector}) in the page: `ood_score`, the
 * `is_ood` decision at the threshold inside the graph, and the classifier's logits, from one onnxruntime-web session.
 */
import { OpnpError, type InputBatch, type InputSpec, type Matrix, type RuntimeInfo } from '@opnp/core';
import { assertBatchMatchesInput, SerialQueue } from '@opnp/core/backend';
import { describeOnnxDetector, modelInputSpec, runSession, serializeOnnxModel, type DetectorDescription, type OrtOutputs, type OrtSession } from '@opnp/onnx-common';
import { loadOnnxWebModel, type WebModelSource } from './model-source.js';
import { createWebSession, webRuntime, type OnnxWebSessionOptions } from './session-options.js';

/** What a detector says about a batch of `N` inputs. */
export interface DetectorScores {
  /** `ood_score [N]`: the energy of the pruned head; higher = more in-distribution. */
  readonly oodScore: Float32Array;
  /** `is_ood [N]` (`ood_score < threshold`), when the detector has a threshold. */
  readonly isOod?: readonly boolean[];
  /** The classifier's logits `[N x C]`, when the detector outputs them. */
  readonly logits?: Matrix;
}

/** Options of {@link loadOnnxWebDetector}. */
export interface OnnxWebDetectorOptions {
  /** Execution providers and graph optimisation (default: WebGPU with an adapter, else wasm). */
  session?: OnnxWebSessionOptions;
}

/** Rows `[start, start + n)` of `data` (`per` values a row), zero-padded to `rows` rows. */
function paddedRows(data: Float32Array, per: number, start: number, n: number, rows: number): Float32Array {
  const out = new Float32Array(rows * per);
  out.set(data.subarray(start * per, (start + n) * per));
  return out;
}

/** An exported OOD detector on onnxruntime-web. Create it with {@link loadOnnxWebDetector}. */
export class OnnxWebDetector {
  /** The detector's input (the classifier's). */
  readonly input: InputSpec;
  /** Its outputs and threshold. */
  readonly description: DetectorDescription;
  /** The execution providers of its session. */
  readonly runtime: RuntimeInfo;
  private session: OrtSession | undefined;
  private readonly queue = new SerialQueue();
  private readonly file: string | undefined;

  /** @internal use {@link loadOnnxWebDetector} */
  constructor(input: InputSpec, description: DetectorDescription, session: OrtSession, runtime: RuntimeInfo, file?: string) {
    this.input = input;
    this.description = description;
    this.session = session;
    this.runtime = runtime;
    this.file = file;
  }

  /**
   * Scores a batch (`[N, ...input shape]`, preprocessed as for the classifier). A detector with a static batch
   * dimension runs in chunks of that size (the last one zero-padded).
   *
   * @throws OpnpError `SHAPE_MISMATCH` for a batch that does not fit, `BACKEND_FAILURE`, `DISPOSED` after dispose
   */
  async score(batch: InputBatch): Promise<DetectorScores> {
    this.alive();
    assertBatchMatchesInput(batch, this.input);
    return this.queue.run(async () => {
      const n = batch.shape[0]!;
      const rows = this.input.shape[0] ?? n;
      const per = batch.shape.slice(1).reduce((a, b) => a * b, 1);
      const parts: OrtOutputs[] = [];
      for (let start = 0; start < n; start += Math.max(rows, 1)) {
        const data = rows === n ? batch.data : paddedRows(batch.data, per, start, Math.min(rows, n - start), rows);
        const feeds = { [this.input.name]: new webRuntime.Tensor('float32', data, [rows, ...batch.shape.slice(1)]) };
        parts.push(await runSession(this.alive(), feeds, 'detector', { ...(this.file !== undefined ? { file: this.file } : {}), actual: `input [${rows}, ${batch.shape.slice(1).join(', ')}]` }, this.fetches()));
      }
      return this.collect(parts, n);
    });
  }

  /** Releases the session. Idempotent; later calls to `score` reject with `DISPOSED`. */
  async dispose(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    await this.queue.idle();
    await session.release();
  }

  private alive(): OrtSession {
    if (!this.session) throw new OpnpError('DISPOSED', 'This detector has been disposed', { hint: 'Load it again' });
    return this.session;
  }

  private fetches(): string[] {
    const { oodScore, isOod, logits } = this.description.outputs;
    return [oodScore, ...(isOod !== undefined ? [isOod] : []), ...(logits !== undefined ? [logits] : [])];
  }

  /** The first `n` rows of each output, over the chunks. */
  private collect(parts: readonly OrtOutputs[], n: number): DetectorScores {
    const { oodScore, isOod, logits } = this.description.outputs;
    const column = (name: string): ArrayLike<number | boolean>[] => parts.map((p) => p[name]!.data as ArrayLike<number | boolean>);
    const flat = (name: string, per: number): Float32Array => {
      const out = new Float32Array(n * per);
      let offset = 0;
      for (const values of column(name)) {
        const take = Math.min(values.length, out.length - offset);
        for (let i = 0; i < take; i++) out[offset + i] = Number(values[i]);
        offset += take;
      }
      return out;
    };
    const classes = logits !== undefined && n > 0 ? parts[0]![logits]!.dims.at(-1)! : 0;
    return {
      oodScore: flat(oodScore, 1),
      ...(isOod !== undefined ? { isOod: Array.from(flat(isOod, 1), (v) => v !== 0) } : {}),
      ...(logits !== undefined ? { logits: { rows: n, cols: classes, data: flat(logits, classes) } } : {}),
    };
  }
}

/**
 * Loads an exported detector (a `.onnx` with an `ood_score` output) on onnxruntime-web.
 *
 * @param source the detector's bytes (a picked file), a URL to fetch, or a parsed model
 * @throws OpnpError `IO_ERROR`, `MODEL_FORMAT` (not ONNX, or no `ood_score` output), `BACKEND_UNAVAILABLE`
 *
 * @example
 * ```ts
 * const detector = await loadOnnxWebDetector(new Uint8Array(await file.arrayBuffer()));
 * const { oodScore, isOod } = await detector.score({ data, shape: [1, 1, 28, 28] });
 * console.log(detector.description.threshold, oodScore[0], isOod?.[0]);
 * ```
 */
export async function loadOnnxWebDetector(source: WebModelSource, options: OnnxWebDetectorOptions = {}): Promise<OnnxWebDetector> {
  const model = await loadOnnxWebModel(source);
  const description = describeOnnxDetector(model);
  const input = modelInputSpec(model);
  const { session, info } = await createWebSession(source instanceof Uint8Array ? source : serializeOnnxModel(model), options.session ?? {}, model.file);
  return new OnnxWebDetector(input, description, session, info, model.file);
}
