/**
 * Patchbay's SIMD kernels on every thread the wasm backend was given, not just the caller's.
 *
 * On the threaded build the backend's memory is shared, so a helper thread can instantiate the
 * same kernel module on the same heap and work on the same tensors. Each helper (a Node
 * worker_thread, or a Web Worker from a blob: URL, as tfjs-wasm starts its own pthreads) waits on
 * its own control block in a SharedArrayBuffer: the caller writes a kernel's index and arguments,
 * wakes it (Atomics.notify), runs its own share of the work, and waits (Atomics.wait) until every
 * helper has flagged its share done. Kernel calls stay synchronous, as tfjs's kernels must be.
 *
 * Why: XNNPACK splits only its own kernels over the threads; ours (GEMM, GELU, batch and layer
 * norm, depthwise convolution, Adam) ran on one, so a second core bought a ConvMixer step 5% where
 * it bought PyTorch 60%.
 *
 * Blocking waits are not allowed on a browser page's main thread: there (and where SharedArrayBuffer
 * is missing) no helpers start and every kernel runs on the caller, as before.
 */
import type { SimdKernels } from './simd-kernels';

/** The kernels a helper can run (an index into this list travels in the control block). */
export const THREADED_KERNELS = [
  'matmul',
  'gelu',
  'geluGrad',
  'erf',
  'exp',
  'adamUpdate',
  'batchNorm',
  'channelMoments',
  'batchNormGradSums',
  'batchNormGradDx',
  'layerNorm',
  'layerNormGrad',
  'depthwiseConv',
  'depthwiseFilterGrad',
] as const satisfies readonly (keyof SimdKernels)[];
export type ThreadedKernel = (typeof THREADED_KERNELS)[number];

/** Control block, Int32 slots: state, kernel index, argument count, error flag; then the arguments as float64. */
const STATE = 0;
const KERNEL = 1;
const ARG_COUNT = 2;
const FAILED = 3;
const ARGS_OFFSET_BYTES = 16;
const MAX_ARGS = 24;
const CONTROL_BYTES = ARGS_OFFSET_BYTES + MAX_ARGS * 8;
/** States: a helper sleeps while IDLE, runs on WORK, answers DONE; STOP ends it. */
const IDLE = 0;
const WORK = 1;
const DONE = 2;
const STOP = 3;
/** How long a helper keeps looking for work before it sleeps, and the caller for a helper's answer. */
const SPIN_MS = 1;
/** A helper that has not answered in this long is taken for dead (a kernel share takes milliseconds). */
const HELPER_TIMEOUT_MS = 30_000;

/**
 * The helper's whole program, a plain script for both a Node worker (eval) and a Web Worker (blob).
 * It never allocates on the heap and touches memory only through the kernels it is asked to run.
 */
const HELPER_SOURCE = `'use strict';
function start(data, post) {
  const instance = new WebAssembly.Instance(data.module, { env: { memory: data.memory } });
  const control = new Int32Array(data.control, 0, 4);
  const args = new Float64Array(data.control, ${ARGS_OFFSET_BYTES}, ${MAX_ARGS});
  const kernels = data.names.map((name) => instance.exports[name]);
  post('ready');
  for (;;) {
    // Spin a little before sleeping: a training step calls the kernels a few hundred microseconds
    // apart, and a thread woken from sleep took ~0.2 ms to start, as long as a GELU share.
    const spinUntil = performance.now() + ${SPIN_MS};
    while (Atomics.load(control, ${STATE}) === ${IDLE} && performance.now() < spinUntil) {}
    Atomics.wait(control, ${STATE}, ${IDLE});
    const state = Atomics.load(control, ${STATE});
    if (state === ${STOP}) return;
    if (state !== ${WORK}) continue;
    try {
      kernels[control[${KERNEL}]](...args.subarray(0, control[${ARG_COUNT}]));
      control[${FAILED}] = 0;
    } catch (err) {
      control[${FAILED}] = 1;
    }
    Atomics.store(control, ${STATE}, ${DONE});
    Atomics.notify(control, ${STATE});
  }
}
if (typeof require === 'function') {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (data) => start(data, (m) => parentPort.postMessage(m)));
} else {
  self.onmessage = (event) => start(event.data, (m) => self.postMessage(m));
}
`;

interface Helper {
  control: Int32Array;
  args: Float64Array;
  stop(): void;
}

/** The kernels split over the caller and its helpers. */
export interface SimdThreads {
  /** How many shares a kernel's work is split into: the caller's and one per helper. */
  readonly parts: number;
  /** Shares run on helpers so far (tests check that work was split). */
  readonly helperShares: number;
  /** Whether the helpers were stopped (`close`, or one stopped answering). */
  readonly closed: boolean;
  /**
   * Runs `kernel` once per entry of `shares` (its arguments): the first on the calling thread, the
   * others on helpers, at the same time. Returns when all are done; throws if any failed.
   */
  run(kernel: ThreadedKernel, shares: readonly (readonly number[])[]): void;
  /** Stops the helpers; kernels then run on the caller only. */
  close(): void;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

/** Whether this thread may block in Atomics.wait (not a browser page's main thread). */
function mayBlock(): boolean {
  if (isNode()) return true;
  return typeof (globalThis as { document?: unknown }).document === 'undefined';
}

/** Whether helper threads can run here: SharedArrayBuffer exists and this thread may wait for them. */
export function simdHelpersPossible(): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && mayBlock();
}

