/**
 * Can a hand-written WebAssembly SIMD GEMM beat tfjs-wasm's BatchMatMul on the Mixer's and
 * ConvMixer's shapes by enough to matter (issues 12 and 15)? This bench answers with numbers; the
 * kernel is NOT used by the app.
 *
 * The kernel (AssemblyScript, compiled in this process by the `assemblyscript` dev dependency, so
 * nothing generated is committed and nothing can go stale): A packed into 4-row panels ([k][4]), B
 * packed into 8-column panels ([k][8]), and a 4×8 register tile of eight f32x4 accumulators. Per k
 * it loads two B vectors, broadcasts four A values (`v128.load32_splat`) and does 8 multiplies and
 * 8 adds, or, with relaxed SIMD, 8 `f32x4.relaxed_madd` (an FMA on x86). Transposed operands are
 * handled by the packing strides. Variants tried while writing this (same session, same load):
 * 5×8 and 6×8 tiles and k-unrolling by 4 ran 25–45% slower: V8's code for them spills vectors to
 * the stack (x64 gives it 16 xmm registers, and it hoists the unrolled loads); unrolling by 2 did
 * not spill but was ~25% slower too (cause not found). Hence 4×8, not unrolled. An unpacked-A
 * version (four row pointers) was ~10% slower than packing A.
 *
 * Method: for each shape, tfjs (`tf.matMul` with Patchbay's wasm kernels registered, i.e. exactly
 * what a training step calls: a transposed operand is copied by an explicit Transpose first) and the
 * kernel run interleaved in the same process, alternating which goes first, ROUNDS times; each is
 * run twice in a row and the second run timed (warm caches for both: timing the first run instead
 * let each side evict the other's operands and flattered the kernel by ~10%). The
 * kernel's time "with copies" includes copying A and B into its own memory, packing both, and
 * copying C out; "no copy" is packing + GEMM only (what an integration that imports tfjs's heap
 * would pay). Both min and median are printed; under load the min is the better estimate of
 * uncontended speed. A dependent integer chain in wasm (`spin`) measures the core's clock.
 * Results are checked against tfjs (and odd sizes, every transpose) before timing.
 * Run: `npx tsx bench/gemm-simd.bench.ts` (THREADS=2 for two tfjs threads). The FMA variant needs
 * relaxed SIMD, which Node 20 ships behind a flag:
 *   `node --experimental-wasm-relaxed-simd --import tsx bench/gemm-simd.bench.ts`
 *
 * Numbers, 2026-11-29 18:13 UTC, Node 20.20 (V8 11.3), tfjs 4.22.0, AMD EPYC (Zen 4, KVM, 2 vCPU),
 * load average 11.5–12 (the lead's training runs hold both cores): GMAC/s from the min of 15
 * interleaved rounds, ratio to tfjs on 1 thread (in brackets: GMAC/s without the copies in and out):
 *
 *   shape (M×K×N, transposes)      tfjs 1T   SIMD128, with copies (no copy)   FMA, with copies (no copy)
 *   mixer channel fwd 1568×64×256    14.2     18.9  1.34×  (21.2)              22.9  1.62×  (26.7)
 *   mixer channel fwd 1568×256×64    14.8     19.6  1.33×  (20.6)              23.9  1.62×  (25.0)
 *   channel dX 1568×256×64 Bᵀ        14.0     19.4  1.38×  (20.3)              23.7  1.69×  (24.1)
 *   channel dX 1568×64×256 Bᵀ        14.2     19.0  1.34×  (21.2)              23.4  1.65×  (26.4)
 *   channel dW 64×1568×256 Aᵀ        14.9     19.3  1.29×  (20.5)              23.1  1.55×  (24.3)
 *   channel dW 256×1568×64 Aᵀ        12.5     18.9  1.51×  (19.7)              22.1  1.76×  (24.0)
 *   token fwd 2048×49×32             13.7     17.0  1.25×  (20.0)              20.8  1.52×  (24.9)
 *   token fwd 2048×32×49             12.0     14.8  1.24×  (17.1)              18.2  1.52×  (22.3)
 *   token dW 32×2048×49 Aᵀ            6.8     14.6  2.14×  (15.9)              17.1  2.51×  (18.9)
 *   convmixer 1×1 dx 6272×64×64 Bᵀ   14.7     18.4  1.25×  (20.2)              21.8  1.49×  (25.7)
 *   convmixer 1×1 dW 64×6272×64 Aᵀ   12.1     16.9  1.39×  (18.8)              20.5  1.69×  (22.0)
 * Medians move with the load (tfjs 3.9–13.4 GMAC/s) and are printed too; four runs at load 10–13
 * gave the same picture. With THREADS=2 (18:42, load ~10) tfjs was SLOWER than on one thread,
 * 9.1–12.4 GMAC/s on these shapes and 3.1–6.4 on the token ones, since its second thread waits for
 * a busy core: the two-thread comparison needs an idle machine.
 *
 * Ceiling: the spin chain measures 3.66 GHz. Zen 4 has two FP multiply/FMA pipes and two FP add
 * pipes; with 128-bit vectors that is 2 f32x4 multiplies + 2 f32x4 adds per cycle, or 2 f32x4 FMAs:
 * 8 MAC/cycle either way, 29 GMAC/s at 3.66 GHz (OpenBLAS's 46 GMAC/s on one core uses 256/512-bit
 * FMA, which WebAssembly cannot express). As V8 compiles the plain-SIMD kernel, one k step is about
 * 30 instructions (6 loads, 16 FP, pointer updates, V8's loop stack check), so at 6 per cycle the
 * front end caps it near 5 cycles per 32 MAC: ~23 GMAC/s; it reaches 19–21 without copies (64–72%
 * of 29). tfjs's XNNPACK kernels reach 12–15 here (41–51%). FMA halves the FP instructions and
 * reaches 22–27 GMAC/s (75–91%).
 *
 * Verdict: the portable SIMD128 kernel is 1.25–1.5× tfjs on the dominant (channel-mixing and 1×1)
 * shapes including copies, 1.4–1.6× without, short of the 1.8× set as the bar for a second GEMM in
 * the runtime. The relaxed-SIMD FMA kernel is 1.5–1.76× with copies and 1.6–1.9× without (an
 * integration that imports tfjs's heap would not copy), but relaxed SIMD needs a V8 flag in Node 20
 * and is not in every browser, where the SIMD128 speed would remain. And even 2× on every GEMM
 * would not reach the 2.5× target: the Mixer step's ~690 M MAC (4 blocks × 6 channel products of
 * 25.7 M + 6 token products of 3.2 M) take ~50 ms at tfjs's best speed here and would take ~25 ms,
 * so the ~177 ms idle-machine step would become ~150 ms, ~4× PyTorch's 37.6 ms. The rest of the
 * gap is element-wise work and threads.
 */
