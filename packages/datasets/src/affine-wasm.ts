/**
 * Normalising 8-bit pixels in WebAssembly: `out = float32(v * a + b)` over a strided 2-D block of bytes, the
 * expression {@link writeSample} evaluates in JavaScript, 2 to 5 times as fast as the JavaScript loops (V8 spends
 * 3-10 ns per value on them on the benchmark machine, this kernel 1.5-2 ns with both copies included).
 *
 * The result is the same bit for bit by construction: WebAssembly's `f64.convert_i32_u`, `f64.mul`, `f64.add`
 * and `f32.demote_f64` are IEEE-754 operations rounding to nearest-even, exactly JavaScript's `v * a + b` on
 * numbers followed by the rounding of a `Float32Array` store (WebAssembly never fuses the multiply-add). Only NaN
 * payloads are left to the engine, so callers use it with finite `a` and `b` only (no NaN can arise then).
 *
 * The module is assembled at first use from the instructions below (`@opnp/core/backend`'s WebAssembly encoder), once per thread; where
 * WebAssembly is missing or refused (a strict Content-Security-Policy), or the memory cannot grow, `write`
 * returns false and callers keep their JavaScript loop.
 *
 * Kernel `affine(src, srcRow, srcStep, out, outRow, outStep, rows, cols, coefficients)` (byte offsets and
 * strides in the module's memory; rows, cols >= 1): for y < rows, x < cols,
 * `f32[out + y*outRow + x*outStep] = f32(f64(u8[src + y*srcRow + x*srcStep]) * a + b)`, with `a` and `b` the two
 * float64 at byte `coefficients`.
 */
import { ensureMemory, F64, I32, lazyWasmInstance, op, type Code, type WasmFunction, type WasmInstance } from '@opnp/core/backend';

/** One pass of the kernel: `rows x cols` values, offsets and strides in bytes of the source, in values of the output. */
export interface AffinePass {
  readonly srcStart: number;
  readonly srcRowStride: number;
  readonly srcStep: number;
  readonly outStart: number;
  readonly outRowStride: number;
  readonly outStep: number;
  readonly rows: number;
  readonly cols: number;
  readonly a: number;
  readonly b: number;
}

const { get, set, i32Const } = op;
const increment = (local: number, by: Code): Code[] => [get(local), by, op.i32Add, set(local)];
/** `local += 1`, then loops while `local < limit` (do-while). */
const countUp = (local: number, limit: number): Code[] => [...increment(local, i32Const(1)), get(local), get(limit), op.i32LtS, op.brIf(0)];

/** `affine` (see the module comment). */
function affineKernel(): WasmFunction {
  const [src, srcRow, srcStep, out, outRow, outStep, rows, cols, coefficients] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [y, x, p, o, a, b] = [9, 10, 11, 12, 13, 14];
  const value: Code[] = [get(o), get(p), op.i32Load8U, op.f64ConvertI32U, get(a), op.f64Mul, get(b), op.f64Add, op.f32DemoteF64, op.f32Store];
  const row: Code[] = [
    get(src), get(y), get(srcRow), op.i32Mul, op.i32Add, set(p),
    get(out), get(y), get(outRow), op.i32Mul, op.i32Add, set(o),
    i32Const(0), set(x),
    op.loop, ...value, ...increment(p, get(srcStep)), ...increment(o, get(outStep)), ...countUp(x, cols), op.end,
  ];
  const body: Code[] = [
    get(coefficients), op.f64Load, set(a),
    get(coefficients), i32Const(8), op.i32Add, op.f64Load, set(b),
    i32Const(0), set(y),
    op.loop, ...row, ...countUp(y, rows), op.end,
  ];
  return { name: 'affine', params: 9, locals: [{ count: 4, type: I32 }, { count: 2, type: F64 }], body };
}

/** The kernel of this thread (instantiated at first use), null where WebAssembly is missing. */
const loadKernel = lazyWasmInstance(() => [affineKernel()]);

/** True when the WebAssembly kernel runs here. */
export function affineKernelAvailable(): boolean {
  return loadKernel() !== null;
}

/** Views of the memory, made again after it grows (growing detaches the old buffer). */
let views: { buffer: ArrayBuffer; bytes: Uint8Array; floats: Float32Array; doubles: Float64Array } | undefined;

function viewsOf(k: WasmInstance): NonNullable<typeof views> {
  const buffer = k.memory.buffer;
  if (views?.buffer !== buffer) views = { buffer, bytes: new Uint8Array(buffer), floats: new Float32Array(buffer), doubles: new Float64Array(buffer) };
  return views;
}

/**
 * Copies the image's bytes `src` into the module's memory, runs `passes` into an output block of `outLength`
 * float32 values and copies that block to `out` at `outOffset`. Returns false, writing nothing, where the kernel
 * does not run (no WebAssembly, or the memory cannot grow to the image).
 */
export function writeAffine(src: Uint8Array | Uint8ClampedArray, passes: readonly AffinePass[], outLength: number, out: Float32Array, outOffset: number): boolean {
  const k = loadKernel();
  if (!k) return false;
  const coefficients = 0; // 16 bytes: a, b of the running pass
  const srcAt = 16;
  const outAt = srcAt + Math.ceil(src.length / 8) * 8;
  if (!ensureMemory(k.memory, outAt + 4 * outLength)) return false;
  const { bytes, floats, doubles } = viewsOf(k);
  bytes.set(src, srcAt);
  for (const p of passes) {
    doubles[0] = p.a;
    doubles[1] = p.b;
    k.functions.affine!(srcAt + p.srcStart, p.srcRowStride, p.srcStep, outAt + 4 * p.outStart, 4 * p.outRowStride, 4 * p.outStep, p.rows, p.cols, coefficients);
  }
  out.set(floats.subarray(outAt / 4, outAt / 4 + outLength), outOffset);
  return true;
}
