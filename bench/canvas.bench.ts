/**
 * The canvas at 1,000 nodes in headless Chromium (run with `npx tsx bench/canvas.bench.ts`; `npm run
 * bench` runs it too): a residual convolutional network of 1,000 real layers (bench/graphs.ts) is
 * opened and the whole of it fitted on a 1920×1080 screen, then a node is dragged around with the
 * mouse for a few seconds, then the canvas is panned. Frame rate comes from requestAnimationFrame
 * timestamps in the page, long tasks from a PerformanceObserver. The machine's load average is
 * printed with the figures: on a shared machine they move with it, so compare them within one run.
 *
 * CANVAS_PROFILE=1 builds without minifying and prints the functions with the most self time while
 * dragging (Chrome's sampling profiler over CDP), the way the fixes in Canvas.tsx were found.
 * CANVAS_SECONDS sets each gesture's length (default 3). CANVAS_EDIT_ONLY=1 measures only the param
 * edit (no drags or pans), for comparing builds run after run.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { CDPSession, Page } from 'playwright-core';
import { startHarness, openDocument, openEditor, settleView, zoomOf, LARGE } from '../test/e2e/harness';
import { residualConvGraph } from './graphs';

const PROFILE = process.env.CANVAS_PROFILE === '1';
const SECONDS = Number(process.env.CANVAS_SECONDS ?? 3);
const EDIT_ONLY = process.env.CANVAS_EDIT_ONLY === '1';
/** A mouse reports about 60 moves a second. */
const MOVE_EVERY_MS = 16;

interface Measure {
  frames: number[];
  seconds: number;
  longTasks: number[];
  moves: number;
}

/** Fits the whole graph in view (the Controls' fit button), waits for the view and the rendered nodes to settle, and says how many nodes are wholly on screen and at what zoom. */
async function fitAll(page: Page): Promise<{ onScreen: number; zoom: number }> {
  await page.waitForTimeout(2000);
  await page.locator('.react-flow__controls-fitview').click();
  await settleView(page, { everyMs: 500, tries: 60 });
  await page.waitForTimeout(1000);
  if (process.env.CANVAS_SHOT) await page.screenshot({ path: process.env.CANVAS_SHOT });
  const zoom = await zoomOf(page);
  const onScreen = await page.evaluate(() => {
    const flow = document.querySelector('.react-flow')!.getBoundingClientRect();
    return [...document.querySelectorAll('.react-flow__node')].filter((n) => {
      const r = n.getBoundingClientRect();
      return r.width > 0 && r.left >= flow.left && r.right <= flow.right && r.top >= flow.top && r.bottom <= flow.bottom;
    }).length;
  });
  return { onScreen, zoom };
}

/**
 * Whether the previews of the pinned example are in and none is out of date (the pin bar says so:
 * zoomed far out the nodes draw no previews, so counting preview canvases tells nothing there).
 */
const previewsReady = () =>
  document.querySelector('[data-testid="pin-label"]')?.getAttribute('data-status') === 'ready' && !document.querySelector('.pb-previews-stale');

/** Previews of the pinned example run in a worker after loading; measure once they have arrived. */
async function waitForPreviews(page: Page): Promise<void> {
  await page
    .waitForFunction(previewsReady, undefined, { timeout: 180_000 })
    .catch(() => console.warn('  (no previews arrived within 3 minutes; measuring without them)'));
  await page.waitForTimeout(2000);
}

async function startRecording(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as {
      bench: { frames: number[]; longTasks: number[]; stop: boolean; start: number; end: number; observer: PerformanceObserver };
    };
    const bench = {
      frames: [] as number[],
      longTasks: [] as number[],
      stop: false,
      start: performance.now(),
      end: 0,
      observer: null as unknown as PerformanceObserver,
    };
    bench.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) bench.longTasks.push(e.duration);
    });
    bench.observer.observe({ type: 'longtask' });
    const tick = (t: number) => {
      bench.frames.push(t);
      if (!bench.stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    w.bench = bench;
  });
}

async function stopRecording(page: Page, moves: number): Promise<Measure> {
  const r = await page.evaluate(() => {
    const w = window as unknown as { bench: { frames: number[]; longTasks: number[]; stop: boolean; observer: PerformanceObserver } };
    w.bench.stop = true;
    w.bench.observer.disconnect();
    return { frames: w.bench.frames, longTasks: w.bench.longTasks };
  });
  const t = r.frames;
  const intervals = t.slice(1).map((x, i) => x - t[i]!);
  return { frames: intervals, seconds: (t[t.length - 1]! - t[0]!) / 1000, longTasks: r.longTasks, moves };
}