import { performance } from 'node:perf_hooks';
import asc from 'assemblyscript/asc';
import * as tf from '@tensorflow/tfjs';
import { useWasmBackend } from '../src/runtime/wasm-backend';

const THREADS = Number(process.env.THREADS ?? 1);
const ROUNDS = Number(process.env.ROUNDS ?? 15);

interface Case {
  name: string;
  M: number;
  K: number;
  N: number;
  /** A is stored [K, M] (a Dense filter gradient xᵀ·dy). */
  tA: boolean;
  /** B is stored [N, K] (a Dense input gradient dy·Wᵀ). */
  tB: boolean;
}

// Batch 32; the Mixer (patch 4 on 28×28: 49 tokens, width 64, token MLP 32, channel MLP 256) and
// ConvMixer-64/4's 1×1 conv at 14×14, as a profile of one training step lists them.
const CASES: Case[] = [
  { name: 'mixer channel fwd', M: 1568, K: 64, N: 256, tA: false, tB: false },
  { name: 'mixer channel fwd', M: 1568, K: 256, N: 64, tA: false, tB: false },
  { name: 'mixer channel dX', M: 1568, K: 256, N: 64, tA: false, tB: true },
  { name: 'mixer channel dX', M: 1568, K: 64, N: 256, tA: false, tB: true },
  { name: 'mixer channel dW', M: 64, K: 1568, N: 256, tA: true, tB: false },
  { name: 'mixer channel dW', M: 256, K: 1568, N: 64, tA: true, tB: false },
  { name: 'mixer token fwd', M: 2048, K: 49, N: 32, tA: false, tB: false },
  { name: 'mixer token fwd', M: 2048, K: 32, N: 49, tA: false, tB: false },
  { name: 'mixer token dW', M: 32, K: 2048, N: 49, tA: true, tB: false },
  { name: 'convmixer 1×1 dx', M: 6272, K: 64, N: 64, tA: false, tB: true },
  { name: 'convmixer 1×1 dW', M: 64, K: 6272, N: 64, tA: true, tB: false },
];

