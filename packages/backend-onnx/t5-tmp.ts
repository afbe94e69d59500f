import { createOnnxGemmKernel } from './src/gemm-kernel.ts';
import { tridiagonalize } from '../core/src/scores/eigen/tridiagonalize.ts';
import { tridiagonalEigen } from '../core/src/scores/eigen/divide-and-conquer.ts';
import { applyReflectors } from '../core/src/scores/eigen/back-transform.ts';
import { runAsync, product64 } from '../core/src/scores/eigen/products.ts';
import { mulberry32 } from '../core/src/random.ts';
const kernel = createOnnxGemmKernel();
const ortp = kernel.accelerators.float64Product.bind(kernel.accelerators);
const useJs = process.argv[3] === 'js';
let inProd = 0, calls = 0;
const product = async (a: any, b: any, o: any) => { const t = performance.now(); const r = useJs ? product64(a, b, o) : await ortp(a, b, o); inProd += performance.now() - t; calls++; return r; };
for (const n of (process.argv[2] ?? '768').split(',').map(Number)) {
  const r = mulberry32(n); const A = new Float64Array(n*n);
  for (let i=0;i<n;i++) for (let j=0;j<=i;j++) A[i*n+j]=A[j*n+i]=r()*2-1;
  for (const [name, f] of [['tridiag', () => runAsync(tridiagonalize(Float64Array.from(A), n), product)]] as const) {}
  inProd = 0; calls = 0; let t = performance.now();
  const tri = await runAsync(tridiagonalize(Float64Array.from(A), n), product); console.log(n, 'tridiag', (performance.now()-t).toFixed(0), 'in products', inProd.toFixed(0), calls);
  inProd = 0; calls = 0; t = performance.now();
  const te = await runAsync(tridiagonalEigen(tri.d, tri.e), product); console.log(n, 'dc', (performance.now()-t).toFixed(0), 'in products', inProd.toFixed(0), calls);
  inProd = 0; calls = 0; t = performance.now();
  await runAsync(applyReflectors(tri, te.Q.slice(), n), product); console.log(n, 'back', (performance.now()-t).toFixed(0), 'in products', inProd.toFixed(0), calls);
}
await kernel.dispose();
