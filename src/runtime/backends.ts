import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
// The threaded build's pthread workers load this script as it ships (see wasm-module.ts for why not the bundle).
import wasmThreadedScript from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?url';
import type { BackendChoice, BackendName } from './worker/protocol';
import { describeWasmThreads, useWasmBackend } from './wasm-backend';
import { registerTrainingGradients } from './wasm-kernels';

/**
 * Backend choice in the browser (worker). On a real GPU, WebGPU then WebGL are fastest; on a
 * software rasteriser (SwiftShader, llvmpipe: headless Chromium, VMs) they are 5–20× slower than
 * WASM with our gradient kernels (measured in shared/notes/tech-probe.md), so "auto" skips them.
 */
export interface BackendProbe {
  available: BackendName[];
  software: boolean;
  reason: string;
}

async function gpuRenderer(): Promise<string | null> {
  try {
    const canvas = new OffscreenCanvas(1, 1);
    const gl = canvas.getContext('webgl2') as WebGL2RenderingContext | null;
    if (!gl) return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    return String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  } catch {
    return null;
  }
}

export async function probeBackends(): Promise<BackendProbe> {
  const available: BackendName[] = [];
  const nav = (globalThis as { navigator?: { gpu?: { requestAdapter: () => Promise<unknown> } } }).navigator;
  const adapter = nav?.gpu ? await nav.gpu.requestAdapter().catch(() => null) : null;
  if (adapter) available.push('webgpu');
  const renderer = await gpuRenderer();
  if (renderer) available.push('webgl');
  available.push('wasm', 'cpu');
  const software = renderer === null || /swiftshader|llvmpipe|software/i.test(renderer);
  const reason = renderer ? `WebGL renderer: ${renderer}` : 'no WebGL';
  return { available, software, reason };
}

/**
 * Starts a backend; for wasm, says on how many threads (every logical core the browser reports,
 * at most 8; one where the page is not cross-origin isolated, and why).
 */
async function activate(name: BackendName): Promise<string | undefined> {
  if (name === 'wasm') {
    const threads = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
    const status = await useWasmBackend({
      threads,
      urls: { plain: wasmPlain, simd: wasmSimd, threadedSimd: wasmThreaded, threadedScript: wasmThreadedScript },
    });
    return describeWasmThreads(status);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs could not start the ${name} backend.`);
  await tf.ready();
  // LayerNormalization's tiled statistics would otherwise differentiate as one Slice and Add per copy.
  registerTrainingGradients();
  return undefined;
}

/**
 * Activates the requested backend, or for "auto" the fastest that works here; falls back down the
 * list when one fails to start. Returns the active backend and why it was chosen.
 */
export async function selectBackend(
  choice: BackendChoice,
  probe: BackendProbe,
  /** Backends that already failed on this model, with why: skipped, and named in the reason. */
  failed: ReadonlyMap<BackendName, string> = new Map(),
): Promise<{ name: BackendName; reason: string }> {
  const preferred: BackendName[] =
    choice !== 'auto'
      ? [choice, ...(['wasm', 'cpu'] as BackendName[]).filter((b) => b !== choice)]
      : probe.software
        ? ['wasm', 'cpu']
        : ['webgpu', 'webgl', 'wasm', 'cpu'];
  const order = preferred.filter((b) => !failed.has(b));
  const failures: string[] = [...failed].map(([name, why]) => `${name} failed on this model: ${why}`);
  for (const name of order) {
    if (!probe.available.includes(name)) {
      failures.push(`${name} is not available here`);
      continue;
    }
    try {
      const detail = await activate(name);
      const why =
        choice === 'auto'
          ? probe.software
            ? `chosen automatically: the GPU is a software renderer (${probe.reason}), where wasm trains fastest`
            : 'chosen automatically: fastest available'
          : name === choice
            ? 'chosen by you'
            : `fallback: ${failures.join('; ')}`;
      const reason = failures.length && (choice === 'auto' || name === choice) ? `${why} (${failures.join('; ')})` : why;
      return { name, reason: detail ? `${detail}; ${reason}` : reason };
    } catch (err) {
      failures.push(`${name} failed to start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`No tfjs backend could start: ${failures.join('; ')}.`);
}