/** Odd sizes (partial row panels and column panels) in every transpose combination: checked, not timed. */
const ODD: Case[] = [
  [1, 1, 1],
  [7, 13, 11],
  [5, 3, 9],
  [49, 50, 17],
  [130, 33, 70],
].flatMap(([M, K, N]) => [false, true].flatMap((tA) => [false, true].map((tB) => ({ name: 'odd', M: M!, K: K!, N: N!, tA, tB }))));

/** The kernel's AssemblyScript source; `fma` uses relaxed SIMD's multiply-add. */
function kernelSource(fma: boolean): string {
  const madd = (acc: string, b: string) => (fma ? `${acc} = f32x4.relaxed_madd(x, ${b}, ${acc});` : `${acc} = f32x4.add(${acc}, f32x4.mul(x, ${b}));`);
  const rows = [0, 1, 2, 3];
  return `
@inline function tile(pa: usize, pb: usize, K: i32, c: usize, ldc: usize, rows: i32, cols: i32, scratch: usize): void {
  ${rows.map((r) => `let c${r}0 = f32x4.splat(0), c${r}1 = f32x4.splat(0);`).join('\n  ')}
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    ${rows.map((r) => `{ const x = v128.load32_splat(pa, ${4 * r}); ${madd(`c${r}0`, 'b0')} ${madd(`c${r}1`, 'b1')} }`).join('\n    ')}
    pa += 16; pb += 32;
  }
  if (rows == 4 && cols == 8) {
    ${rows.map((r) => `v128.store(c + ${r} * ldc, c${r}0); v128.store(c + ${r} * ldc, c${r}1, 16);`).join('\n    ')}
  } else {
    ${rows.map((r) => `v128.store(scratch, c${r}0, ${32 * r}); v128.store(scratch, c${r}1, ${32 * r + 16});`).join('\n    ')}
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) store<f32>(c + <usize>r * ldc + (<usize>j << 2), load<f32>(scratch + (<usize>r << 5) + (<usize>j << 2)));
  }
}

/** A (element (i, k) at a + i*ars + k*aks, byte strides) in panels of 4 rows: out[q][k][0..4), zero-padded. */
export function packA(a: usize, ars: usize, aks: usize, M: i32, K: i32, out: usize): void {
  const panels = (M + 3) >> 2;
  for (let q = 0; q < panels; q++) {
    const rows = min(4, M - (q << 2));
    const src = a + <usize>(q << 2) * ars;
    const dst = out + <usize>q * <usize>K * 16;
    if (rows == 4 && ars == 4) {
      for (let k = 0; k < K; k++) v128.store(dst + (<usize>k << 4), v128.load(src + <usize>k * aks));
      continue;
    }
    let k = 0;
    if (rows == 4 && aks == 4) {
      for (; k + 4 <= K; k += 4) { // a 4×4 transpose in registers
        const s = src + (<usize>k << 2);
        const r0 = v128.load(s), r1 = v128.load(s + ars), r2 = v128.load(s + 2 * ars), r3 = v128.load(s + 3 * ars);
        const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
        const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
        const d = dst + (<usize>k << 4);
        v128.store(d, i64x2.shuffle(t0, t1, 0, 2)); v128.store(d, i64x2.shuffle(t0, t1, 1, 3), 16);
        v128.store(d, i64x2.shuffle(t2, t3, 0, 2), 32); v128.store(d, i64x2.shuffle(t2, t3, 1, 3), 48);
      }
    }
    for (; k < K; k++) {
      const d = dst + (<usize>k << 4);
      for (let r = 0; r < 4; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(src + <usize>r * ars + <usize>k * aks) : 0);
    }
  }
}

/** B (element (k, n) at b + k*bks + n*bns, byte strides) in panels of 8 columns: out[p][k][0..8), zero-padded. */
export function packB(b: usize, bks: usize, bns: usize, K: i32, N: i32, out: usize): void {
  const panels = (N + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    const cols = min(8, N - (p << 3));
    const src = b + <usize>(p << 3) * bns;
    const dst = out + <usize>p * <usize>K * 32;
    if (cols == 8 && bns == 4) {
      for (let k = 0; k < K; k++) { const s = src + <usize>k * bks; v128.store(dst + (<usize>k << 5), v128.load(s)); v128.store(dst + (<usize>k << 5), v128.load(s, 16), 16); }
    } else {
      for (let k = 0; k < K; k++) {
        const d = dst + (<usize>k << 5);
        for (let j = 0; j < 8; j++) store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(src + <usize>k * bks + <usize>j * bns) : 0);
      }
    }
  }
}

/** C[M,N] (row-major, contiguous) = A·B from A packed by packA and B packed by packB; scratch: 128 bytes. */
export function gemm(pa: usize, pb: usize, c: usize, M: i32, K: i32, N: i32, scratch: usize): void {
  const panels = (N + 7) >> 3;
  const ldc = <usize>N << 2;
  for (let i = 0, q = 0; i < M; i += 4, q++) {
    const ci = c + <usize>i * ldc, ai = pa + <usize>q * <usize>K * 16;
    for (let p = 0; p < panels; p++) tile(ai, pb + <usize>p * <usize>K * 32, K, ci + (<usize>p << 5), ldc, min(4, M - i), min(8, N - (p << 3)), scratch);
  }
}

/** n iterations of 4 dependent (rotate, xor) pairs: 8·n cycles, whatever the core's width. */
export function spin(n: i32): i32 {
  let x = n;
  for (let i = 0; i < n; i++) { x = rotl<i32>(x, 3) ^ i; x = rotl<i32>(x, 5) ^ i; x = rotl<i32>(x, 7) ^ i; x = rotl<i32>(x, 9) ^ i; }
  return x;
}
`;
}

