/**
 * Drawing previews on canvases: pictures (image, channel grid, heat map, bar strip, probabilities),
 * histograms and a line over steps. Pixels are set from numbers only; nothing here becomes HTML.
 */
import type { Histogram, PreviewPicture } from '../../runtime/preview-data';
import { gridFor } from './picture-size';

export { gridFor, pictureSize } from './picture-size';

/** A perceptual ramp (dark violet → teal → yellow, after viridis), 0..1 → [r, g, b]. */
const RAMP: Array<[number, number, number]> = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];
export function rampColour(t: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i]!,
    b = RAMP[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

function rangeOf(values: Float32Array): { lo: number; hi: number } {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo > hi ? { lo: 0, hi: 1 } : { lo, hi };
}

let scratch: HTMLCanvasElement | undefined;
/** Puts an RGBA image of w × h into a rectangle of the target, scaled without smoothing (cells stay crisp). */
function blit(ctx: CanvasRenderingContext2D, rgba: Uint8ClampedArray, w: number, h: number, x: number, y: number, dw: number, dh: number) {
  scratch ??= document.createElement('canvas');
  scratch.width = w;
  scratch.height = h;
  const sctx = scratch.getContext('2d')!;
  const image = sctx.createImageData(w, h);
  image.data.set(rgba);
  sctx.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, 0, 0, w, h, x, y, dw, dh);
}

export interface DrawColours {
  bar: string;
  muted: string;
  axis: string;
}

/**
 * Draws a preview picture into the whole canvas (its pixel size). Images and grids keep their aspect
 * and sit at the left; heat maps fill the canvas; bars share one scale with a zero line.
 */
export function drawPicture(canvas: HTMLCanvasElement, picture: PreviewPicture, colours: DrawColours): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const W = canvas.width,
    H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const { values } = picture;
  if (picture.kind === 'image') {
    const [h, w, c] = picture.shape as [number, number, number];
    // Inputs in [0, 1] (pixels) show as they are; anything else is stretched to its own range.
    const { lo, hi } = rangeOf(values);
    const [a, b] = lo >= 0 && hi <= 1 ? [0, 1] : [lo, hi];
    const span = b - a || 1;
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      for (let k = 0; k < 3; k++) rgba[i * 4 + k] = ((values[i * c + (c === 3 ? k : 0)]! - a) / span) * 255;
      rgba[i * 4 + 3] = 255;
    }
    const scale = Math.min(W / w, H / h);
    blit(ctx, rgba, w, h, 0, 0, Math.round(w * scale), Math.round(h * scale));
    return;
  }
  if (picture.kind === 'channels' || picture.kind === 'heat') {
    const planes = picture.kind === 'channels' ? picture.shape[0]! : 1;
    const h = picture.kind === 'channels' ? picture.shape[1]! : picture.shape[0]!;
    const w = picture.kind === 'channels' ? picture.shape[2]! : picture.shape[1]!;
    // One scale for the whole grid, so channels compare with each other.
    const { lo, hi } = rangeOf(values);
    const span = hi - lo || 1;
    const toRgba = (offset: number) => {
      const rgba = new Uint8ClampedArray(w * h * 4);
      for (let i = 0; i < w * h; i++) {
        const [r, g, b] = rampColour((values[offset + i]! - lo) / span);
        rgba.set([r, g, b, 255], i * 4);
      }
      return rgba;
    };
    if (picture.kind === 'heat') {
      blit(ctx, toRgba(0), w, h, 0, 0, W, H);
      return;
    }
    const gap = Math.max(1, Math.round(W / 64));
    const { cols, cell } = gridFor(planes, w / h, W, H, gap);
    const cellH = Math.max(1, Math.round(cell * (h / w)));
    for (let k = 0; k < planes; k++) {
      const x = (k % cols) * (cell + gap);
      const y = Math.floor(k / cols) * (cellH + gap);
      blit(ctx, toRgba(k * w * h), w, h, x, y, cell, cellH);
    }
    return;
  }
  // Bars: probabilities on a fixed 0–1 scale with the most likely class marked; other vectors on their own range, around zero.
  const n = values.length;
  const probs = picture.kind === 'probabilities';
  const { lo, hi } = probs ? { lo: 0, hi: 1 } : rangeOf(values);
  const top = Math.max(hi, 0),
    bottom = Math.min(lo, 0);
  const span = top - bottom || 1;
  const zero = H * (top / span);
  const gap = n <= 16 ? Math.max(1, Math.round(W / 64)) : 0;
  const bw = (W - gap * (n - 1)) / n;
  let best = 0;
  for (let i = 1; i < n; i++) if (values[i]! > values[best]!) best = i;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const y = H * ((top - Math.max(v, 0)) / span);
    const bh = Math.max(probs ? 1 : 0.5, (H * Math.abs(v)) / span);
    ctx.fillStyle = probs && i !== best ? colours.muted : colours.bar;
    ctx.fillRect(i * (bw + gap), v >= 0 ? y : zero, Math.max(1, bw), bh);
  }
  if (!probs && bottom < 0) {
    ctx.fillStyle = colours.axis;
    ctx.fillRect(0, Math.round(zero), W, 1);
  }
}

