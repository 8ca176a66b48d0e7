/**
 * Issue 12: the initial JavaScript stays under 250 kB gzipped. "Initial" is what index.html makes
 * the browser fetch before the editor can paint: its module script and the chunks it preloads
 * (modulepreload), which are the entry chunk's static imports. A production build, made here in
 * memory: builds made under vitest otherwise bundle React's development build (NODE_ENV is "test"),
 * some 70 kB more than a person downloads. On failure the message lists the chunks and the biggest
 * modules in them, so that the next thing to load lazily is easy to find.
 */
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, type Rolldown } from 'vite';

const ROOT = join(import.meta.dirname, '..');
/**
 * 250 kB with kB = 1,000 bytes, the unit of the issue and of vite's build report. This test gzips
 * with zlib's default (level 6); vite's report reads about 1% more for the same chunks (243.6 here
 * against vite's 245.9), so the budget is 1% under 250 kB, so that passing here means under 250 in
 * vite's report too.
 */
const BUDGET_BYTES = 247_500;

type Chunk = Rolldown.OutputChunk;
type Asset = Rolldown.OutputAsset;

async function productionBuild(): Promise<(Chunk | Asset)[]> {
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    const result = await build({ root: ROOT, mode: 'production', logLevel: 'warn', build: { write: false, outDir: join(ROOT, '.tmp/initial-bundle') } });
    return (Array.isArray(result) ? result : [result]).flatMap((r) => ('output' in r ? r.output : []));
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

/** The script index.html loads and the chunks it preloads, as file names under the output folder. */
function initialFiles(html: string): string[] {
  const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]+)"`).exec(tag)?.[1];
  const scripts = [...html.matchAll(/<script\b[^>]*type="module"[^>]*>/g)].map((m) => attr(m[0], 'src'));
  const preloads = [...html.matchAll(/<link\b[^>]*rel="modulepreload"[^>]*>/g)].map((m) => attr(m[0], 'href'));
  return [...scripts, ...preloads].filter((f): f is string => !!f).map((f) => f.replace(/^\//, ''));
}

const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;

describe('initial JavaScript', () => {
  it('index.html loads under 250 kB of gzipped JavaScript before the editor paints', async () => {
    const output = await productionBuild();
    const chunks = new Map(output.filter((o): o is Chunk => o.type === 'chunk').map((c) => [c.fileName, c]));
    const html = output.find((o): o is Asset => o.type === 'asset' && o.fileName === 'index.html');
    expect(html, 'the build has an index.html').toBeDefined();
    const files = initialFiles(String(html!.source));

    // The preloads are the entry's static imports, all of them: nothing the entry needs loads unpreloaded.
    const entry = chunks.get(files[0]!);
    expect(entry?.isEntry, `${files[0]} is the entry chunk`).toBe(true);
    const reached = new Set<string>();
    const stack = [entry!.fileName];
    while (stack.length) {
      const file = stack.pop()!;
      if (reached.has(file)) continue;
      reached.add(file);
      stack.push(...chunks.get(file)!.imports);
    }
    expect([...reached].sort()).toEqual([...new Set(files)].sort());

    // Measured on what a person gets: React's production build, not the development one.
    const modules = files.flatMap((f) => Object.entries(chunks.get(f)!.modules).map(([id, m]) => ({ id, size: m.renderedLength })));
    expect(modules.some((m) => m.id.includes('react-dom-client.production'))).toBe(true);
    expect(modules.some((m) => m.id.includes('.development.'))).toBe(false);

    const sizes = files.map((f) => ({ file: f, gzip: gzipSync(chunks.get(f)!.code).length }));
    const total = sizes.reduce((sum, s) => sum + s.gzip, 0);
    const biggest = modules
      .sort((a, b) => b.size - a.size)
      .slice(0, 40)
      .map((m) => `  ${kB(m.size).padStart(9)}  ${m.id.replace(`${ROOT}/`, '')}`);
    const report = [
      `Initial JavaScript: ${kB(total)} gzipped in ${files.length} files (budget ${kB(BUDGET_BYTES)}):`,
      ...sizes.sort((a, b) => b.gzip - a.gzip).map((s) => `  ${kB(s.gzip).padStart(9)}  ${s.file}`),
      'Biggest modules in them (before minifying):',
      ...biggest,
      'Load what the first paint does not show with import() where it is used (see src/editor/lazy-part.tsx).',
    ].join('\n');
    console.log(report.split('\n')[0]);
    expect(total, report).toBeLessThan(BUDGET_BYTES);
  });
});