interface Kernel {
  name: string;
  memory: WebAssembly.Memory;
  packA(a: number, ars: number, aks: number, M: number, K: number, out: number): void;
  packB(b: number, bks: number, bns: number, K: number, N: number, out: number): void;
  gemm(pa: number, pb: number, c: number, M: number, K: number, N: number, scratch: number): void;
  spin(n: number): number;
}

/** Compiles the kernel; null (with the reason printed) when this engine lacks relaxed SIMD. */
async function compileKernel(name: string, fma: boolean): Promise<Kernel | null> {
  const out = await asc.compileString(kernelSource(fma), {
    optimizeLevel: 3,
    runtime: 'stub',
    noAssert: true,
    initialMemory: 16,
    enable: fma ? ['simd', 'relaxed-simd'] : ['simd'],
  });
  if (out.error || !out.binary) throw new Error(`AssemblyScript could not compile the ${name} kernel: ${out.stderr.toString()}`);
  const binary = new Uint8Array(out.binary); // an ArrayBuffer-backed copy, as WebAssembly's types want
  if (!WebAssembly.validate(binary)) {
    console.log(`(${name} skipped: this engine has no relaxed SIMD; in Node 20 run with --experimental-wasm-relaxed-simd)`);
    return null;
  }
  const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), {
    env: {
      abort: () => {
        throw new Error(`${name} kernel aborted`);
      },
    },
  });
  return { name, ...(instance.exports as unknown as Omit<Kernel, 'name'>) };
}

