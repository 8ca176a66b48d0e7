/**
 * Drawing the class token's attention over the patches of an image: a perceptual colour map
 * (magma-like: black → purple → orange → pale yellow), the head average, and the picture itself: the
 * image in grey, each patch tinted by its weight, the patch grid on top. Pure functions of numbers
 * and a 2-D context, so that what the attention view draws can be reasoned about apart from React.
 */

/** Stops of the colour map, from no attention to the largest. */
const STOPS: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, 4],
  [59, 15, 112],
  [140, 41, 129],
  [222, 73, 104],
  [254, 159, 109],
  [252, 253, 191],
];

/** The colour of a weight in [0, 1] (clamped), as [r, g, b] in 0–255. */
export function heatColour(v: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, Number.isFinite(v) ? v : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(t));
  const f = t - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}

/** The mean over heads of [head][patch] weights (the patches of one image), as [patch]. */
export function headAverage(values: Float32Array, heads: number, patches: number): Float32Array {
  const out = new Float32Array(patches);
  for (let h = 0; h < heads; h++) for (let p = 0; p < patches; p++) out[p]! += values[h * patches + p]! / heads;
  return out;
}

export interface HeatPicture {
  /** One image's values, row-major [height][width][channels]. */
  image: Float32Array;
  /** [height, width, channels]. */
  shape: number[];
  /** The class token's weight on each patch, row-major over the grid. */
  weights: Float32Array;
  /** Patch rows × columns. */
  grid: [number, number];
  /** The weight drawn at full colour (the map's own largest, or the largest of all maps shown). */
  scale: number;
  /** Write each patch's weight as a percentage (a large map only). */
  labels?: boolean;
}

/** The image as a greyscale canvas of its own size (the first channel, or the mean of three), for drawing scaled. */
function imageCanvas(image: Float32Array, shape: number[]): HTMLCanvasElement {
  const [h, w, c] = shape as [number, number, number];
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const data = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    let v = 0;
    for (let k = 0; k < c; k++) v += image[i * c + k]! / c;
    const g = Math.round(Math.max(0, Math.min(1, v)) * 255);
    data.data.set([g, g, g, 255], i * 4);
  }
  ctx.putImageData(data, 0, 0);
  return canvas;
}

/**
 * Draws the picture over the whole canvas: the image dimmed, each patch tinted by the colour of its
 * weight (the more attention, the more opaque), thin lines between patches.
 */
export function drawHeat(canvas: HTMLCanvasElement, picture: HeatPicture): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width, height } = canvas;
  const [rows, cols] = picture.grid;
  ctx.save();
  ctx.clearRect(0, 0, width, height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(imageCanvas(picture.image, picture.shape), 0, 0, width, height);
  const scale = picture.scale > 0 ? picture.scale : 1;
  const edge = (i: number, n: number, size: number) => Math.round((i * size) / n);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = Math.min(1, picture.weights[r * cols + c]! / scale);
      const [red, green, blue] = heatColour(v);
      // Low attention darkens the image; high attention paints it in the map's bright colours.
      ctx.fillStyle = `rgba(${red}, ${green}, ${blue}, ${(0.35 + 0.5 * v).toFixed(3)})`;
      const x0 = edge(c, cols, width);
      const y0 = edge(r, rows, height);
      ctx.fillRect(x0, y0, edge(c + 1, cols, width) - x0, edge(r + 1, rows, height) - y0);
    }
  }
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.18)';
  ctx.lineWidth = Math.max(1, width / 200);
  ctx.beginPath();
  for (let r = 1; r < rows; r++) {
    const y = edge(r, rows, height) + 0.5;
    ctx.moveTo(0, y);
    ctx.lineTo(width, y);
  }
  for (let c = 1; c < cols; c++) {
    const x = edge(c, cols, width) + 0.5;
    ctx.moveTo(x, 0);
    ctx.lineTo(x, height);
  }
  ctx.stroke();
  if (picture.labels) {
    const cell = Math.min(width / cols, height / rows);
    ctx.font = `600 ${Math.max(9, Math.round(cell * 0.26))}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const w = picture.weights[r * cols + c]!;
        const text = w >= 0.005 ? `${Math.round(w * 100)}%` : '';
        if (!text) continue;
        const x = (edge(c, cols, width) + edge(c + 1, cols, width)) / 2;
        const y = (edge(r, rows, height) + edge(r + 1, rows, height)) / 2;
        ctx.lineWidth = 3;
        ctx.strokeStyle = 'rgba(0, 0, 0, 0.65)';
        ctx.strokeText(text, x, y);
        ctx.fillStyle = '#fff';
        ctx.fillText(text, x, y);
      }
    }
  }
  ctx.restore();
}
