/**
 * The WebAssembly SIMD functions of {@link bandedGridLogSumExpWasm} (`banded-lse-wasm.ts`), assembled by
 * `internal/wasm-encoding.ts`: float32 vector add, maximum, shifted exponential and the per-row sums over classes of
 * every level combination. All addresses and lengths are in bytes and multiples of 16 (64 for class vectors).
 * The numerics are described in docs/numerics.md#fast-grid-evaluation.
 */
import { I32, V128, op, type Code, type WasmFunction } from '../../internal/wasm-encoding.js';

/** `local += by` for an `i32` local. */
const increment = (local: number, by: number): Code[] => [op.get(local), op.i32Const(by), op.i32Add, op.set(local)];

/**
 * A loop over byte offsets `i = 0, 16, 32, ... < bytes` (skipped when `bytes` is 0) running `body` (which reads `i`
 * from local `I`); `step` bytes per iteration.
 */
function vectorLoop(I: number, bytes: number, body: Code[], step = 16): Code[] {
  return [
    op.i32Const(0), op.set(I),
    op.block,
    op.get(I), op.get(bytes), op.i32GeU, op.brIf(0),
    op.loop,
    ...body,
    ...increment(I, step),
    op.get(I), op.get(bytes), op.i32LtU, op.brIf(0),
    op.end,
    op.end,
  ];
}

/** The address `base + i` on the stack. */
const at = (base: number, I: number): Code[] => [op.get(base), op.get(I), op.i32Add];

/** `addInto(dst, src, bytes)`: `dst[i] += src[i]` (float32 lanes). */
function addIntoFunction(): WasmFunction {
  const DST = 0, SRC = 1, BYTES = 2, I = 3;
  const body = vectorLoop(I, BYTES, [...at(DST, I), ...at(DST, I), op.v128Load, ...at(SRC, I), op.v128Load, op.f32x4Add, op.v128Store]);
  return { name: 'addInto', params: 3, locals: [{ count: 1, type: I32 }], body };
}

/**
 * `maxOf(src, bytes, out)`: stores at `out` four lanes whose maximum is that of `src` (`bytes` a multiple of 64;
 * `-Infinity` when empty). NaN entries are skipped (`pmax`); the exponentials of the caller turn them into NaN anyway.
 */
function maxOfFunction(): WasmFunction {
  const SRC = 0, BYTES = 1, OUT = 2, I = 3;
  const ACCS = [4, 5, 6, 7] as const;
  const step = ACCS.flatMap((acc, k) => [op.get(acc), ...at(SRC, I), op.v128LoadAt(16 * k), op.f32x4PMax, op.set(acc)]);
  const body = [
    ...ACCS.flatMap((acc) => [op.f32Const(-Infinity), op.f32x4Splat, op.set(acc)]),
    ...vectorLoop(I, BYTES, step, 64),
    op.get(OUT), op.get(ACCS[0]), op.get(ACCS[1]), op.f32x4PMax, op.get(ACCS[2]), op.get(ACCS[3]), op.f32x4PMax, op.f32x4PMax, op.v128Store,
  ];
  return { name: 'maxOf', params: 3, locals: [{ count: 1, type: I32 }, { count: 4, type: V128 }], body };
}

/** Cephes `expf`: `ln 2` split in two for the range reduction, and the polynomial `P` of `e^r = 1 + r + r^2 P(r)`. */
const LN2_HI = 0.693359375, LN2_LO = -2.12194440e-4;
const EXP_POLYNOMIAL = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1] as const;
/** `ln(2^-126)`: below it the exponential is taken as 0 (it would be subnormal in float32). */
const EXP_LOWEST = -87.33654475;
/** `1.5 * 2^23`: adding it rounds a float32 of magnitude below `2^22` to an integer (ties to even) held in the low mantissa bits. */
const ROUNDING = 12582912;
/** The bits of float32 `1.0`: `127 << 23`. */
const ONE_BITS = 0x3f800000;

/**
 * `expShifted(src, dst, bytes, shift)`: `dst[i] = exp(src[i] - s)` with `s` the float32 at address `shift`, for
 * arguments `<= 0` (the caller shifts by the maximum): Cephes `expf` in float32 lanes (`n = round(x / ln 2)` by the
 * `1.5 * 2^23` trick, `r = x - n ln 2` in two steps, `e^r = 1 + r + r^2 P(r)`, times `2^n` built in the exponent
 * bits), within about 1 ulp; arguments below `ln(2^-126)` (and `-Infinity`) give 0, NaN and `+Infinity` give NaN.
 */
