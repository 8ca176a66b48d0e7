/**
 * Switches tfjs to the WASM backend with Patchbay's training kernels registered, on one thread
 * (the SIMD build) or several (the threaded SIMD build: XNNPACK splits each kernel over a pool of
 * pthreads, which are Web Workers in the browser and worker_threads in Node).
 *
 * The emscripten module is started by `wasm-module.ts` rather than by the package's own `init()`;
 * that file says why. Node finds the binaries in the installed `@tensorflow/tfjs-backend-wasm`
 * (resolved at run time; Node modules are imported dynamically so that browser bundles never see
 * them). The browser passes the URLs its bundler gave the files.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import workerModule from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';
import { createWasmModule, MAX_WASM_THREADS, type WasmAssets } from './wasm-module';
import { registerWasmTrainingKernels } from './wasm-kernels';
import { attachSimdKernels, detachSimdKernels, simdHelperCount, simdThreadsNote, type WasmHeapBackend } from './simd-kernels';
import { simdHelpersPossible } from './simd-threads';

// The package's own start-up stays registered until our first call, and in a cross-origin isolated
// page it would take the threaded path that hangs in a minified bundle (wasm-module.ts): should
// anything start it (tf.ready() picking by priority), it must take the single-threaded path.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

/** Where the browser finds the three `.wasm` binaries and the threaded build's emscripten script. */
export interface WasmUrls {
  plain: string;
  simd: string;
  threadedSimd: string;
  /** `wasm-out/tfjs-backend-wasm-threaded-simd.js`, served as it is (not bundled, not minified). */
  threadedScript: string;
}

export interface WasmBackendOptions {
  /** XNNPACK threads, 1 to 8 (default 1: the single-threaded SIMD build, no workers). */
  threads?: number;
  /** Browser only: the files' URLs (relative ones resolve against the page). Node finds them itself. */
  urls?: WasmUrls;
  /** How long the threaded module may take to start its workers before one thread is used instead. */
  timeoutMs?: number;
}

