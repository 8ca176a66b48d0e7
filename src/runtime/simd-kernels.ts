/**
 * Patchbay's WebAssembly SIMD kernels, run on tfjs-wasm's own heap (no copies): the depthwise
 * convolution (multiplier 1) and its filter gradient, batch normalisation (and, in training, its
 * statistics and closed-form gradient: fused-batch-norm.ts), erf, exp, GELU forward and backward
 * (fused-gelu.ts), Adam's update (fused-adam.ts), and (on one thread) the GEMM of BatchMatMul and of
 * a Dense layer's _FusedMatMul. Written in AssemblyScript
 * (scripts/simd-kernels/source.ts, compiled into simd-kernels.generated.ts).
 *
 * Why they exist: inside a ConvMixer-64/4 training step (batch 32, one thread) tfjs-wasm spent
 * ~17 ms per depthwise filter gradient (a depthwise convolution with dy as a 14×14 filter, which
 * XNNPACK runs in a generic slow path) where this kernel takes ~2 ms, and its scalar Erf took
 * ~3.7 ms per GELU on 32×14×14×64 values. Its GEMM ran 12–15 GMAC/s where this one runs 19–21, and
 * a transposed operand (every Dense gradient) was first copied by a Transpose; here it is read by
 * its strides while packing.
 *
 * The module is instantiated once per wasm backend with that backend's memory as its import
 * (shared in the threaded build), asynchronously, when `useWasmBackend` starts it. Kernels look it
 * up by backend; where it is missing (no SIMD, another way of starting the backend) the composed
 * tfjs kernels run instead.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import { SIMD_KERNELS_WASM } from './simd-kernels.generated';
import { shareRanges, startSimdThreads, type SimdThreads, type ThreadedKernel } from './simd-threads';

/** The kernels' exports; pointers are byte offsets into the backend's heap. */
export interface SimdKernels {
  depthwiseFilterGrad(
    x: number,
    dy: number,
    out: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    top: number,
    left: number,
  ): void;
  depthwiseConv(
    x: number,
    filter: number,
    out: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    top: number,
    left: number,
  ): void;
  /** ld: the floats from one row to the next (c, or more when a share of the channels is given). */
  batchNorm(x: number, mean: number, variance: number, scale: number, offset: number, out: number, rows: number, c: number, ld: number, epsilon: number): void;
  channelMoments(x: number, mean: number, variance: number, invStd: number, rows: number, c: number, ld: number, epsilon: number): void;
  batchNormGradSums(x: number, dy: number, mean: number, invStd: number, sumDy: number, sumDyXhat: number, rows: number, c: number): void;
  batchNormGradDx(
    x: number,
    dy: number,
    mean: number,
    invStd: number,
    gamma: number,
    sumDy: number,
    sumDyXhat: number,
    dx: number,
    rows: number,
    c: number,
    n: number,
  ): void;
  layerNorm(x: number, gamma: number, beta: number, out: number, mean: number, invStd: number, rows: number, c: number, epsilon: number): void;
  layerNormGrad(x: number, dy: number, mean: number, invStd: number, gamma: number, dx: number, dgamma: number, dbeta: number, rows: number, c: number): void;
  exp(x: number, out: number, size: number): void;
  erf(x: number, out: number, size: number): void;
  gelu(x: number, out: number, cdfOut: number, size: number): void;
  geluGrad(x: number, cdf: number, dy: number, out: number, size: number): void;
  adamUpdate(
    value: number,
    grad: number,
    m: number,
    v: number,
    outValue: number,
    outM: number,
    outV: number,
    size: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    oneMinusAccBeta1: number,
    oneMinusAccBeta2: number,
    epsilon: number,
    negLr: number,
  ): void;
  matmulScratchBytes(M: number, K: number, N: number): number;
  matmul(
    a: number,
    aRowStride: number,
    aKStride: number,
    aBatchStride: number,
    b: number,
    bKStride: number,
    bColStride: number,
    bBatchStride: number,
    out: number,
    bias: number,
    M: number,
    K: number,
    N: number,
    batch: number,
    scratch: number,
  ): void;
}

/** The part of tfjs-wasm's BackendWasm the kernels need (public in its JavaScript). */
export interface WasmHeapBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory; _malloc(bytes: number): number; _free(pointer: number): void };
}

