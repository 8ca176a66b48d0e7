import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { mnistAsset } from './scripts/vite-plugin-mnist.ts';
import { mnistFullAssets } from './scripts/vite-plugin-mnist-full.ts';

/**
 * Cross-origin isolation: without it the browser gives no SharedArrayBuffer, and the wasm backend
 * trains on one thread instead of one per core. Any static host must send the same two headers
 * (README, "Hosting the built site").
 */
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  plugins: [react(), mnistAsset(), mnistFullAssets()],
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  build: {
    // Monaco's language chunks are large by nature; they load only when the code panel opens.
    chunkSizeWarningLimit: 4000,
    rolldownOptions: {
      output: {
        // Everything the first paint needs in one chunk: split into the dozen small chunks that
        // the lazily loaded parts happen to share, it gzips 7 kB larger (test/initial-bundle.test.ts).
        codeSplitting: { groups: [{ name: 'editor', tags: ['$initial'] }] },
      },
    },
  },
});