async function startHelper(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<Helper> {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const init = { module, memory, control, names: THREADED_KERNELS };
  let stop: () => void;
  let ready: Promise<void>;
  if (isNode()) {
    // A specifier in a variable: browser bundlers leave it alone, and the browser never gets here.
    const id = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ id)) as typeof import('node:worker_threads');
    // Without this process's loader flags (tsx, vitest): the helper is plain JavaScript.
    const worker = new Worker(HELPER_SOURCE, { eval: true, execArgv: [] });
    // It blocks in Atomics.wait between kernels; it must not keep a finished process alive.
    worker.unref();
    ready = new Promise((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the SIMD helper thread exited (${code})`)));
    });
    worker.postMessage(init);
    stop = () => void worker.terminate();
  } else {
    const url = URL.createObjectURL(new Blob([HELPER_SOURCE], { type: 'application/javascript' }));
    const worker = new Worker(url);
    URL.revokeObjectURL(url);
    ready = new Promise((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (event) => reject(new Error(event.message || 'the SIMD helper thread failed to start'));
    });
    worker.postMessage(init);
    stop = () => worker.terminate();
  }
  await ready;
  const ints = new Int32Array(control, 0, 4);
  return {
    control: ints,
    args: new Float64Array(control, ARGS_OFFSET_BYTES, MAX_ARGS),
    stop: () => {
      Atomics.store(ints, STATE, STOP);
      Atomics.notify(ints, STATE);
      stop();
    },
  };
}

/**
 * Starts `helpers` helper threads on `memory` (shared) for the kernels in `module`, `local` being the
 * caller's own instance. Resolves to null where helpers cannot run (no SharedArrayBuffer, a memory
 * that is not shared, a thread that may not block) or helpers = 0.
 */
export async function startSimdThreads(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  local: SimdKernels,
  helpers: number,
): Promise<SimdThreads | null> {
  if (helpers < 1 || !simdHelpersPossible() || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  const started = await Promise.all(Array.from({ length: helpers }, () => startHelper(module, memory)));
  let closed = false;
  let helperShares = 0;
  const call = (kernel: ThreadedKernel, args: readonly number[]) => (local[kernel] as (...a: number[]) => void)(...args);
  return {
    parts: helpers + 1,
    get helperShares() {
      return helperShares;
    },
    get closed() {
      return closed;
    },
    run(kernel, shares) {
      if (closed || shares.length <= 1) {
        for (const share of shares) call(kernel, share);
        return;
      }
      if (shares.length > started.length + 1) throw new Error(`${shares.length} shares for ${started.length + 1} threads.`);
      // Checked before any helper is woken, so that a refusal leaves none of them working.
      const tooLong = shares.find((share) => share.length > MAX_ARGS);
      if (tooLong) throw new Error(`${kernel} takes ${tooLong.length} arguments; a helper takes ${MAX_ARGS} at most.`);
      const index = THREADED_KERNELS.indexOf(kernel);
      const busy = started.slice(0, shares.length - 1);
      helperShares += busy.length;
      busy.forEach((helper, i) => {
        const share = shares[i + 1]!;
        helper.args.set(share);
        helper.control[KERNEL] = index;
        helper.control[ARG_COUNT] = share.length;
        Atomics.store(helper.control, STATE, WORK);
        Atomics.notify(helper.control, STATE);
      });
      let failure: unknown = null;
      try {
        call(kernel, shares[0]!);
      } catch (err) {
        failure = err;
      }
      for (const helper of busy) {
        const deadline = performance.now() + HELPER_TIMEOUT_MS;
        const spinUntil = performance.now() + SPIN_MS;
        while (Atomics.load(helper.control, STATE) === WORK && performance.now() < spinUntil);
        while (Atomics.load(helper.control, STATE) === WORK) {
          const left = deadline - performance.now();
          if (left <= 0) {
            closed = true;
            for (const h of started) h.stop();
            throw new Error(`A SIMD helper thread did not finish ${kernel} in ${HELPER_TIMEOUT_MS / 1000} s; the kernels run on one thread from now on.`);
          }
          Atomics.wait(helper.control, STATE, WORK, left);
        }
        if (helper.control[FAILED]) failure ??= new Error(`A SIMD helper thread failed in ${kernel}.`);
        Atomics.store(helper.control, STATE, IDLE);
      }
      if (failure) throw failure;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const helper of started) helper.stop();
    },
  };
}

/**
 * [start, count] shares of `total` items for `parts` threads, each a multiple of `align` (the last
 * takes the rest), none smaller than `minimum` items: fewer shares when there is little work.
 */
export function shareRanges(total: number, parts: number, align: number, minimum: number): [number, number][] {
  const usable = Math.max(1, Math.min(parts, Math.floor(total / Math.max(minimum, 1))));
  const step = Math.ceil(total / usable / align) * align;
  const ranges: [number, number][] = [];
  for (let start = 0; start < total; start += step) ranges.push([start, Math.min(step, total - start)]);
  return ranges.length ? ranges : [[0, total]];
}