function expShiftedFunction(): WasmFunction {
  const SRC = 0, DST = 1, BYTES = 2, SHIFT = 3, I = 4;
  const [S, X, T, N, R, Y, LOWEST, LOG2E, ONE, ROUND, BITS, HI, LO] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const P = [18, 19, 20, 21, 22, 23];
  const splat = (value: number, local: number): Code[] => [op.f32Const(value), op.f32x4Splat, op.set(local)];
  const exp: Code[] = [
    ...at(SRC, I), op.v128Load, op.get(S), op.f32x4Sub, op.set(X),
    // t = x log2(e) + 1.5 * 2^23 (n in its low bits), n = t - 1.5 * 2^23
    op.get(X), op.get(LOG2E), op.f32x4Mul, op.get(ROUND), op.f32x4Add, op.tee(T), op.get(ROUND), op.f32x4Sub, op.set(N),
    // r = (x - n ln2_hi) - n ln2_lo
    op.get(X), op.get(N), op.get(HI), op.f32x4Mul, op.f32x4Sub, op.get(N), op.get(LO), op.f32x4Mul, op.f32x4Sub, op.set(R),
    op.get(P[0]!), op.set(Y),
    ...P.slice(1).flatMap((p) => [op.get(Y), op.get(R), op.f32x4Mul, op.get(p), op.f32x4Add, op.set(Y)]),
    // (P(r) r^2 + r + 1) * 2^n, 2^n = bits (n << 23) + (127 << 23); zero where x < ln(2^-126)
    op.get(Y), op.get(R), op.get(R), op.f32x4Mul, op.f32x4Mul, op.get(R), op.f32x4Add, op.get(ONE), op.f32x4Add,
    op.get(T), op.i32Const(23), op.i32x4Shl, op.get(BITS), op.i32x4Add, op.f32x4Mul,
    op.get(X), op.get(LOWEST), op.f32x4Lt, op.v128AndNot, op.set(Y),
    ...at(DST, I), op.get(Y), op.v128Store,
  ];
  const body: Code[] = [
    op.get(SHIFT), op.f32Load, op.f32x4Splat, op.set(S),
    ...splat(EXP_LOWEST, LOWEST), ...splat(Math.LOG2E, LOG2E), ...splat(1, ONE), ...splat(ROUNDING, ROUND),
    ...splat(LN2_HI, HI), ...splat(LN2_LO, LO),
    op.i32Const(ONE_BITS), op.i32x4Splat, op.set(BITS),
    ...EXP_POLYNOMIAL.flatMap((c, k) => splat(c, P[k]!)),
    ...vectorLoop(I, BYTES, exp),
  ];
  return { name: 'expShifted', params: 4, locals: [{ count: 1, type: I32 }, { count: 19, type: V128 }], body };
}

// Parameters of `comboSums` (i32), then its i32 locals and its v128 locals.
const EL = 0, EU = 1, YS = 2, OUT = 3, WL = 4, WH = 5, NL = 6, NH = 7, PB = 8, VB = 9;
const A = 10, B = 11, AN = 12, BN = 13, PX = 14, QX = 15, DX = 16, ONES = 17, I = 18, BQ = 19, Y0 = 20;
const ACC = [21, 22, 23, 24] as const;
const XV = 25;

/** `DX[i] = PX[i] * QX[i]` over one class vector (`VB` bytes). */
const multiplyVector = (): Code[] => vectorLoop(I, VB, [...at(DX, I), ...at(PX, I), op.v128Load, ...at(QX, I), op.v128Load, op.f32x4Mul, op.v128Store]);

/** `local = base + index * stride (+ extra)`. */
const address = (local: number, base: number, index: number, stride: number, extra: Code[] = []): Code[] => [
  op.get(base), op.get(index), op.get(stride), op.i32Mul, op.i32Add, ...extra, op.set(local),
];

/** `+ s * VB` for the class vector of stack entry `s` (code pushing `s`). */
const entry = (s: Code[]): Code[] => [...s, op.get(VB), op.i32Mul, op.i32Add];

/**
 * `QX` = the high-weight factor of slot `index` of side `E` at level `B`: its entry `WL + B` while `B < WH`, else the
 * ones vector.
 */
const highFactor = (E: number, index: number): Code[] => [
  op.get(E), op.get(index), op.get(PB), op.i32Mul, op.i32Add, ...entry([op.get(WL), op.get(B), op.i32Add]),
  op.get(ONES), op.get(B), op.get(WH), op.i32LtU, op.select, op.set(QX),
];

