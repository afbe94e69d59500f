import { createOnnxGemmKernel } from './src/gemm-kernel.ts';
const kernel = createOnnxGemmKernel();
const p = kernel.accelerators.float64Product.bind(kernel.accelerators);
const mk = (r: number, c: number) => ({ rows: r, cols: c, data: new Float64Array(r * c).map(Math.random) });
async function time(label: string, a: any, b: any, tA: boolean, tB: boolean, flops: number) {
  await p(a, b, { transA: tA, transB: tB });
  const reps = 5; const t = performance.now();
  for (let i = 0; i < reps; i++) await p(a, b, { transA: tA, transB: tB });
  const dt = (performance.now() - t) / reps;
  console.log(label, dt.toFixed(3), 'ms', (flops / dt / 1e6).toFixed(1), 'GF/s');
}
await time('matvec 768', mk(767, 768), mk(768, 1), false, false, 2 * 767 * 768);
await time('matvec 64', mk(63, 64), mk(64, 1), false, false, 2 * 63 * 64);
await time('matvec 2048', mk(2047, 2048), mk(2048, 1), false, false, 2 * 2047 * 2048);
await time('update nt 256x64 * (2048x64)^T', mk(256, 64), mk(2048, 64), false, true, 2 * 256 * 64 * 2048);
await time('back G nt 64x2048', mk(64, 2048), mk(64, 2048), false, true, 2 * 64 * 64 * 2048);
await time('back W nn 64x2048 * 2048x2048', mk(64, 2048), mk(2048, 2048), false, false, 2 * 64 * 2048 * 2048);
await time('back P tn (64x2048)^T * 64x2048', mk(64, 2048), mk(64, 2048), true, false, 2 * 64 * 2048 * 2048);
await time('dc nn 1024x1024 * 1024x2048', mk(1024, 1024), mk(1024, 2048), false, false, 2 * 1024 * 1024 * 2048);
await kernel.dispose();
