import type * as tfType from '@tensorflow/tfjs';
import type { PlanProgram } from '../../compiler/program';
import type { ProgramRun, ProgramStepReport } from '../program/run';
import { DEFAULT_FLOW_TEMPERATURE, drawFlowSamples, imageFlow, type ImageFlowSetup } from '../program/flow-samples';
import { DiffusionRefresh } from './diffusion-grid';
import type { FromWorker } from './protocol';

/**
 * The worker's side of an image flow's samples grid (glow): during a run it redraws 16 samples from a
 * fixed seed at the first and last step and in between within a small share of the run's time (the
 * diffusion grid's schedule); a new temperature is answered at the next step during a run, or at once
 * when the run is paused or over.
 */
export class FlowGrid {
  private state:
    { runId: string; run: ProgramRun; setup: ImageFlowSetup; seed: number; temperature: number; refresh: DiffusionRefresh; step: number } | undefined;
  private training = false;
  /** Draws one after another, so a request while paused and the step after Resume never share the weights. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly tf: typeof tfType,
    private readonly post: (message: FromWorker, transfer?: Transferable[]) => void,
    private readonly paused: () => boolean,
  ) {}

  /** A program run begins: it has a grid when it trains a flow on images. */
  begin(runId: string, program: PlanProgram, run: ProgramRun, seed: number, temperature?: number): void {
    const setup = imageFlow(program);
    this.state = setup
      ? { runId, run, setup, seed, temperature: temperature ?? DEFAULT_FLOW_TEMPERATURE, refresh: new DiffusionRefresh(), step: 0 }
      : undefined;
    this.training = !!setup;
  }

  /** After each step: redraws when due (awaited, so the weights hold still while it draws). */
  async afterStep(report: ProgramStepReport): Promise<void> {
    const s = this.state;
    if (!s || !this.training || report.procedure !== s.setup.procedure) return;
    s.step = report.step;
    if (s.refresh.due(report.step, report.totalSteps)) await this.draw(true);
  }

  /** The run is over (its networks stay for requests until the next run); a request no step answered is answered now. */
  end(): void {
    this.training = false;
    if (this.state?.refresh.requested) void this.draw(false);
  }

  /** A new temperature (kept for later refreshes) for run `runId`. */
  async request(runId: string, temperature: number): Promise<void> {
    const s = this.state;
    if (!s || s.runId !== runId) {
      this.post({
        type: 'flow-samples',
        runId,
        error: 'The networks of that run are gone (a newer run or a reload replaced them): train again to draw samples.',
      });
      return;
    }
    s.temperature = temperature;
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
      const began = performance.now();
      try {
        const samples = await drawFlowSamples(this.tf, network.model, { seed: s.seed, step: s.step, temperature: s.temperature });
        if (live) s.refresh.done(s.step, began, performance.now());
        if (this.training) samples.share = s.refresh.share();
        this.post({ type: 'flow-samples', runId: s.runId, samples }, [samples.images.buffer as ArrayBuffer]);
      } catch (err) {
        if (live) s.refresh.done(s.step, began, performance.now());
        this.post({ type: 'flow-samples', runId: s.runId, error: `Could not draw samples: ${err instanceof Error ? err.message : String(err)}` });
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
