/**
 * The Train tab's glow temperature as typed (editor/train/FlowSamples.tsx): an emptied field is no
 * temperature (Number('') is 0, which drew every sample at T = 0 on leaving the field), and is
 * refused in words like any other bad value.
 */
import { describe, expect, it } from 'vitest';
import { temperatureProblem, typedTemperature } from '../src/runtime/program/flow-samples';

describe('a typed temperature', () => {
  it('reads numbers, and an empty or blank field as no number, which is refused', () => {
    expect(typedTemperature('0.7')).toBe(0.7);
    expect(typedTemperature(' 1 ')).toBe(1);
    expect(typedTemperature('0')).toBe(0);
    for (const blank of ['', '  ']) {
      expect(typedTemperature(blank)).toBeNaN();
      expect(temperatureProblem(typedTemperature(blank))).toMatch(/a number from 0 to 2/);
    }
  });
});