/** Holds the mouse down at (x, y) and moves it along `path` (offsets by elapsed fraction) for SECONDS, about 60 moves a second. */
async function gesture(page: Page, x: number, y: number, path: (f: number) => { dx: number; dy: number }): Promise<number> {
  await page.mouse.move(x, y);
  await page.mouse.down();
  const start = Date.now();
  let moves = 0;
  for (;;) {
    const f = (Date.now() - start) / (SECONDS * 1000);
    if (f >= 1) break;
    const { dx, dy } = path(f);
    await page.mouse.move(x + dx, y + dy);
    moves++;
    const wait = MOVE_EVERY_MS - ((Date.now() - start) % MOVE_EVERY_MS);
    await page.waitForTimeout(wait);
  }
  const end = path(1);
  await page.mouse.move(x + end.dx, y + end.dy);
  await page.mouse.up();
  return moves;
}

/** A point on the empty canvas near the middle of the screen (where a press pans instead of grabbing a node). */
async function emptyPoint(page: Page): Promise<{ x: number; y: number }> {
  const p = await page.evaluate(() => {
    const r = document.querySelector('.react-flow')!.getBoundingClientRect();
    const cx = r.left + r.width / 2;
    const cy = r.top + r.height / 2;
    for (let d = 0; d < 300; d += 3)
      for (const [x, y] of [
        [cx + d, cy],
        [cx, cy + d],
        [cx - d, cy],
        [cx, cy - d],
      ] as const)
        if (document.elementFromPoint(x, y)?.classList.contains('react-flow__pane')) return { x, y };
    return null;
  });
  if (!p) throw new Error('no empty canvas near the middle of the screen');
  return p;
}

async function measureDrag(page: Page, nodeId: string): Promise<Measure> {
  let box = await page.getByTestId(`node-${nodeId}`).boundingBox();
  if (!box) throw new Error(`node ${nodeId} is not on screen`);
  // Selected first (the inspector opens it, a one-off cost), so that what is measured is the drag.
  await page.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
  await page.waitForTimeout(1500);
  box = (await page.getByTestId(`node-${nodeId}`).boundingBox())!;
  // The circle goes toward the middle of the canvas: near its edges React Flow pans the view while
  // dragging (auto-pan), and that is a pan, not the drag measured here.
  const flow = (await page.locator('.react-flow').boundingBox())!;
  const sx = box.x + box.width / 2 > flow.x + flow.width / 2 ? -1 : 1;
  const sy = box.y + box.height / 2 > flow.y + flow.height / 2 ? -1 : 1;
  await startRecording(page);
  // Held by its body, away from the handles at the middle of its top and bottom edges; round and
  // round a circle of 200 px, about once a second and a half, ending where it started (not on a wire).
  const turns = Math.max(1, Math.round(SECONDS / 1.5));
  const moves = await gesture(page, box.x + box.width * 0.25, box.y + box.height / 2, (f) => {
    const a = f * turns * 2 * Math.PI;
    return { dx: sx * 200 * Math.sin(a), dy: sy * 200 * (1 - Math.cos(a)) };
  });
  return stopRecording(page, moves);
}

async function measurePan(page: Page): Promise<Measure> {
  const { x, y } = await emptyPoint(page);
  await startRecording(page);
  const turns = Math.max(1, Math.round(SECONDS / 2));
  const moves = await gesture(page, x, y, (f) => {
    const a = f * turns * 2 * Math.PI;
    return { dx: 150 * Math.sin(a), dy: 100 * Math.sin(2 * a) };
  });
  return stopRecording(page, moves);
}

/**
 * A param edit in the inspector that breaks every residual join after it (the first Conv2D's filters,
 * 8 → 9: its block's Add then adds 8 channels to 9, and nothing after it has a shape), and back:
 * milliseconds from the input event until the broken join's mark and the last layer's shape line
 * (zoomed far out, where nodes have no lines, the mark) are drawn anew, to the next
 * animation frame (`shown`, what this bench has always reported), and until that frame's style,
 * layout and paint are done on the main thread (`painted`: a task queued from the frame's callback
 * runs after them), and the main thread's long tasks in the 1.5 s from the input (`busy`: what
 * follows the first frame too, such as React Flow measuring resized nodes and moving their wires,
 * and the preview refresh that finds the graph broken 350 ms later).
 */
