import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { mnistAsset } from './scripts/vite-plugin-mnist.ts';

export default defineConfig({
  plugins: [react(), mnistAsset()],
  worker: { format: 'es' },
  build: {
    // Monaco's language chunks are large by nature; they load only when the code panel opens.
    chunkSizeWarningLimit: 4000,
  },
});
