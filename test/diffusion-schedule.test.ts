import { describe, expect, it } from 'vitest';
import { diffusionSchedule } from '../src/runtime/program/diffusion';

/**
 * The schedules against the papers' formulas, computed here another way:
 * - linear β (DDPM, improved DDPM's 1000/T scaling) by np.linspace's own rule, start + i·step;
 * - cosine ᾱ_t straight from f(t)/f(0) (improved DDPM eq. 17), not from the product of betas;
 * - the posterior q(x_{t−1} | x_t, x_0) as the product of the two Gaussians it comes from
 *   (precision 1/(1 − ᾱ_{t−1}) + α_t/β_t), not the closed-form coefficients the code uses.
 */
const close = (actual: ArrayLike<number>, expected: (i: number) => number, from = 0, to = actual.length) => {
  for (let i = from; i < to; i++) expect(Math.abs(actual[i]! - expected(i)), `index ${i}: ${actual[i]} vs ${expected(i)}`).toBeLessThan(1e-6);
};

describe('linear schedule', () => {
  it.each([1000, 200, 50])('T = %i: betas from 1e-4·1000/T to 0.02·1000/T', (T) => {
    const s = diffusionSchedule('linear', T);
    const step = ((0.02 - 1e-4) * (1000 / T)) / (T - 1);
    close(s.betas, (i) => 1e-4 * (1000 / T) + i * step);
    expect(s.betas[0]).toBeCloseTo(1e-4 * (1000 / T), 12);
    expect(s.betas[T - 1]).toBeCloseTo(0.02 * (1000 / T), 12);
  });

  it('ᾱ_T of DDPM (T = 1000) is about 4.0e-5, and ᾱ is the running product of 1 − β', () => {
    const s = diffusionSchedule('linear', 1000);
    expect(s.alphasCumprod[999]).toBeGreaterThan(3.9e-5);
    expect(s.alphasCumprod[999]).toBeLessThan(4.1e-5);
    let product = 1;
    close(s.alphasCumprod, (i) => {
      let p = 1;
      for (let k = 0; k <= i; k++) p *= 1 - s.betas[k]!;
      product = p;
      return p;
    });
    expect(product).toBeGreaterThan(0);
  });
});

describe('cosine schedule', () => {
  const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  it.each([1000, 400, 100])('T = %i: ᾱ_t = f(t/T)/f(0) and β_t ≤ 0.999', (T) => {
    const s = diffusionSchedule('cosine', T);
    // The last beta is clipped at 0.999 (betas_for_alpha_bar), so the last ᾱ leaves the curve.
    close(s.alphasCumprod, (i) => f((i + 1) / T) / f(0), 0, T - 1);
    expect(Math.max(...s.betas)).toBeLessThanOrEqual(0.999);
    close(s.betas, (i) => Math.min(1 - f((i + 1) / T) / f(i / T), 0.999));
    expect(s.betas[T - 1]).toBe(0.999);
  });
});

describe.each(['linear', 'cosine'] as const)('%s posterior', (kind) => {
  it.each([1000, 100])('T = %i: mean coefficients and variance equal the product of Gaussians', (T) => {
    const s = diffusionSchedule(kind, T);
    const alphaBar = (i: number) => (i < 0 ? 1 : s.alphasCumprod[i]!);
    const variance = (i: number) => (i === 0 ? 0 : 1 / (1 / (1 - alphaBar(i - 1)) + (1 - s.betas[i]!) / s.betas[i]!));
    close(s.alphasCumprodPrev, (i) => alphaBar(i - 1));
    close(s.posteriorVariance, variance);
    // At t = 0 the posterior is x_0 itself: coefficient 1 on x_0, 0 on x_t.
    close(s.posteriorMeanCoef1, (i) => (i === 0 ? 1 : (variance(i) * Math.sqrt(alphaBar(i - 1))) / (1 - alphaBar(i - 1))));
    close(s.posteriorMeanCoef2, (i) => (i === 0 ? 0 : (variance(i) * Math.sqrt(1 - s.betas[i]!)) / s.betas[i]!));
    close(s.posteriorLogVarianceClipped, (i) => Math.log(variance(Math.max(i, 1))));
    close(s.sqrtAlphasCumprod, (i) => Math.sqrt(alphaBar(i)));
    close(s.sqrtOneMinusAlphasCumprod, (i) => Math.sqrt(1 - alphaBar(i)));
  });
});

it('refuses a schedule without timesteps, saying so', () => {
  expect(() => diffusionSchedule('cosine', 0)).toThrow(/whole number of timesteps/);
});
