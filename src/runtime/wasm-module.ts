/**
 * Starts tfjs-backend-wasm's emscripten module ourselves instead of through the package's own
 * `init()`, because that one cannot run threads where Patchbay trains:
 *
 * - Its pthread workers load the main script from `wasmFactoryThreadedSimd.toString()`. A minifier
 *   renames the factory's closure variable `_scriptDir` (to `e`, say) and drops its `typeof`
 *   guard, so the stringified factory throws `ReferenceError: e is not defined` in every pthread
 *   worker; the module waits for all its pool workers to report "loaded" and `setBackend('wasm')`
 *   never resolves (the hang the tech probe saw in the minified build). We give the workers the
 *   package's own unminified script file (a URL in the browser, a path in Node) instead.
 * - In Node it refuses threads outright (`WASM_HAS_MULTITHREAD_SUPPORT` is false there), and its
 *   pthread worker is a `blob:` URL, which `worker_threads` cannot start: we write the worker's
 *   source to a file.
 * - Its C++ divides the logical core count by two (assuming hyper-threading) and caps the thread
 *   pool there, so a 2-core machine always got one thread. We answer the core-count import with
 *   twice the threads asked for, so the pool gets exactly that many.
 */
import threadedFactory from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
import singleFactory from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.js';
import type { BackendWasmModule } from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.js';

/** The emscripten pool is built with 8 workers made in advance; more would be spawned while the caller blocks. */
export const MAX_WASM_THREADS = 8;

export interface WasmAssets {
  /** The `.wasm` binary: the threaded SIMD build when `threaded` is given, else the SIMD (or plain) one. */
  binary: () => Promise<ArrayBuffer | Uint8Array>;
  /** For threads: where pthread workers load the emscripten script from, and the worker script itself (absolute URLs or paths). */
  threaded?: { mainScript: string; workerScript: string };
  /** Runs the factory's synchronous start, in which it creates its pool of workers (Node adjusts how they start). */
  aroundStart?: <T>(start: () => T) => T;
}

interface EmscriptenConfig {
  locateFile: (path: string, prefix: string) => string;
  mainScriptUrlOrBlob?: string;
  instantiateWasm: (imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => object;
  onAbort: (what: unknown) => void;
  /** Set by the factory as soon as it runs (threaded build): the pool to end when start-up fails. */
  PThread?: { terminateAllThreads: () => void };
}

/**
 * Creates and initialises one emscripten module of tfjs-backend-wasm, with `threads` XNNPACK
 * threads when `assets.threaded` is given (then SharedArrayBuffer must exist). Rejects, after
 * ending the module's workers, when it has not started within `timeoutMs`.
 */
export async function createWasmModule(assets: WasmAssets, threads: number, timeoutMs: number): Promise<BackendWasmModule> {
  let fail!: (err: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const config: EmscriptenConfig = {
    locateFile: (path, prefix) => (path.endsWith('.worker.js') && assets.threaded ? assets.threaded.workerScript : prefix + path),
    mainScriptUrlOrBlob: assets.threaded?.mainScript,
    instantiateWasm: (imports, receive) => {
      const env = imports.env as Record<string, unknown>;
      // See the file comment: the C++ halves this number and caps the pool at the result.
      if (assets.threaded) env.emscripten_num_logical_cores = () => 2 * threads;
      assets
        .binary()
        .then((bytes) => WebAssembly.instantiate(bytes as BufferSource, imports))
        .then(({ instance, module }) => receive(instance, module))
        .catch((err: unknown) => fail(new Error(`the wasm binary could not be loaded: ${err instanceof Error ? err.message : String(err)}`)));
      return {};
    },
    onAbort: (what) => fail(new Error(`the wasm module aborted: ${String(what)}`)),
  };
  const factory = (assets.threaded ? threadedFactory : singleFactory) as unknown as (config: EmscriptenConfig) => Promise<BackendWasmModule>;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`its workers did not start within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  try {
    // Wrapped in an object: the resolved module must not be mistaken for a thenable.
    const started = assets.aroundStart ? assets.aroundStart(() => factory(config)) : factory(config);
    const { module } = await Promise.race([started.then((module) => ({ module })), failed, timedOut]);
    // emscripten's cwrap takes null for a void return type.
    const voidType = null as unknown as string;
    const { cwrap } = module as unknown as { cwrap: (name: string, returns: string, args: string[]) => never };
    module.tfjs = {
      init: cwrap('init', voidType, []),
      initWithThreadsCount: cwrap('init_with_threads_count', voidType, ['number']),
      getThreadsCount: cwrap('get_threads_count', 'number', []),
      registerTensor: cwrap('register_tensor', voidType, ['number', 'number', 'number']),
      disposeData: cwrap('dispose_data', voidType, ['number']),
      dispose: cwrap('dispose', voidType, []),
    };
    return module;
  } catch (err) {
    config.PThread?.terminateAllThreads();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
