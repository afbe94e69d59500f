/**
 * Internal float64 matrix product `out [M x N] += A [M x K] * B^T` (`B` given as `N x K`), row-major,
 * register-blocked 4 x 4. Used where float32 rounding of intermediate products would show in the result
 * (Mahalanobis whitening and class distances, covariance accumulation). No validation.
 */
export function gemm64ABt(A: Float64Array, B: Float64Array, out: Float64Array, M: number, N: number, K: number): void {
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k]!, x1 = A[a1 + k]!, x2 = A[a2 + k]!, x3 = A[a3 + k]!;
        const y0 = B[b0 + k]!, y1 = B[b1 + k]!, y2 = B[b2 + k]!, y3 = B[b3 + k]!;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      const o0 = i * N + j, o1 = o0 + N, o2 = o1 + N, o3 = o2 + N;
      out[o0] = out[o0]! + s00; out[o0 + 1] = out[o0 + 1]! + s01; out[o0 + 2] = out[o0 + 2]! + s02; out[o0 + 3] = out[o0 + 3]! + s03;
      out[o1] = out[o1]! + s10; out[o1 + 1] = out[o1 + 1]! + s11; out[o1 + 2] = out[o1 + 2]! + s12; out[o1 + 3] = out[o1 + 3]! + s13;
      out[o2] = out[o2]! + s20; out[o2 + 1] = out[o2 + 1]! + s21; out[o2 + 2] = out[o2 + 2]! + s22; out[o2 + 3] = out[o2 + 3]! + s23;
      out[o3] = out[o3]! + s30; out[o3 + 1] = out[o3 + 1]! + s31; out[o3 + 2] = out[o3 + 2]! + s32; out[o3 + 3] = out[o3 + 3]! + s33;
    }
    for (; j < N; j++) {
      const b0 = j * K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const y = B[b0 + k]!;
        s0 += A[a0 + k]! * y; s1 += A[a1 + k]! * y; s2 += A[a2 + k]! * y; s3 += A[a3 + k]! * y;
      }
      out[i * N + j] = out[i * N + j]! + s0;
      out[(i + 1) * N + j] = out[(i + 1) * N + j]! + s1;
      out[(i + 2) * N + j] = out[(i + 2) * N + j]! + s2;
      out[(i + 3) * N + j] = out[(i + 3) * N + j]! + s3;
    }
  }
  for (; i < M; i++) {
    const a0 = i * K;
    for (let j = 0; j < N; j++) {
      const b0 = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k]! * B[b0 + k]!;
      out[i * N + j] = out[i * N + j]! + s;
    }
  }
}