const attached = new WeakMap<object, SimdKernels>();
/** Backends whose XNNPACK runs on one thread: there the SIMD GEMM beats XNNPACK's; on more, XNNPACK splits its GEMM over the threads. */
const singleThreaded = new WeakSet<object>();
/** Helper threads that run the kernels' shares beside the caller (threaded build, simd-threads.ts). */
const helpersOf = new WeakMap<object, SimdThreads>();
let disabled = false;
let threadsDisabled = false;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Instantiates the kernels on `backend`'s heap, and on the threaded build one helper thread per
 * further thread (simd-threads.ts). `xnnpackThreads`: the threads XNNPACK's own kernels use. Resolves to null when they run, or to the reason they cannot
 * (then the composed kernels are used): no WebAssembly SIMD, or a memory not found. Helpers that
 * cannot start leave the kernels on one thread (`simdThreadsNote` says why).
 */
export async function attachSimdKernels(backend: WasmHeapBackend, threads: number, xnnpackThreads = threads): Promise<string | null> {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  if (!memory) return 'the wasm backend’s memory was not found';
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  let kernels: SimdKernels;
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(decode(shared ? SIMD_KERNELS_WASM.shared : SIMD_KERNELS_WASM.plain));
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    kernels = instance.exports as unknown as SimdKernels;
  } catch (err) {
    return `the SIMD kernels could not start (${err instanceof Error ? err.message : String(err)})`;
  }
  attached.set(backend, kernels);
  if (xnnpackThreads === 1) singleThreaded.add(backend);
  if (shared && threads > 1) {
    try {
      const helpers = await startSimdThreads(module, memory, kernels, threads - 1);
      if (helpers) helpersOf.set(backend, helpers);
      else threadNotes.set(backend, 'this thread may not wait for helper threads');
    } catch (err) {
      threadNotes.set(backend, `the helper threads could not start (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return null;
}

const threadNotes = new WeakMap<object, string>();

/** Stops `backend`'s helper threads (each holds the backend's whole heap) and forgets its kernels: for a backend being replaced. */
export function detachSimdKernels(backend: object): void {
  helpersOf.get(backend)?.close();
  helpersOf.delete(backend);
  attached.delete(backend);
}

/** Why the kernels run on the caller's thread only although the backend has more, or null. */
export function simdThreadsNote(backend: object): string | null {
  return threadNotes.get(backend) ?? null;
}

/** A wasm backend as a kernel function sees it: its heap, and the way it makes an output tensor. */
export type SimdHeapBackend = WasmHeapBackend & { makeOutput(shape: number[], dtype: 'float32'): TensorInfo };

/**
 * The kernels attached to `backend`, for a fused op's kernel function. Its op checks that they run
 * before calling it, so null here means they were switched off in between: an error naming the op.
 */
export function requireSimdKernels(backend: unknown, op: string): SimdKernels {
  const simd = simdKernelsOf(backend);
  if (!simd) throw new Error(`The ${op} kernel ran without Patchbay’s SIMD kernels attached.`);
  return simd;
}

/** The kernels attached to `backend`, or null (not attached, or switched off by `setSimdKernelsEnabled`). */
export function simdKernelsOf(backend: unknown): SimdKernels | null {
  if (disabled || typeof backend !== 'object' || backend === null) return null;
  return attached.get(backend) ?? null;
}

/** The helper threads of `backend`'s kernels, or null (one thread, or switched off). */
export function simdThreadsOf(backend: unknown): SimdThreads | null {
  if (disabled || threadsDisabled || typeof backend !== 'object' || backend === null) return null;
  return helpersOf.get(backend) ?? null;
}

/**
 * The kernels for a GEMM: attached to `backend`, which runs on one thread or has helper threads for
 * them (switched off or not: then the GEMM runs on the caller alone); else null (XNNPACK's threaded
 * GEMM then runs).
 */
export function simdGemmOf(backend: unknown): SimdKernels | null {
  const kernels = simdKernelsOf(backend);
  return kernels && (singleThreaded.has(backend as object) || helpersOf.has(backend as object)) ? kernels : null;
}

/**
 * Runs `kernel` once per share: on the helper threads and the caller at once where `backend` has
 * helpers, else one after another on the caller (so that a kernel is written once for both).
 */
export function runShares(backend: unknown, kernels: SimdKernels, kernel: ThreadedKernel, shares: readonly (readonly number[])[]): void {
  const helpers = simdThreadsOf(backend);
  if (helpers && shares.length > 1) helpers.run(kernel, shares);
  else for (const share of shares) (kernels[kernel] as (...args: number[]) => void)(...share);
}

/** How many helper threads `backend`'s kernels have (whether switched on or not). */
export function simdHelperCount(backend: object): number {
  return (helpersOf.get(backend)?.parts ?? 1) - 1;
}

/** How many shares `backend`'s kernels may split into (1 without helpers). */
export function simdParts(backend: unknown): number {
  return simdThreadsOf(backend)?.parts ?? 1;
}

/** Adds `count` float32 values at byte offset `from` into those at `into`. */
function addInto(backend: WasmHeapBackend, into: number, from: number, count: number): void {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  const heap = new Float32Array(memory!.buffer);
  const [a, b] = [into >>> 2, from >>> 2];
  for (let i = 0; i < count; i++) heap[a + i]! += heap[b + i]!;
}

/**
 * Runs `kernel` over `shares` shares whose sums meet (a gradient summed over the batch or the rows):
 * the first share writes its sums at `sums` (byte offsets, `count` floats each), every other share
 * into scratch of its own, which is added into `sums` at the end. `argsFor(share, at)` gives a
 * share's arguments, `at` being where that share's sums go.
 */
export function runSummedShares(
  backend: SimdHeapBackend,
  kernels: SimdKernels,
  kernel: ThreadedKernel,
  shares: number,
  sums: readonly number[],
  count: number,
  argsFor: (share: number, at: number[]) => number[],
): void {
  const bytes = count * 4;
  const scratch = shares > 1 ? backend.wasm._malloc((shares - 1) * sums.length * bytes) : 0;
  const at = (share: number) => (share === 0 ? [...sums] : sums.map((_, k) => scratch + ((share - 1) * sums.length + k) * bytes));
  try {
    runShares(
      backend,
      kernels,
      kernel,
      Array.from({ length: shares }, (_, share) => argsFor(share, at(share))),
    );
    for (let share = 1; share < shares; share++) at(share).forEach((from, k) => addInto(backend, sums[k]!, from, count));
  } finally {
    if (scratch) backend.wasm._free(scratch);
  }
}

/**
 * A share for a helper thread holds at least this many values (64k floats, ~0.1–0.3 ms of GELU or
 * normalisation): a helper asleep since the last kernel took ~0.2–0.5 ms to wake on this 2-core
 * VM, and with 16k-value shares the ViT step (small tensors) ran slower on 2 threads than on one.
 */
export const SHARE_MIN_VALUES = 65_536;
/** The same for a matrix product, in multiply-adds (~0.2 ms of GEMM). */
export const SHARE_MIN_MACS = 1 << 22;

/**
 * An elementwise kernel over `size` floats whose arguments are `pointers` (advanced by each share's
 * start), then the count, then `trailing` scalars: split over the threads where there are helpers.
 */
export function runElementwise(
  backend: unknown,
  kernels: SimdKernels,
  kernel: ThreadedKernel,
  pointers: readonly number[],
  size: number,
  trailing: readonly number[] = [],
): void {
  const shares = shareRanges(size, simdParts(backend), 4, SHARE_MIN_VALUES).map(([start, count]) => [
    ...pointers.map((p) => p + start * 4),
    count,
    ...trailing,
  ]);
  runShares(backend, kernels, kernel, shares);
}

/** Benches compare one thread's kernels with the split ones by switching the helpers off. */
export function setSimdThreadsEnabled(enabled: boolean): void {
  threadsDisabled = !enabled;
}

/** Tests and benches compare with the composed kernels by switching these off. */
export function setSimdKernelsEnabled(enabled: boolean): void {
  disabled = !enabled;
}

/** The byte offset of a tensor's data in the backend's heap. */
export function heapOffset(backend: WasmHeapBackend, dataId: object): number {
  const data = backend.dataIdMap.get(dataId);
  if (!data) throw new Error('A tensor given to a SIMD kernel has no data on the wasm backend.');
  return data.memoryOffset;
}
