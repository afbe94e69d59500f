import { symmetricEigenAsync } from '@opnp/core';
import { createOnnxGemmKernel } from './src/gemm-kernel.ts';
import { tridiagonalize } from '../core/src/scores/eigen/tridiagonalize.ts';
import { tridiagonalEigen } from '../core/src/scores/eigen/divide-and-conquer.ts';
import { applyReflectors } from '../core/src/scores/eigen/back-transform.ts';
import { runAsync } from '../core/src/scores/eigen/products.ts';
import { mulberry32 } from '../core/src/random.ts';
const kernel = createOnnxGemmKernel();
const product = kernel.accelerators.float64Product.bind(kernel.accelerators);
for (const n of (process.argv[2] ?? '768').split(',').map(Number)) {
  const r = mulberry32(n); const A = new Float64Array(n*n);
  for (let i=0;i<n;i++) for (let j=0;j<=i;j++) A[i*n+j]=A[j*n+i]=r()*2-1;
  let t = performance.now();
  const tri = await runAsync(tridiagonalize(Float64Array.from(A), n), product); const t1 = performance.now()-t; t = performance.now();
  const te = await runAsync(tridiagonalEigen(tri.d, tri.e), product); const t2 = performance.now()-t; t = performance.now();
  await runAsync(applyReflectors(tri, te.Q.slice(), n), product); const t3 = performance.now()-t;
  t = performance.now(); await symmetricEigenAsync(A, n, { kernel }); const tt = performance.now()-t;
  console.log(n, 'tridiag', t1.toFixed(0), 'dc', t2.toFixed(0), 'back', t3.toFixed(0), 'total', tt.toFixed(0));
}
await kernel.dispose();
