import type * as tfType from '@tensorflow/tfjs';
import type { PlanProgram } from '../../compiler/program';
import type { ProgramRun, ProgramStepReport } from '../program/run';
import { RefreshSchedule } from '../preview';
import { unconditionalDenoiser, type DenoiserSetup } from '../program/denoiser';
import { DEFAULT_SAMPLING, drawDiffusionSamples, type DiffusionSamplingSettings } from '../program/diffusion-view';
import type { FromWorker } from './protocol';

/**
 * The worker's side of the diffusion samples grid: during a run of a diffusion program it redraws the
 * grid at the first and last step and in between within a small share of the run's time; a person's
 * request (new sampler settings, or "Draw samples") is answered at the next step during a run, or at
 * once when the run is paused or over, with that run's networks (the moving-average copy if any).
 */
export class DiffusionGrid {
  private state:
    | {
        runId: string;
        run: ProgramRun;
        setup: DenoiserSetup;
        seed: number;
        settings: DiffusionSamplingSettings;
        refresh: DiffusionRefresh;
        step: number;
      }
    | undefined;
  private training = false;
  /** Draws one after another: a request while paused and the step after Resume never share the weights. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly tf: typeof tfType,
    private readonly post: (message: FromWorker, transfer?: Transferable[]) => void,
    private readonly paused: () => boolean,
    private readonly yieldToEvents: () => Promise<void>,
  ) {}

  /** A program run begins: it has a grid when it trains an unconditional diffusion model. */
  begin(runId: string, program: PlanProgram, run: ProgramRun, seed: number, settings?: DiffusionSamplingSettings): void {
    const setup = unconditionalDenoiser(program);
    this.state = setup ? { runId, run, setup, seed, settings: settings ?? DEFAULT_SAMPLING, refresh: new DiffusionRefresh(), step: 0 } : undefined;
    this.training = !!setup;
  }

  /** After each step of the run: redraws when due (awaited, so the weights hold still while it draws). */
  async afterStep(report: ProgramStepReport): Promise<void> {
    const s = this.state;
    if (!s || !this.training || report.procedure !== s.setup.procedure) return;
    s.step = report.step;
    if (!s.refresh.due(report.step, report.totalSteps)) return;
    await this.draw(true);
  }

  /** The run is over (its networks stay for requests until the next run); a request no step answered is answered now. */
  end(): void {
    this.training = false;
    if (this.state?.refresh.requested) void this.draw(false);
  }

  /** New settings, or a redraw, for run `runId`. */
  async request(runId: string, settings: DiffusionSamplingSettings): Promise<void> {
    const s = this.state;
    if (!s || s.runId !== runId) {
      this.post({
        type: 'diffusion-samples',
        runId,
        error: 'The networks of that run are gone (a newer run or a reload replaced them): train again to draw samples.',
      });
      return;
    }
    s.settings = { ...settings };
    if (this.training && !this.paused()) s.refresh.requested = true;
    else await this.draw(false);
  }

  private draw(live: boolean): Promise<void> {
    const next = this.queue.then(async () => {
      const s = this.state;
      if (!s) return;
      s.refresh.requested = false;
      const network = s.run.networks.get(s.setup.network);
      if (!network) return;
      const model = network.ema ?? network.model;
      const began = performance.now();
      try {
        const samples = await drawDiffusionSamples(this.tf, model, s.setup, s.settings, {
          seed: s.seed,
          step: s.step,
          weights: network.ema ? 'ema' : 'online',
          // Between sampler steps the worker reads its messages (Pause, Stop, new settings).
          onStep: this.yieldToEvents,
        });
        if (live) s.refresh.done(s.step, began, performance.now());
        if (this.training) samples.share = s.refresh.share();
        this.post(
          { type: 'diffusion-samples', runId: s.runId, samples },
          samples.frames.map((f) => f.images.buffer as ArrayBuffer),
        );
      } catch (err) {
        if (live) s.refresh.done(s.step, began, performance.now());
        this.post({ type: 'diffusion-samples', runId: s.runId, error: `Could not draw samples: ${err instanceof Error ? err.message : String(err)}` });
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/**
 * When a run redraws its grid: at its first step, its last, and in between spaced so that drawing
 * takes about `share` of the run's time (RefreshSchedule), and at the next step after a person asks.
 */
export class DiffusionRefresh {
  private readonly schedule: RefreshSchedule;
  private readonly began = performance.now();
  requested = false;
  constructor(share = 0.05, minSteps = 5) {
    this.schedule = new RefreshSchedule(minSteps, share);
  }
  due(step: number, totalSteps: number, now = performance.now()): boolean {
    return this.requested || step === totalSteps || this.schedule.due(step, now);
  }
  done(step: number, began: number, ended: number): void {
    this.requested = false;
    this.schedule.done(step, began, ended);
  }
  /** Drawing's share of the run's time so far. */
  share(now = performance.now()): number {
    return this.schedule.totalMs / Math.max(1, now - this.began);
  }
}
