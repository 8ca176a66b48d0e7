import { describe, expect, it } from 'vitest';
import { selectBackend } from '../src/runtime/backends';

describe('backend choice', () => {
  it('skips a GPU backend that failed on this model, and says why', async () => {
    const probe = { available: ['webgl', 'cpu'] as const, software: false, reason: 'WebGL renderer: test' };
    const failed = new Map([['webgl', "Kernel 'Foo' not registered for backend 'webgl'"]] as const);
    const choice = await selectBackend('auto', { ...probe, available: [...probe.available] }, new Map(failed));
    expect(choice.name).toBe('cpu');
    expect(choice.reason).toMatch(/webgl failed on this model: Kernel 'Foo' not registered/);
    expect(choice.reason).toMatch(/webgpu is not available here/);
  });

  it('falls back from a manual choice that is not available', async () => {
    const choice = await selectBackend('webgpu', { available: ['cpu'], software: true, reason: 'no WebGL' });
    expect(choice).toEqual({ name: 'cpu', reason: expect.stringMatching(/^fallback: webgpu is not available here; wasm is not available here$/) });
  });
});
