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
import { SIMD_KERNELS_WASM } from './simd-kernels.generated';

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
  batchNorm(x: number, mean: number, variance: number, scale: number, offset: number, out: number, rows: number, c: number, epsilon: number): void;
  channelMoments(x: number, mean: number, variance: number, invStd: number, rows: number, c: number, epsilon: number): void;
  batchNormGrad(x: number, dy: number, mean: number, invStd: number, gamma: number, dx: number, dgamma: number, dbeta: number, rows: number, c: number): void;
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
/** Backends on one thread: there the SIMD GEMM beats XNNPACK's; on more, XNNPACK splits its GEMM over the threads. */
const singleThreaded = new WeakSet<object>();
let disabled = false;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Instantiates the kernels on `backend`'s heap. Resolves to null when they run, or to the reason
 * they cannot (then the composed kernels are used): no WebAssembly SIMD, or a memory not found.
 */
export async function attachSimdKernels(backend: WasmHeapBackend, threads: number): Promise<string | null> {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  if (!memory) return 'the wasm backend’s memory was not found';
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  try {
    const module = await WebAssembly.compile(decode(shared ? SIMD_KERNELS_WASM.shared : SIMD_KERNELS_WASM.plain));
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    attached.set(backend, instance.exports as unknown as SimdKernels);
    if (threads === 1) singleThreaded.add(backend);
    return null;
  } catch (err) {
    return `the SIMD kernels could not start (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** The kernels attached to `backend`, or null (not attached, or switched off by `setSimdKernelsEnabled`). */
export function simdKernelsOf(backend: unknown): SimdKernels | null {
  if (disabled || typeof backend !== 'object' || backend === null) return null;
  return attached.get(backend) ?? null;
}

/** The kernels for a GEMM: attached to `backend` and the backend runs on one thread; else null. */
export function simdGemmOf(backend: unknown): SimdKernels | null {
  const kernels = simdKernelsOf(backend);
  return kernels && singleThreaded.has(backend as object) ? kernels : null;
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
