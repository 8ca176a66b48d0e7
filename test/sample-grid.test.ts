/**
 * The samples grid's painting (editor/train/SampleGrid.tsx) on a stand-in canvas: each image lands in
 * its tile, grey and colour values are scaled to bytes and clipped, NaN shows red, and the gaps stay
 * transparent (the panel's colour shows through).
 */
import { describe, expect, it } from 'vitest';
import { gridSize, paintGrid } from '../src/editor/train/SampleGrid';

/** A canvas with just what paintGrid uses; the painted pixels come back as RGBA bytes. */
function fakeCanvas(width: number, height: number) {
  let painted: Uint8ClampedArray | undefined;
  const canvas = {
    width,
    height,
    getContext: () => ({
      createImageData: (w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
      putImageData: (image: { data: Uint8ClampedArray }) => {
        painted = image.data;
      },
    }),
  } as unknown as HTMLCanvasElement;
  return { canvas, pixel: (x: number, y: number) => Array.from(painted!.slice(4 * (y * width + x), 4 * (y * width + x) + 4)) };
}

describe('samples grid painting', () => {
  it('grey images in tiles with transparent gaps, clipped to [0, 1], NaN in red', () => {
    // Three 2 × 2 grey images in rows of two, 1-pixel gaps: 5 × 5 pixels.
    const shape = [3, 2, 2, 1];
    expect(gridSize(shape, 2, 1)).toEqual({ width: 5, height: 5 });
    const images = Float32Array.from([0, 0.5, 1, 2, /* second */ -1, 0.25, Number.NaN, 0.75, /* third */ 0.1, 0.2, 0.3, 0.4]);
    const { canvas, pixel } = fakeCanvas(5, 5);
    paintGrid(canvas, images, shape, 2, 1);
    expect([pixel(0, 0), pixel(1, 0), pixel(0, 1), pixel(1, 1)]).toEqual([
      [0, 0, 0, 255],
      [128, 128, 128, 255],
      [255, 255, 255, 255],
      [255, 255, 255, 255],
    ]);
    // The second image starts after the 1-pixel gap; the third on the next row.
    expect([pixel(3, 0), pixel(4, 0), pixel(3, 1), pixel(4, 1)]).toEqual([
      [0, 0, 0, 255],
      [64, 64, 64, 255],
      [220, 40, 40, 255],
      [191, 191, 191, 255],
    ]);
    expect(pixel(1, 4)).toEqual([102, 102, 102, 255]);
    // Gaps and the empty fourth tile stay transparent.
    for (const [x, y] of [
      [2, 0],
      [0, 2],
      [4, 2],
      [3, 3],
      [4, 4],
    ] as const)
      expect(pixel(x, y)).toEqual([0, 0, 0, 0]);
  });

  it('colour images take their three channels', () => {
    const { canvas, pixel } = fakeCanvas(1, 1);
    paintGrid(canvas, Float32Array.from([1, 0.5, 0]), [1, 1, 1, 3], 1, 0);
    expect(pixel(0, 0)).toEqual([255, 128, 0, 255]);
  });
});