async function paramEditRepaint(page: Page): Promise<{ shown: number; painted: number; busy: number }[]> {
  const box = (await page.getByTestId('node-n1').boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
  await page.getByLabel('Filters', { exact: true }).waitFor();
  await page.waitForTimeout(1000);
  const times: { shown: number; painted: number; busy: number }[] = [];
  for (const value of [9, 8, 9, 8]) {
    // Each break starts from the graph as a person sees it: its previews back from the fix before
    // (the worker takes seconds for 1,000 nodes), none still out of date.
    if (value === 9)
      await page
        .waitForFunction(previewsReady, undefined, { timeout: 60_000 })
        .catch(() => console.warn('  (previews did not come back within a minute of the fix)'));
    await page.waitForTimeout(500);
    times.push(
      await page.evaluate(async (value) => {
        const input = [...document.querySelectorAll('label')].find((l) => l.textContent === 'Filters')!.control as HTMLInputElement;
        // Drawn anew: the broken join (n5) marked or no longer, and the last layer's shape line
        // (zoomed far out nodes are boxes without lines, Canvas.tsx's FarView; both change in one commit).
        const join = () => document.querySelector('[data-testid="node-n5"]')?.className;
        const shape = () => document.querySelector('[data-testid="shape-n998"]')?.textContent;
        const [joinBefore, shapeBefore] = [join(), shape()];
        const drawn = () => join() !== joinBefore && (shapeBefore === undefined || shape() !== shapeBefore);
        const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
        const long: PerformanceEntry[] = [];
        const observer = new PerformanceObserver((list) => long.push(...list.getEntries()));
        observer.observe({ type: 'longtask' });
        const start = performance.now();
        setter.call(input, String(value));
        input.dispatchEvent(new Event('input', { bubbles: true }));
        while (!drawn()) await new Promise((r) => setTimeout(r, 0));
        await new Promise((r) => requestAnimationFrame(r));
        const shown = performance.now() - start;
        await new Promise((r) => setTimeout(r, 0));
        const painted = performance.now() - start;
        await new Promise((r) => setTimeout(r, Math.max(0, 1500 - painted)));
        observer.disconnect();
        const end = start + 1500;
        const busy = long.reduce((sum, t) => sum + Math.max(0, Math.min(end, t.startTime + t.duration) - Math.max(start, t.startTime)), 0);
        return { shown, painted, busy };
      }, value),
    );
    await page.waitForTimeout(1500);
  }
  return times;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const at = (xs: number[], q: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;

function line(what: string, m: Measure): string {
  const fps = m.frames.length / m.seconds;
  const long = m.longTasks.reduce((a, b) => a + b, 0);
  return (
    `${what}: ${fps.toFixed(1)} fps (${m.frames.length} frames in ${m.seconds.toFixed(1)} s, ${m.moves} mouse moves), ` +
    `frame median ${at(m.frames, 0.5).toFixed(1)} ms, p95 ${at(m.frames, 0.95).toFixed(1)} ms, longest ${Math.max(...m.frames).toFixed(0)} ms; ` +
    `long tasks ${m.longTasks.length} (${long.toFixed(0)} ms, longest ${m.longTasks.length ? Math.max(...m.longTasks).toFixed(0) : 0} ms)`
  );
}

/** The functions with the most self time in a CPU profile, with their share of the sampled time. */
function topSelfTime(
  profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] },
  n = 25,
): string[] {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const f = byId.get(id)!.callFrame;
    const file = f.url.split('/').pop() ?? '';
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
}

/** Total duration by event name on the renderer's main thread in a Chrome trace. */
function topTraceEvents(
  trace: { traceEvents: { name: string; ph: string; dur?: number; pid: number; tid: number; args?: { name?: string } }[] },
  n = 14,
): string[] {
  const main = trace.traceEvents.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const total = new Map<string, { us: number; count: number }>();
  for (const e of trace.traceEvents) {
    if (e.ph !== 'X' || !main || e.pid !== main.pid || e.tid !== main.tid || !e.dur) continue;
    const t = total.get(e.name) ?? { us: 0, count: 0 };
    t.us += e.dur;
    t.count++;
    total.set(e.name, t);
  }
  return [...total]
    .sort((a, b) => b[1].us - a[1].us)
    .slice(0, n)
    .map(([k, t]) => `${(t.us / 1000).toFixed(0).padStart(6)} ms  ${String(t.count).padStart(5)}×  ${k}`);
}

const h = await startHarness(PROFILE ? '.tmp/bench-canvas-profile-dist' : '.tmp/bench-canvas-dist', [], PROFILE ? { minify: false } : {});
try {
  // tsx keeps function names with a `__name` helper that page functions would not find.
  const page = await openEditor(h, LARGE, async (p) => {
    await p.addInitScript('window.__name = (f) => f');
  });
  const graph = residualConvGraph(1000);
  await openDocument(page, graph);
  const { onScreen, zoom } = await fitAll(page);
  await waitForPreviews(page);
  const previews = await page.evaluate(() => document.querySelectorAll('canvas.pb-preview-canvas').length);
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(', ');
  const loadBefore = load();

  let cdp: CDPSession | null = null;
  if (PROFILE) {
    cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
  }
  // Three drags of different nodes and two pans: on a loaded machine one gesture can land on a busy moment.
  const drags = EDIT_ONLY ? [] : [await measureDrag(page, 'n500')];
  let profileLines: string[] = [];
  if (cdp) profileLines = topSelfTime((await cdp.send('Profiler.stop')).profile as never);
  if (PROFILE) {
    // Where the renderer's main thread spends a drag besides script: style, layout, paint.
    await h.browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
    const traced = await measureDrag(page, 'n410');
    profileLines.push(`  renderer main thread while dragging again, ${line('traced', traced)} (trace events, nested ones counted in their parents too):`);
    profileLines.push(...topTraceEvents(JSON.parse((await h.browser.stopTracing()).toString('utf8'))));
  } else if (!EDIT_ONLY) {
    drags.push(await measureDrag(page, 'n410'), await measureDrag(page, 'n620'));
  }
  await page.waitForTimeout(1500);
  // The drags may have moved the view's contents; fit again so that the pans start from the same picture.
  if (!EDIT_ONLY) await fitAll(page);
  const pans = EDIT_ONLY ? [] : [await measurePan(page)];
  if (PROFILE) {
    // And a pan: the same selectors run on every viewport change, then the whole canvas is painted again.
    await h.browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
    const traced = await measurePan(page);
    profileLines.push(`  renderer main thread while panning, ${line('traced', traced)}:`);
    profileLines.push(...topTraceEvents(JSON.parse((await h.browser.stopTracing()).toString('utf8'))));
  } else if (!EDIT_ONLY) {
    pans.push(await measurePan(page));
  }

  const edits = PROFILE ? [] : await paramEditRepaint(page);

  console.log(
    `Canvas at 1,000 nodes in headless Chromium (software rendering), 1920×1080: ${graph.nodes.length} nodes and ${graph.edges.length} wires, ${onScreen} nodes wholly on screen at zoom ${zoom.toFixed(3)}, ${previews} node previews drawn; load average before ${loadBefore}, after ${load()} (${availableParallelism()} cores)`,
  );
  const fps = (m: Measure) => m.frames.length / m.seconds;
  const medianFps = (ms: Measure[]) => at(ms.map(fps), 0.5).toFixed(1);
  if (drags.length) {
    console.log(`  drag a node, whole graph on screen: median ${medianFps(drags)} fps over ${drags.length} drags of ${SECONDS} s`);
    drags.forEach((d, i) => console.log(`    ${line(`drag ${i + 1}`, d)}`));
  }
  if (pans.length) {
    console.log(`  pan the canvas, whole graph on screen: median ${medianFps(pans)} fps over ${pans.length} pans of ${SECONDS} s`);
    pans.forEach((p, i) => console.log(`    ${line(`pan ${i + 1}`, p)}`));
  }
  if (edits.length) {
    const shown = edits.map((t) => t.shown);
    const painted = edits.map((t) => t.painted);
    const busy = edits.map((t) => t.busy);
    console.log(
      `  param edit that breaks every residual join after it, and back (whole graph on screen): median ${at(shown, 0.5).toFixed(0)} ms (${shown.map((t) => t.toFixed(0)).join(', ')} ms); that frame painted: median ${at(painted, 0.5).toFixed(0)} ms (${painted.map((t) => t.toFixed(0)).join(', ')} ms); long tasks in the 1.5 s from the input: median ${at(busy, 0.5).toFixed(0)} ms (${busy.map((t) => t.toFixed(0)).join(', ')} ms)`,
    );
  }
  if (profileLines.length) {
    console.log('  self time while dragging (unminified build):');
    for (const l of profileLines) console.log(`    ${l}`);
  }
} finally {
  await h.close();
}
