/**
 * Just enough of the WebAssembly binary format to write a small module by hand: LEB128 numbers, the
 * instructions the grid search's sparse product (`opnp/grid/high-bands-wasm.ts`) and `@opnp/datasets`' Pillow SIMD
 * kernels (`pillow-simd.ts`) and normalisation kernel (`affine-wasm.ts`) use, and the module's sections (types, functions, one memory, exports, code). No toolchain and no dependency: the
 * module is assembled from these bytes at run time.
 * Opcodes are the WebAssembly 2.0 core and fixed-width SIMD ones (spec section 5.4).
 */

/** Bytes of an instruction sequence. */
export type Code = readonly number[];

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v !== 0 ? byte | 0x80 : byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A SIMD instruction: the `0xfd` prefix, its opcode, then its immediates. */
const simd = (opcode: number, ...immediates: number[]): Code => [0xfd, ...uleb(opcode), ...immediates];

/** `memarg` of a load or store: alignment (log2 of bytes) and a constant byte offset (0 unless given). */
const memarg = (alignLog2: number, offset = 0) => [alignLog2, ...uleb(offset)];

/** The instructions used, by their text-format names. */
export const op = {
  loop: [0x03, 0x40] as Code,
  block: [0x02, 0x40] as Code,
  br: (label: number): Code => [0x0c, label],
  end: [0x0b] as Code,
  brIf: (label: number): Code => [0x0d, label],
  get: (local: number): Code => [0x20, local],
  set: (local: number): Code => [0x21, local],
  tee: (local: number): Code => [0x22, local],
  i32Const: (value: number): Code => [0x41, ...sleb(value)],
  i32Load: [0x28, ...memarg(2)] as Code,
  i32Load8U: [0x2d, ...memarg(0)] as Code,
  f64Load: [0x2b, ...memarg(3)] as Code,
  /** Picks the first of two `i32`s when the third (an `i32`) is nonzero, else the second. */
  select: [0x1b] as Code,
  /** An `f32` constant (little-endian IEEE bytes). */
  f32Const: (value: number): Code => [0x43, ...new Uint8Array(Float32Array.of(value).buffer)],
  i32LeU: [0x4d] as Code,
  f32Store: [0x38, ...memarg(2)] as Code,
  f64ConvertI32U: [0xb8] as Code,
  f64Mul: [0xa2] as Code,
  f64Add: [0xa0] as Code,
  f32DemoteF64: [0xb6] as Code,
  i32Add: [0x6a] as Code,
  i32Sub: [0x6b] as Code,
  i32Mul: [0x6c] as Code,
  i32LtS: [0x48] as Code,
  i32LtU: [0x49] as Code,
  i32GeU: [0x4f] as Code,
  i32Shl: [0x74] as Code,
  f32Load: [0x2a, ...memarg(2)] as Code,
  /** `f32.store` at the address on the stack plus `offset` bytes. */
  f32StoreAt: (offset: number): Code => [0x38, ...memarg(2, offset)],
  v128Load: simd(0x00, ...memarg(0)),
  /** 8 bytes, each zero-extended to a 16-bit lane. */
  v128Load8x8U: simd(0x02, ...memarg(0)),
  v128Store: simd(0x0b, ...memarg(0)),
  /** `v128.load` at the address on the stack plus `offset` bytes. */
  v128LoadAt: (offset: number): Code => simd(0x00, ...memarg(0, offset)),
  /** A v128 of zeros. */
  v128Zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  f32x4Splat: simd(0x13),
  f32x4ExtractLane: (lane: number): Code => simd(0x1f, lane),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  /** Lane-wise pseudo-maximum `a < b ? b : a` (one instruction; a NaN in `b` is skipped, one in `a` kept). */
  f32x4PMax: simd(0xeb),
  /** Lane-wise `a < b` as all-ones or all-zeros lanes (false where either is NaN). */
  f32x4Lt: simd(0x43),
  /** `a & ~b`. */
  v128AndNot: simd(0x4f),
  /** Shifts each `i32` lane left by an `i32` count. */
  i32x4Shl: simd(0xab),
  i32x4Splat: simd(0x11),
  /** The 4 bytes of lane 0 of an i8x16 stored. */
  v128Store32Lane0: simd(0x5a, ...memarg(0), 0),
  /** Signed 16-bit lanes to bytes, saturating to 0..255. */
  i8x16NarrowI16x8U: simd(0x66),
  /** 32-bit lanes to 16-bit ones, saturating to -32768..32767. */
  i16x8NarrowI32x4S: simd(0x85),
  i16x8ExtendLowI8x16U: simd(0x89),
  i16x8ExtendHighI8x16U: simd(0x8a),
  i32x4ExtendLowI16x8U: simd(0xa9),
  i32x4ExtendHighI16x8U: simd(0xaa),
  i32x4ShrS: simd(0xac),
  i32x4Add: simd(0xae),
  i32x4Mul: simd(0xb5),
};

/** Value types. */
export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** A function of the module: its `i32` parameters, its extra locals and its body (without the final `end`). */
export interface WasmFunction {
  readonly name: string;
  readonly params: number;
  readonly locals: readonly { readonly count: number; readonly type: number }[];
  readonly body: readonly Code[];
}

const vector = (items: readonly number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
const name = (text: string): number[] => vector([...text].map((ch) => [ch.charCodeAt(0)]));

/**
 * A module of `functions` (each `(i32 x params) -> ()`, exported by name) and one memory of `pages` 64 KiB
 * pages, exported as `memory`.
 */
export function wasmModule(functions: readonly WasmFunction[], pages: number): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vector(Array.from({ length: f.params }, () => [I32])), 0]);
  const bodies = functions.map((f) => {
    const content = [...vector(f.locals.map((l) => [...uleb(l.count), l.type])), ...f.body.flat(), ...op.end];
    return [...uleb(content.length), ...content];
  });
  const exports = [...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]), [...name('memory'), 0x02, 0]];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(5, vector([[0x00, ...uleb(pages)]])),
    ...section(7, vector(exports)),
    ...section(10, vector(bodies)),
  ]);
}
