/**
 * SR3 and Palette in the Train tab: for a few held-out digits, the input the denoiser is given (the
 * upsampled low-resolution digit, the digit with its square to fill shown grey, or the grey digit to
 * colour), the output it
 * samples (50-step DDIM with the moving-average weights) and the target, side by side. Sampling runs
 * in the worker on the last run's networks (ProgramRun.conditionalExamples); only canvases are drawn.
 */
import { useEffect, useRef, useState } from 'react';
import type { PlanProgram } from '../../compiler/program';
import { conditionalMeasure } from '../../runtime/program/denoiser';
import type { ConditionalExamples } from '../../runtime/program/run';
import { getClient } from './controller';
import { Section } from './Section';
import './conditional-examples.css';

const EXAMPLES = 6;
const STEPS = 50;
/** Each 28-pixel digit drawn at 3× (pixelated, not smoothed). */
const SCALE = 3;

/** Whether the program is a conditional diffusion model with a measure to take held-out conditions from. */
export const hasConditionalExamples = (program: PlanProgram | null | undefined): boolean => !!program && conditionalMeasure(program) !== null;

/** One image of `channels` (1: grey, 3: RGB) values per pixel, from `offset` in `values`. */
function Picture({
  values,
  offset,
  height,
  width,
  channels,
  label,
}: {
  values: Float32Array;
  offset: number;
  height: number;
  width: number;
  channels: number;
  label: string;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(width, height);
    const byte = (v: number) => Math.max(0, Math.min(1, v)) * 255;
    for (let i = 0; i < height * width; i++) {
      const at = offset + i * channels;
      const [r, g, b] = channels >= 3 ? [values[at]!, values[at + 1]!, values[at + 2]!] : [values[at]!, values[at]!, values[at]!];
      img.data.set([byte(r), byte(g), byte(b), 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
  }, [values, offset, height, width, channels]);
  return (
    <canvas
      ref={ref}
      width={width}
      height={height}
      style={{ width: width * SCALE, height: height * SCALE, imageRendering: 'pixelated' }}
      className="pb-conditional-picture"
      role="img"
      aria-label={label}
    />
  );
}

export function ConditionalExamplesPanel({ program, trained }: { program: PlanProgram; trained: boolean }) {
  const [answer, setAnswer] = useState<ConditionalExamples | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const kind = conditionalMeasure(program)?.kind ?? 'superResolution';
  const names =
    kind === 'superResolution'
      ? ['Low resolution, upsampled', 'Sampled', 'Original']
      : kind === 'colourisation'
        ? ['Grey', 'Coloured', 'Original']
        : ['Square to fill', 'Filled in', 'Original'];
  const title = kind === 'superResolution' ? 'Super-resolution' : kind === 'colourisation' ? 'Colourisation' : 'Inpainting';

  const show = async () => {
    setBusy(true);
    try {
      setAnswer(await getClient().conditionalExamples(EXAMPLES, STEPS));
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const [count, height, width, channels] = answer ? [answer.shape[0]!, answer.shape[1]!, answer.shape[2]!, answer.shape[3] ?? 1] : [0, 0, 0, 1];
  return (
    <Section title={title} testId="conditional-examples">
      <p className="pb-muted pb-small-text">
        Held-out digits: what the denoiser is given, what it samples ({STEPS}-step DDIM, moving-average weights) and the original.
      </p>
      {!trained && (
        <p className="pb-muted pb-small-text" data-testid="conditional-examples-disabled">
          Train the program first: the samples come from the networks of the last run.
        </p>
      )}
      <div className="pb-row">
        <button type="button" className="pb-primary" disabled={!trained || busy} onClick={() => void show()} data-testid="conditional-examples-show">
          {busy ? 'Sampling…' : answer ? 'Sample again' : 'Sample held-out digits'}
        </button>
      </div>
      {error && (
        <p className="pb-blocked" role="alert" data-testid="conditional-examples-error">
          {error}
        </p>
      )}
      {answer && (
        <div
          className="pb-conditional-grid"
          style={{ display: 'grid', gridTemplateColumns: `repeat(3, ${width * SCALE}px)`, gap: 8, alignItems: 'end' }}
          role="table"
          aria-label="Held-out digits: input, output and target"
          data-testid="conditional-examples-table"
        >
          <div role="row" className="pb-conditional-head" style={{ gridTemplateColumns: `repeat(3, ${width * SCALE}px)` }}>
            {names.map((n) => (
              <span key={n} role="columnheader" className="pb-small-text pb-muted">
                {n}
              </span>
            ))}
          </div>
          {Array.from({ length: count }, (_, i) => (
            <div key={i} role="row" className="pb-conditional-row" style={{ display: 'contents' }}>
              {[answer.input, answer.output, answer.target].map((values, k) => (
                <span key={k} role="cell">
                  <Picture
                    values={values}
                    offset={i * height * width * channels}
                    height={height}
                    width={width}
                    channels={channels}
                    label={`${names[k]}, held-out digit ${i + 1}`}
                  />
                </span>
              ))}
            </div>
          ))}
        </div>
      )}
    </Section>
  );
}