/** Runs C = A·B in the kernel's memory; returns ms and (when asked) the product. */
function runKernel(k: Kernel, A: Float32Array, B: Float32Array, c: Case, copies: boolean, out?: Float32Array): number {
  const { M, K, N, tA, tB } = c;
  const aAt = 1 << 16;
  const bAt = aAt + A.length * 4;
  const packedB = bAt + B.length * 4;
  const cAt = packedB + Math.ceil(N / 8) * 8 * K * 4;
  const packedA = cAt + M * N * 4;
  const scratch = packedA + Math.ceil(M / 4) * 4 * K * 4;
  const end = scratch + 128;
  if (k.memory.buffer.byteLength < end) k.memory.grow(Math.ceil((end - k.memory.buffer.byteLength) / 65536));
  const t = performance.now();
  if (copies || out) {
    new Float32Array(k.memory.buffer, aAt, A.length).set(A);
    new Float32Array(k.memory.buffer, bAt, B.length).set(B);
  }
  k.packA(aAt, tA ? 4 : K * 4, tA ? M * 4 : 4, M, K, packedA);
  k.packB(bAt, tB ? 4 : N * 4, tB ? K * 4 : 4, K, N, packedB);
  k.gemm(packedA, packedB, cAt, M, K, N, scratch);
  if (copies || out) {
    const product = new Float32Array(k.memory.buffer, cAt, M * N).slice();
    out?.set(product);
  }
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const min = (xs: number[]) => Math.min(...xs);

/** Fails loudly when the kernel's product differs from tfjs's beyond float32 rounding. */
function check(kernels: Kernel[], c: Case, a: tf.Tensor, b: tf.Tensor): void {
  const expected = tf.tidy(() => tf.matMul(a, b, c.tA, c.tB).dataSync() as Float32Array);
  const A = a.dataSync() as Float32Array;
  const B = b.dataSync() as Float32Array;
  for (const k of kernels) {
    const got = new Float32Array(c.M * c.N);
    runKernel(k, A, B, c, true, got);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
    if (!(worst <= 1e-5 * c.K)) throw new Error(`${k.name} differs from tfjs on ${c.M}×${c.K}×${c.N} (tA ${c.tA}, tB ${c.tB}): max |error| ${worst}`);
  }
}

const operands = (c: Case) =>
  [tf.randomUniform(c.tA ? [c.K, c.M] : [c.M, c.K], -1, 1, 'float32', 1), tf.randomUniform(c.tB ? [c.N, c.K] : [c.K, c.N], -1, 1, 'float32', 2)] as const;

const status = await useWasmBackend({ threads: THREADS });
const kernels = [await compileKernel('SIMD128 4×8', false), await compileKernel('FMA 4×8', true)].filter((k): k is Kernel => k !== null);
const clock = (k: Kernel) => {
  const n = 2_000_000;
  const t = performance.now();
  k.spin(n);
  return (8 * n) / ((performance.now() - t) * 1e6);
};

for (const c of ODD) {
  const [a, b] = operands(c);
  check(kernels, c, a, b);
  tf.dispose([a, b]);
}
console.log(`${ODD.length} odd-size products match tfjs.`);

const { execSync } = await import('node:child_process');
console.log(
  `tfjs ${tf.version.tfjs} wasm, ${status.threads} thread(s), against ${kernels.map((k) => k.name).join(' and ')} on one thread; ` +
    `min (median) of ${ROUNDS} interleaved rounds; load: ${execSync('uptime').toString().trim()}`,
);
const clocks: number[] = [];
for (const c of CASES) {
  const [a, b] = operands(c);
  check(kernels, c, a, b);
  const A = a.dataSync() as Float32Array;
  const B = b.dataSync() as Float32Array;
  const tfjs = () => {
    const t = performance.now();
    tf.matMul(a, b, c.tA, c.tB).dispose(); // the wasm backend runs the kernel synchronously
    return performance.now() - t;
  };
  const tfMs: number[] = [];
  const withCopies = kernels.map(() => [] as number[]);
  const noCopy = kernels.map(() => [] as number[]);
  tfjs();
  kernels.forEach((k) => runKernel(k, A, B, c, true));
  for (let r = 0; r < ROUNDS; r++) {
    clocks.push(clock(kernels[0]!));
    // Each call is timed on its second run, so that neither side pays for the caches the other evicted.
    const twice = (run: () => number) => (run(), run());
    const ours = () => kernels.forEach((k, i) => withCopies[i]!.push(twice(() => runKernel(k, A, B, c, true))));
    if (r % 2) {
      ours();
      tfMs.push(twice(tfjs));
    } else {
      tfMs.push(twice(tfjs));
      ours();
    }
    kernels.forEach((k, i) => noCopy[i]!.push(twice(() => runKernel(k, A, B, c, false))));
  }
  const gmac = (ms: number) => ((c.M * c.K * c.N) / ms / 1e6).toFixed(1);
  const shape = `${c.M}×${c.K}×${c.N}${c.tA ? ' Aᵀ' : ''}${c.tB ? ' Bᵀ' : ''}`;
  let line = `${c.name.padEnd(18)} ${shape.padEnd(16)} tfjs ${min(tfMs).toFixed(2)} ms ${gmac(min(tfMs))} GMAC/s (${gmac(median(tfMs))})`;
  kernels.forEach((k, i) => {
    const best = min(withCopies[i]!);
    line +=
      ` | ${k.name} ${best.toFixed(2)} ms ${gmac(best)} (${gmac(median(withCopies[i]!))}) ` +
      `${(min(tfMs) / best).toFixed(2)}× (${(median(tfMs) / median(withCopies[i]!)).toFixed(2)}×), no copy ${gmac(min(noCopy[i]!))}`;
  });
  console.log(line);
  tf.dispose([a, b]);
}
console.log(`Clock from the dependent chain: max ${Math.max(...clocks).toFixed(2)} GHz, median ${median(clocks).toFixed(2)} GHz.`);
console.log(`load after: ${execSync('uptime').toString().trim()}`);
