import { symmetricEigenAsync } from '@opnp/core';
import { createOnnxGemmKernel } from './src/gemm-kernel.ts';
import { mulberry32 } from '../core/src/random.ts';
const kernel = createOnnxGemmKernel();
const n = Number(process.argv[2] ?? 768);
const r = mulberry32(n); const A = new Float64Array(n*n);
for (let i=0;i<n;i++) for (let j=0;j<=i;j++) A[i*n+j]=A[j*n+i]=r()*2-1;
for (let rep = 0; rep < 4; rep++) {
  let t = performance.now(); await symmetricEigenAsync(A, n, { kernel }); const full = performance.now() - t;
  t = performance.now(); await symmetricEigenAsync(A, n, { kernel, vectors: { from: 512, to: n } }); const part = performance.now() - t;
  console.log('full', full.toFixed(0), 'vim', part.toFixed(0));
}
await kernel.dispose();
