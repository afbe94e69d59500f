/**
 * {@link highBandProduct}'s WebAssembly SIMD kernel: sixteen rows at a time, the rows' features transposed into a
 * tile `[J x 16]` so each weight multiplies four `f32x4` vectors of sixteen rows (`acc += w * tile[j]`), float32
 * accumulation (as a dense GEMM). The module is assembled at first use by `internal/wasm-encoding.ts`, once per
 * thread; where WebAssembly or its SIMD is missing (or memory cannot grow), {@link highBandProductWasm} returns false
 * and the caller runs the JavaScript loop.
 */
import { I32, V128, op, type Code, type WasmFunction } from '../../internal/wasm-encoding.js';
import { ensureMemory, lazyWasmInstance } from '../../internal/wasm-instance.js';
import type { HighBandOutput, HighBandWeights } from './high-bands.js';

/** Rows per tile: four `f32x4` accumulators. */
const TILE_ROWS = 16;

// Parameters of `highBands16` (all i32; addresses in bytes).
const X = 0, TILES = 1, TILE_BYTES = 2, START = 3, COLUMNS = 4, WEIGHTS = 5, CLASSES = 6, BANDS = 7, OUT = 8, ROW_STRIDE = 9;
// Its i32 locals, then its v128 locals.
const T = 10, C = 11, K = 12, E = 13, END = 14, SLOT = 15, AT = 16;
const ACC = [17, 18, 19, 20] as const;
const WV = 21;

/** `acc[q] += wv * v128.load(p + 16 q)` for the four accumulators, `p` on the stack once per use. */
function accumulate(): Code[] {
  const p: Code[] = [op.get(X), op.get(COLUMNS), op.get(E), op.i32Add, op.i32Load, op.i32Add];
  return ACC.flatMap((acc, q) => [op.get(acc), op.get(WV), ...p, op.v128LoadAt(16 * q), op.f32x4Mul, op.f32x4Add, op.set(acc)]);
}

/** Stores the 16 row sums (lanes of the accumulators) at `AT`, `AT + rowStride`, ... */
function storeRows(): Code[] {
  return ACC.flatMap((acc) =>
    [0, 1, 2, 3].flatMap((lane) => [op.get(AT), op.get(acc), op.f32x4ExtractLane(lane), op.f32StoreAt(0), op.get(AT), op.get(ROW_STRIDE), op.i32Add, op.set(AT)]),
  );
}

/** The weights of one (class, band) slot: a possibly empty loop over entries `start[slot] .. start[slot + 1]`. */
function slotLoop(): Code[] {
  return [
    op.get(SLOT), op.i32Load, op.i32Const(2), op.i32Shl, op.set(E),
    op.get(SLOT), op.i32Const(4), op.i32Add, op.i32Load, op.i32Const(2), op.i32Shl, op.set(END),
    op.block,
    op.get(E), op.get(END), op.i32GeU, op.brIf(0),
    op.loop,
    op.get(WEIGHTS), op.get(E), op.i32Add, op.f32Load, op.f32x4Splat, op.set(WV),
    ...accumulate(),
    op.get(E), op.i32Const(4), op.i32Add, op.tee(E), op.get(END), op.i32LtU, op.brIf(0),
    op.end,
    op.end,
  ];
}

/** `out + t * 16 * rowStride + ((bands - 1 - k) * classes + c) * 4`: where slot `(c, k)` of tile `t` is stored. */
function slotAddress(): Code[] {
  return [
    op.get(OUT), op.get(T), op.get(ROW_STRIDE), op.i32Mul, op.i32Const(TILE_ROWS), op.i32Mul, op.i32Add,
    op.get(BANDS), op.i32Const(1), op.i32Sub, op.get(K), op.i32Sub, op.get(CLASSES), op.i32Mul, op.get(C), op.i32Add,
    op.i32Const(2), op.i32Shl, op.i32Add, op.set(AT),
  ];
}

/**
 * `highBands16(x, tiles, tileBytes, start, columns, weights, classes, bands, out, rowStride)`: for each tile `t` of
 * sixteen rows (`x + t * tileBytes`, column `j` of the tile at byte `64 j`), each class and each band from the
 * highest down, accumulates `weight[e] * tile[column[e]]` (`column` holds byte offsets `64 j`) and stores the sixteen
 * running sums after each band; `bands >= 1`, `classes >= 1`, `tiles >= 1`.
 */
