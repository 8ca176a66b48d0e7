/**
 * What a learning-rate schedule reads: the training setup's fields (and a Minimize node's). Declared
 * here rather than picked from the document's TrainingSetup so that this file stands alone in an
 * exported trainer (scripts/gen-program-sources.ts copies it).
 */
export interface LearningRateSchedule {
  learningRate: number;
  schedule: 'constant' | 'cosine' | 'onecycle' | 'warmup-cosine';
  warmupSteps: number;
}

/** The learning rate at `step` (0-based) of `total` steps, for each schedule in the training setup. */
export function learningRateAt(setup: LearningRateSchedule, step: number, total: number): number {
  const peak = setup.learningRate;
  const t = total <= 1 ? 1 : Math.min(1, step / (total - 1));
  switch (setup.schedule) {
    case 'constant':
      return peak;
    case 'cosine':
      return 0.5 * peak * (1 + Math.cos(Math.PI * t));
    case 'onecycle': {
      // Linear up to the peak over the first 30 %, then cosine down to peak / 1e4, as fast.ai and timm do.
      const rise = 0.3;
      if (t <= rise) return peak * (0.04 + 0.96 * (t / rise));
      const u = (t - rise) / (1 - rise);
      return peak * 1e-4 + 0.5 * (peak - peak * 1e-4) * (1 + Math.cos(Math.PI * u));
    }
    case 'warmup-cosine': {
      const warm = Math.min(setup.warmupSteps, total);
      if (step < warm) return (peak * (step + 1)) / warm;
      const u = total - warm <= 1 ? 1 : (step - warm) / (total - warm - 1);
      return 0.5 * peak * (1 + Math.cos(Math.PI * Math.min(1, u)));
    }
  }
}