/** A histogram filling the canvas: bins as bars, a zero marker when zero is inside the range. */
export function drawHistogram(canvas: HTMLCanvasElement, histogram: Histogram, colours: DrawColours): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const W = canvas.width,
    H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const n = histogram.counts.length;
  const most = Math.max(1, ...histogram.counts);
  const bw = W / n;
  ctx.fillStyle = colours.bar;
  histogram.counts.forEach((c, i) => {
    if (c === 0) return;
    // A square-root scale: a few outliers stay visible next to a tall peak.
    const bh = Math.max(1, Math.sqrt(c / most) * (H - 1));
    ctx.fillRect(i * bw + 0.5, H - bh, Math.max(1, bw - 1), bh);
  });
  if (histogram.lo < 0 && histogram.hi > 0) {
    ctx.fillStyle = colours.axis;
    ctx.fillRect(Math.round((-histogram.lo / (histogram.hi - histogram.lo)) * W), 0, 1, H);
  }
}

/** A line of values over steps, scaled to its own range, with a dot on the latest. */
export function drawLine(canvas: HTMLCanvasElement, points: ReadonlyArray<{ x: number; y: number }>, colour: string): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const W = canvas.width,
    H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const finite = points.filter((p) => Number.isFinite(p.y));
  if (finite.length === 0) return;
  const x0 = finite[0]!.x,
    x1 = finite[finite.length - 1]!.x;
  let lo = Math.min(...finite.map((p) => p.y)),
    hi = Math.max(...finite.map((p) => p.y));
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = 3;
  const px = (x: number) => (x1 === x0 ? W / 2 : pad + ((x - x0) / (x1 - x0)) * (W - 2 * pad));
  const py = (y: number) => pad + (1 - (y - lo) / (hi - lo)) * (H - 2 * pad);
  ctx.strokeStyle = colour;
  ctx.lineWidth = Math.max(1, W / 200);
  ctx.beginPath();
  finite.forEach((p, i) => (i ? ctx.lineTo(px(p.x), py(p.y)) : ctx.moveTo(px(p.x), py(p.y))));
  ctx.stroke();
  const last = finite[finite.length - 1]!;
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.arc(px(last.x), py(last.y), Math.max(2, W / 100), 0, Math.PI * 2);
  ctx.fill();
}

let cached: { at: number; colours: DrawColours } | undefined;
/**
 * The theme's colours (CSS variables), so previews follow light and dark themes. Read at most once a
 * second: a style read per node would cost a style recalculation each with a thousand nodes.
 */
export function themeColours(element: Element): DrawColours {
  const now = performance.now();
  if (cached && now - cached.at < 1000) return cached.colours;
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const colours = { bar: read('--accent', '#3b6fd8'), muted: read('--muted', '#8a8f98'), axis: read('--border', '#c8ccd2') };
  cached = { at: now, colours };
  return colours;
}
