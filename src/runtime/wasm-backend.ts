/**
 * Switches tfjs to the WASM backend with Patchbay's training kernels registered.
 *
 * Node: the `.wasm` binaries are located next to the installed `@tensorflow/tfjs-backend-wasm`
 * package (resolved at run time; `node:module` is imported dynamically so that browser bundles never
 * see it). Browser: pass the URL prefix the three `.wasm` files are served from (for example
 * `new URL('/wasm/', location.href).href`) or a file-name → URL map; without one, paths already
 * given to `setWasmPaths` are kept.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './wasm-kernels';

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

/** The `dist/` folder of the installed tfjs-backend-wasm package, with a trailing slash (Node only). */
async function nodeWasmDir(): Promise<string> {
  // Specifiers in variables: bundlers for the browser leave these imports alone (and quiet), and the
  // browser never reaches them.
  const moduleId = 'node:module';
  const pathId = 'node:path';
  const [{ createRequire }, path] = (await Promise.all([import(/* @vite-ignore */ moduleId), import(/* @vite-ignore */ pathId)])) as [
    typeof import('node:module'),
    typeof import('node:path'),
  ];
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/';
}

/** A URL prefix / folder, or a map from `.wasm` file name to URL, as `setWasmPaths` takes. */
export type WasmPaths = Parameters<typeof setWasmPaths>[0];

/**
 * Makes 'wasm' the active tfjs backend, able to train conv nets.
 * @param wasmPath URL prefix (browser) or folder (Node) holding the tfjs-backend-wasm `.wasm` files,
 *   or a map from file name to URL. Optional: in Node it defaults to the installed package's `dist/`
 *   folder; in the browser, paths set earlier with `setWasmPaths` (or tfjs's default, next to the
 *   script) are kept.
 */
export async function useWasmBackend(wasmPath?: WasmPaths): Promise<void> {
  const path = wasmPath ?? (isNode() ? await nodeWasmDir() : undefined);
  if (path !== undefined) setWasmPaths(path);
  // Threaded wasm builds its pthread workers from a stringified factory, which minified bundles
  // break (setBackend then never resolves); on the 2-core targets threads bring nothing anyway.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  registerWasmTrainingKernels();
  const ok = await tf.setBackend('wasm');
  if (!ok || tf.getBackend() !== 'wasm') throw new Error('tfjs could not initialise the wasm backend.');
}
