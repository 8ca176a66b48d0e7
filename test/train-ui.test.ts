import { describe, expect, it } from 'vitest';
import { centreByMass, greyOf, inkBox, SIDE } from '../src/editor/digit';
import { dataMismatch } from '../src/runtime/data/fit';
import { analyze, lower } from '../src/compiler/index';
import { templateDocument } from '../templates/index';

describe('playground input (MNIST-like 28×28)', () => {
  it('finds the ink and centres it by mass', () => {
    const img = new Float32Array(SIDE * SIDE);
    for (let y = 2; y < 6; y++) for (let x = 1; x < 4; x++) img[y * SIDE + x] = 1;
    expect(inkBox(img, SIDE, SIDE)).toEqual({ x: 1, y: 2, w: 3, h: 4 });
    expect(inkBox(new Float32Array(SIDE * SIDE), SIDE, SIDE)).toBeNull();
    const out = centreByMass(img);
    expect(out.reduce((a, b) => a + b, 0)).toBe(12);
    const box = inkBox(out, SIDE, SIDE)!;
    // The centre of mass lands within half a pixel of the frame's centre (13.5).
    expect(Math.abs(box.x + (box.w - 1) / 2 - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(box.y + (box.h - 1) / 2 - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Array.from(greyOf([255, 0, 0, 255, 51, 0, 0, 255]))).toEqual([1, Math.fround(0.2)]);
  });
});

describe('which graphs can train on MNIST', () => {
  const planOf = (id: string, preset: string) => {
    const t = templateDocument(id, preset);
    if ('error' in t) throw new Error(t.error);
    return lower(analyze(t.doc)).plan!;
  };
  const MNIST = { title: 'MNIST', noun: 'digits', inputShape: [28, 28, 1], classes: 10 };
  it('accepts ConvMixer mnist and explains what is wrong with an ImageNet-sized model', () => {
    expect(dataMismatch(planOf('convmixer', 'mnist'), MNIST)).toBeNull();
    const msg = dataMismatch(planOf('convmixer', '256/8'), MNIST);
    expect(msg).toBe('The model takes (None, 32, 32, 3), but MNIST digits are (None, 28, 28, 1): set the Input shape to [28, 28, 1].');
  });
});