/** A counted loop `local = 0 .. limit - 1` (at least once) around `body`; `inclusive` runs to `limit`. */
const countedLoop = (local: number, limit: number, body: Code[], inclusive = false, step = 1): Code[] => [
  op.i32Const(0), op.set(local),
  op.loop,
  ...body,
  ...increment(local, step),
  op.get(local), op.get(limit), inclusive ? op.i32LeU : op.i32LtU, op.brIf(0),
  op.end,
];

/**
 * For one `an` and the four `y` vectors `BQ .. BQ + 3` (at `Y0`, `VB` bytes apart): `x = PX * QX` class vector by
 * class vector, `acc_k += x * y_k`, then the four lanes of each `acc_k` stored at combination `(BQ + k, an)` of `OUT`.
 */
function dotBlock(): Code[] {
  const yAt = (k: number): Code[] => [op.get(Y0), ...(k === 0 ? [] : [op.get(VB), op.i32Const(k), op.i32Mul, op.i32Add]), op.get(I), op.i32Add];
  const step: Code[] = [
    ...at(PX, I), op.v128Load, ...at(QX, I), op.v128Load, op.f32x4Mul, op.set(XV),
    ...ACC.flatMap((acc, k) => [op.get(acc), op.get(XV), ...yAt(k), op.v128Load, op.f32x4Mul, op.f32x4Add, op.set(acc)]),
  ];
  // combination (BQ + k, an) of this (a, b) is at OUT + ((BQ + k) * NL + AN) * 16
  const store = ACC.flatMap((acc, k) => [
    op.get(OUT), op.get(BQ), op.i32Const(k), op.i32Add, op.get(NL), op.i32Mul, op.get(AN), op.i32Add, op.i32Const(4), op.i32Shl, op.i32Add,
    op.get(acc), op.v128Store,
  ]);
  return [...ACC.flatMap((acc) => [op.v128Zero, op.set(acc)]), ...vectorLoop(I, VB, step), ...store];
}

/**
 * `comboSums(el, eu, ys, out, wL, wH, nL, nH, partBytes, vectorBytes)`: for every `(a, b)`, `ys[bn] = eu[bn][a] *
 * eu[bn][wL + b]` (`bn < nH`; `ys[nH]` is a vector of ones, the slots after it up to a multiple of four zeros), then
 * for `bn = 0 .. nH`, `an = 0 .. nL - 1` the four lanes of `sum_c x_an y_bn`, `x_an = el[an][a] * el[an][wL + b]`
 * (ones for `b = wH`), are stored at `out` in `BandedGridLogSumExp.logSum` order, 16 bytes per combination (the
 * `bn` past `nH` of a block of four land past the combinations of this `(a, b)`: the memory after `out` must have
 * room for them). `el[i][s]` is at `el + i * partBytes + s * vectorBytes`.
 */
function comboSumsFunction(): WasmFunction {
  const ys = [
    op.block,
    op.get(NH), op.i32Const(0), op.i32LeU, op.brIf(0),
    ...countedLoop(BN, NH, [...address(PX, EU, BN, PB, entry([op.get(A)])), ...highFactor(EU, BN), ...address(DX, YS, BN, VB), ...multiplyVector()]),
    op.end,
  ];
  const blocks = countedLoop(BQ, NH, [
    ...address(Y0, YS, BQ, VB),
    ...countedLoop(AN, NL, [...address(PX, EL, AN, PB, entry([op.get(A)])), ...highFactor(EL, AN), ...dotBlock()]),
  ], true, 4);
  const next = [op.get(OUT), op.get(NH), op.i32Const(1), op.i32Add, op.get(NL), op.i32Mul, op.i32Const(4), op.i32Shl, op.i32Add, op.set(OUT)];
  const body: Code[] = [
    ...address(ONES, YS, NH, VB),
    ...countedLoop(A, WL, countedLoop(B, WH, [...ys, ...blocks, ...next], true)),
  ];
  return { name: 'comboSums', params: 10, locals: [{ count: 11, type: I32 }, { count: 5, type: V128 }], body };
}

/** The module's functions: `addInto`, `maxOf`, `expShifted`, `comboSums`. */
export function bandedLseFunctions(): WasmFunction[] {
  return [addIntoFunction(), maxOfFunction(), expShiftedFunction(), comboSumsFunction()];
}