function highBandsFunction(): WasmFunction {
  const zero = ACC.flatMap((acc) => [op.v128Zero, op.set(acc)]);
  const body: Code[] = [
    op.i32Const(0), op.set(T),
    op.loop, // tiles
    op.get(START), op.set(SLOT),
    op.i32Const(0), op.set(C),
    op.loop, // classes
    ...zero,
    op.i32Const(0), op.set(K),
    op.loop, // bands, highest first
    ...slotLoop(),
    ...slotAddress(),
    ...storeRows(),
    op.get(SLOT), op.i32Const(4), op.i32Add, op.set(SLOT),
    op.get(K), op.i32Const(1), op.i32Add, op.tee(K), op.get(BANDS), op.i32LtU, op.brIf(0),
    op.end,
    op.get(C), op.i32Const(1), op.i32Add, op.tee(C), op.get(CLASSES), op.i32LtU, op.brIf(0),
    op.end,
    op.get(X), op.get(TILE_BYTES), op.i32Add, op.set(X),
    op.get(T), op.i32Const(1), op.i32Add, op.tee(T), op.get(TILES), op.i32LtU, op.brIf(0),
    op.end,
  ];
  return { name: 'highBands16', params: 10, locals: [{ count: 7, type: I32 }, { count: 5, type: V128 }], body };
}

const instance = lazyWasmInstance(() => [highBandsFunction()]);

/** Rounds `bytes` up to a multiple of 16. */
const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * {@link highBandProduct} in WebAssembly SIMD (float32 sums); returns false, writing nothing, where the module
 * cannot run or its memory cannot hold the inputs.
 */
export function highBandProductWasm(weights: HighBandWeights, x: Float32Array, R: number, J: number, target: HighBandOutput): boolean {
  const wasm = instance();
  if (wasm === null) return false;
  const { classes, bands, start, column, weight } = weights;
  if (R === 0 || bands === 0 || classes === 0) return true;
  const tiles = Math.ceil(R / TILE_ROWS);
  const nnz = weight.length;
  const at = { weights: 0, columns: align16(4 * nnz), start: 0, x: 0, out: 0, end: 0 };
  at.start = at.columns + align16(4 * nnz);
  at.x = at.start + align16(4 * start.length);
  at.out = at.x + tiles * TILE_ROWS * J * 4;
  at.end = at.out + tiles * TILE_ROWS * bands * classes * 4;
  if (!ensureMemory(wasm.memory, at.end)) return false;
  const heap = new Float32Array(wasm.memory.buffer);
  const ints = new Int32Array(wasm.memory.buffer);
  heap.set(weight, at.weights / 4);
  for (let e = 0; e < nnz; e++) ints[at.columns / 4 + e] = column[e]! * 64;
  ints.set(start, at.start / 4);
  fillTiles(heap, at.x / 4, x, R, J, tiles);
  wasm.functions.highBands16!(at.x, tiles, TILE_ROWS * J * 4, at.start, at.columns, at.weights, classes, bands, at.out, bands * classes * 4);
  const perRow = bands * classes;
  const { out, offset, rowStride } = target;
  if (rowStride === perRow) out.set(heap.subarray(at.out / 4, at.out / 4 + R * perRow), offset);
  else for (let r = 0; r < R; r++) out.set(heap.subarray(at.out / 4 + r * perRow, at.out / 4 + (r + 1) * perRow), offset + r * rowStride);
  return true;
}

/** Columns per step of {@link fillTiles}: a `[16 x 64]` patch of rows is read and written within a few KiB. */
const PATCH_COLUMNS = 64;

/** Writes `x [R x J]` as `tiles` tiles `[J x 16]` (rows past `R` zero) at `heap[base ..]`, patch by patch for the cache. */
function fillTiles(heap: Float32Array, base: number, x: Float32Array, R: number, J: number, tiles: number): void {
  for (let t = 0; t < tiles; t++) {
    const tileBase = base + t * TILE_ROWS * J;
    const rows = Math.min(TILE_ROWS, R - t * TILE_ROWS);
    if (rows < TILE_ROWS) heap.fill(0, tileBase, tileBase + TILE_ROWS * J);
    for (let j0 = 0; j0 < J; j0 += PATCH_COLUMNS) {
      const j1 = Math.min(J, j0 + PATCH_COLUMNS);
      for (let i = 0; i < rows; i++) {
        const row = (t * TILE_ROWS + i) * J;
        for (let j = j0, at = tileBase + j0 * TILE_ROWS + i; j < j1; j++, at += TILE_ROWS) heap[at] = x[row + j]!;
      }
    }
  }
}
