/**
 * Turns a drawing into an MNIST-like input: MNIST digits are white on black, fitted into a 20×20
 * box and centred by their centre of mass in a 28×28 frame. Other image sizes get the same
 * proportions. Pure functions over grey levels, so they can be tested without a canvas.
 */
export const SIDE = 28;

/** Bounding box of the pixels brighter than `threshold` in a w×h grey image, or null when blank. */
export function inkBox(grey: ArrayLike<number>, w: number, h: number, threshold = 0.05): { x: number; y: number; w: number; h: number } | null {
  let x0 = w,
    y0 = h,
    x1 = -1,
    y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (grey[y * w + x]! > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** Shifts a w×h image (whole pixels) so that its centre of mass sits at the centre. */
export function centreByMass(pixels: Float32Array, w = SIDE, h = SIDE): Float32Array {
  let mass = 0,
    mx = 0,
    my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = pixels[y * w + x]!;
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  if (mass === 0) return pixels;
  const dx = Math.round((w - 1) / 2 - mx / mass);
  const dy = Math.round((h - 1) / 2 - my / mass);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = x - dx,
        sy = y - dy;
      if (sx >= 0 && sy >= 0 && sx < w && sy < h) out[y * w + x] = pixels[sy * w + sx]!;
    }
  }
  return out;
}

/** Red channel of RGBA image data as grey levels in [0, 1]. */
export function greyOf(rgba: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = rgba[i * 4]! / 255;
  return out;
}

/**
 * The drawing on `source` (white strokes on black) as height×width grey levels in [0, 1], fitted
 * to 20/28 of the frame and centred by mass like MNIST; null when nothing is drawn.
 */
export function canvasToImage(source: HTMLCanvasElement, height = SIDE, width = SIDE): Float32Array | null {
  const ctx = source.getContext('2d', { willReadFrequently: true })!;
  const grey = greyOf(ctx.getImageData(0, 0, source.width, source.height).data);
  const box = inkBox(grey, source.width, source.height);
  if (!box) return null;
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  const s = small.getContext('2d', { willReadFrequently: true })!;
  s.fillStyle = '#000';
  s.fillRect(0, 0, width, height);
  s.imageSmoothingEnabled = true;
  s.imageSmoothingQuality = 'high';
  const scale = ((20 / 28) * Math.min(width, height)) / Math.max(box.w, box.h);
  const w = box.w * scale,
    h = box.h * scale;
  s.drawImage(source, box.x, box.y, box.w, box.h, (width - w) / 2, (height - h) / 2, w, h);
  return centreByMass(greyOf(s.getImageData(0, 0, width, height).data), width, height);
}

/** Grey levels as the model's channels: as they are for 1, repeated for colour. */
export function toChannels(grey: Float32Array, channels: number): Float32Array {
  if (channels === 1) return grey;
  const out = new Float32Array(grey.length * channels);
  for (let i = 0; i < grey.length; i++) out.fill(grey[i]!, i * channels, (i + 1) * channels);
  return out;
}