export interface WasmBackendStatus {
  /** Threads the backend runs on. */
  threads: number;
  /** Threads asked for (after capping at 8). */
  requested: number;
  /** Why fewer threads than asked for run, written for a person; absent when all of them run. */
  note?: string;
  /** Null when Patchbay's SIMD kernels (simd-kernels.ts) are attached to the backend's heap; else why not. */
  simdKernelsOff: string | null;
  /** Where the backend has several threads but the SIMD kernels run on the caller's alone (simd-threads.ts): why; else absent. */
  simdThreadsOff?: string;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

/** Node's modules, imported by specifiers in variables: browser bundlers leave these alone, and the browser never reaches them. */
async function nodeModules() {
  const ids = ['node:module', 'node:path', 'node:fs', 'node:os', 'node:crypto', 'node:worker_threads'];
  const [mod, path, fs, os, crypto, workerThreads] = (await Promise.all(ids.map((id) => import(/* @vite-ignore */ id)))) as [
    typeof import('node:module'),
    typeof import('node:path'),
    typeof import('node:fs'),
    typeof import('node:os'),
    typeof import('node:crypto'),
    typeof import('node:worker_threads'),
  ];
  return { mod, path, fs, os, crypto, workerThreads };
}

let nodeWorkerThreads: typeof import('node:worker_threads') | undefined;

/**
 * The pthread worker's source (tfjs keeps it as a string) as a script. Its newlines inside string
 * literals arrive unescaped from the template literal it is stored in, hence the replace (tfjs does
 * the same before making its blob).
 */
const workerSource = () => workerModule.wasmWorkerContents.replace(/\n/g, '\\n');

async function nodeAssets(threaded: boolean, simd: boolean): Promise<WasmAssets> {
  const { mod, path, fs, os, crypto, workerThreads } = await nodeModules();
  nodeWorkerThreads = workerThreads;
  const pkg = path.dirname(mod.createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const file = threaded ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  const binary = () => fs.promises.readFile(path.join(pkg, 'dist', file));
  if (!threaded) return { binary };
  // worker_threads starts files, not blob: URLs: the worker's source goes to a file named by its
  // hash, written whole under a temporary name first so that concurrent processes never see half of it.
  const source = workerSource();
  const hash = crypto.createHash('sha256').update(source).digest('hex').slice(0, 16);
  const workerScript = path.join(os.tmpdir(), `patchbay-tfjs-wasm-pthread-${hash}.cjs`);
  if (!fs.existsSync(workerScript)) {
    const partial = `${workerScript}.${process.pid}.tmp`;
    fs.writeFileSync(partial, source);
    fs.renameSync(partial, workerScript);
  }
  return { binary, threaded: { mainScript: path.join(pkg, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js'), workerScript }, aroundStart: withoutLoaderHooks };
}

/**
 * Runs the emscripten factory with Node workers started without this process's loader flags
 * (tsx, vitest): the pthread script is plain CommonJS, and loading a TypeScript loader into each
 * of the 8 pool workers tripled the start-up (about 3 s instead of 1 s on 2 cores). The factory
 * assigns `globalThis.Worker` itself and then creates its pool synchronously, so for that call
 * `Worker` is a property that keeps our subclass.
 */
function withoutLoaderHooks<T>(start: () => T): T {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  const { Worker } = nodeWorkerThreads!;
  class PlainWorker extends Worker {
    constructor(file: string | URL, options: import('node:worker_threads').WorkerOptions = {}) {
      super(file, { ...options, execArgv: [] });
    }
  }
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PlainWorker, set: () => {} });
  try {
    return start();
  } finally {
    if (saved) Object.defineProperty(globalThis, 'Worker', saved);
    else delete (globalThis as { Worker?: unknown }).Worker;
  }
}

function browserAssets(urls: WasmUrls, threaded: boolean, simd: boolean): WasmAssets {
  // Pthread workers start from a blob: URL, against which a relative URL cannot resolve.
  const absolute = (url: string) => new URL(url, globalThis.location?.href).href;
  const wasmUrl = absolute(threaded ? urls.threadedSimd : simd ? urls.simd : urls.plain);
  const binary = async () => {
    const response = await fetch(wasmUrl, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`${wasmUrl} answered ${response.status}`);
    return response.arrayBuffer();
  };
  if (!threaded) return { binary };
  const workerScript = URL.createObjectURL(new Blob([workerSource()], { type: 'application/javascript' }));
  return { binary, threaded: { mainScript: absolute(urls.threadedScript), workerScript } };
}

/** Why this environment cannot run wasm threads, or null when it can. */
export function threadsUnavailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined' || (!isNode() && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false)) {
    return isNode()
      ? 'this Node has no SharedArrayBuffer'
      : 'the page is not cross-origin isolated (its server sends no COOP/COEP headers), so the browser gives no SharedArrayBuffer';
  }
  return null;
}

/** The 'wasm' backend registered by us: its thread count (the package's own registration until the first call). */
let registered: { threads: number; running: number; simdKernelsOff: string | null; simdThreadsOff: string | null } | null = null;

async function registerModule(threads: number, assets: WasmAssets, timeoutMs: number): Promise<void> {
  const module = await createWasmModule(assets, threads, timeoutMs);
  // On more than one thread Patchbay's SIMD kernels take the threads beyond the caller's (helper
  // threads, simd-threads.ts) and XNNPACK keeps one: its pool threads spin-wait after each of its
  // kernels, and on 2 cores they took the core from the helpers (measured on 2 threads: a Mixer step
  // 86 ms with both pools, 72 ms with the kernels on one thread, 44 ms this way; ConvMixer 87 → 64 ms;
  // the diffusion template's UNet 269 → 233 ms). BackendWasm's constructor sizes XNNPACK's pool.
  const ownHelpers = threads > 1 && simdHelpersPossible();
  setThreadsCount(ownHelpers ? 1 : threads);
  const backend = new BackendWasm(module);
  // Patchbay's SIMD kernels share this heap; without them (no SIMD) the composed kernels run.
  const simdKernelsOff = await attachSimdKernels(backend as unknown as WasmHeapBackend, threads, ownHelpers ? 1 : threads);
  // XNNPACK's pool threads wait for work forever, and emscripten keeps a pthread's Node worker
  // referenced (the idle ones of its pool too): the process would never exit when its work is done.
  // The main thread blocks while the pool computes, so nothing needs the workers to hold the event
  // loop open.
  const pool = (module as unknown as { PThread?: { runningWorkers: Array<{ unref?: () => void }>; unusedWorkers?: Array<{ unref?: () => void }> } }).PThread;
  if (isNode()) for (const worker of [...(pool?.runningWorkers ?? []), ...(pool?.unusedWorkers ?? [])]) worker.unref?.();
  if (tf.findBackendFactory('wasm')) {
    // The backend being replaced: its SIMD helper threads hold its whole heap.
    const previous = tf.engine().registry['wasm'];
    if (previous) detachSimdKernels(previous);
    tf.removeBackend('wasm');
  }
  tf.registerBackend('wasm', () => backend, 2);
  const running = ownHelpers ? 1 + simdHelperCount(backend) : getThreadsCount();
  registered = { threads, running, simdKernelsOff, simdThreadsOff: simdThreadsNote(backend) };
}

/**
 * Makes 'wasm' the active tfjs backend, able to train conv nets, on `threads` threads where the
 * environment allows (else one, and `note` says why). Calling it again with another thread count
 * replaces the backend (tensors on the old one are gone).
 */
export function useWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackendStatus> {
  // One start at a time: two overlapping starts each registered a module, and the second replaced
  // the backend the first had handed out (its tensors and models then read a freed heap).
  const started = starting.then(() => startWasmBackend(options));
  starting = started.catch(() => undefined);
  return started;
}
let starting: Promise<unknown> = Promise.resolve();

async function startWasmBackend(options: WasmBackendOptions): Promise<WasmBackendStatus> {
  const requested = Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(options.threads ?? 1)));
  const timeoutMs = options.timeoutMs ?? 20_000;
  if (!isNode() && !options.urls) throw new Error('useWasmBackend needs the wasm files’ URLs in the browser.');
  registerWasmTrainingKernels();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  const assetsFor = (threaded: boolean) => (isNode() ? nodeAssets(threaded, simd) : Promise.resolve(browserAssets(options.urls!, threaded, simd)));
  let note: string | undefined =
    (options.threads ?? 1) > MAX_WASM_THREADS ? `${MAX_WASM_THREADS} threads, the most the wasm build's worker pool holds` : undefined;
  let threads = requested;
  if (requested > 1) {
    const why = threadsUnavailable() ?? (simd ? null : 'this engine has no WebAssembly SIMD, which the threaded build needs');
    if (why) {
      note = `one thread: ${why}`;
      threads = 1;
    }
  }
  if (registered?.threads !== threads) {
    try {
      await registerModule(threads, await assetsFor(threads > 1), timeoutMs);
    } catch (err) {
      if (threads === 1) throw new Error(`tfjs could not initialise the wasm backend: ${err instanceof Error ? err.message : String(err)}`);
      note = `one thread: ${threads} threads could not start (${err instanceof Error ? err.message : String(err)})`;
      threads = 1;
      if (registered?.threads !== 1) await registerModule(1, await assetsFor(false), timeoutMs);
    }
  }
  const ok = await tf.setBackend('wasm');
  if (!ok || tf.getBackend() !== 'wasm') throw new Error('tfjs could not initialise the wasm backend.');
  const running = registered!.running;
  if (running < threads && !note) note = `${running} of ${threads} threads started`;
  return {
    threads: running,
    requested,
    ...(note ? { note } : {}),
    simdKernelsOff: registered ? registered.simdKernelsOff : 'the wasm backend was not started here',
    ...(registered?.simdThreadsOff ? { simdThreadsOff: registered.simdThreadsOff } : {}),
  };
}

/**
 * "2 threads, SIMD kernels", or "one thread: <why>, SIMD kernels" when fewer run than were asked
 * for; "…, no SIMD kernels (<why>)" where Patchbay's SIMD kernels could not attach (the composed,
 * slower kernels run), so that a silent failure to attach shows; "2 threads, SIMD kernels on one of
 * them (<why>)" where their helper threads could not start.
 */
export function describeWasmThreads(status: WasmBackendStatus): string {
  const threads = status.note ?? (status.threads === 1 ? 'one thread' : `${status.threads} threads`);
  if (status.simdKernelsOff) return `${threads}, no SIMD kernels (${status.simdKernelsOff})`;
  return status.simdThreadsOff ? `${threads}, SIMD kernels on one of them (${status.simdThreadsOff})` : `${threads}, SIMD kernels`;
}
