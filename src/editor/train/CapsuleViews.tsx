/**
 * The capsule views of a CapsNet program (Sabour, Frosst & Hinton, 2017): held-out digits beside
 * what the decoder draws from their winning capsule, and "tweak a dimension": the winning capsule's
 * pose with one of its 16 dimensions moved from −0.25 to +0.25, decoded (the paper's figure 4), so
 * that what a dimension encodes (stroke width, skew, scale…) shows. Everything runs in the worker on
 * the last run's networks (runtime/program/capsule-view.ts).
 */
import { useEffect, useRef, useState } from 'react';
import type { ProgramAnalysis } from '../../compiler/program';
import { NETWORK_NODE_TYPE } from '../../nodes/program/specs';
import type { CapsuleViewAnswer } from '../../runtime/program/capsule-view';
import { getClient } from './controller';
import { Section } from './Section';

export interface CapsuleSetup {
  capsuleNetwork: string;
  decoderNetwork: string;
}

/** The paper's offsets: −0.25 to 0.25 in steps of 0.05. */
const OFFSETS = Array.from({ length: 11 }, (_, k) => Math.round((k - 5) * 5) / 100);
const EXAMPLES = 8;

/** Reads the networks from the first Mask capsules node fed by a network and feeding one (the decoder). */
export function capsuleSetupOf(program: ProgramAnalysis): CapsuleSetup | null {
  for (const p of program.procedures) {
    for (const mask of p.def.nodes) {
      if (mask.type !== 'MaskCapsules') continue;
      const source = p.wiring.incoming.get(mask.id)?.get('capsules')?.[0]?.source;
      const capsNode = p.wiring.nodes.get(source ?? '');
      const decoderNode = p.def.nodes.find(
        (n) => n.type === NETWORK_NODE_TYPE && [...(p.wiring.incoming.get(n.id)?.values() ?? [])].flat().some((e) => e.source === mask.id),
      );
      if (capsNode?.type !== NETWORK_NODE_TYPE || !decoderNode) continue;
      return { capsuleNetwork: String(p.params.get(capsNode.id)?.network), decoderNetwork: String(p.params.get(decoderNode.id)?.network) };
    }
  }
  return null;
}

/** One greyscale image (h × w values from `offset`) on a small canvas, enlarged by CSS. */
function Digit({ values, offset, height, width, label }: { values: Float32Array; offset: number; height: number; width: number; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(width, height);
    for (let i = 0; i < height * width; i++) {
      const v = Math.max(0, Math.min(1, values[offset + i]!)) * 255;
      img.data.set([v, v, v, 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
  }, [values, offset, height, width]);
  return <canvas ref={ref} width={width} height={height} className="pb-caps-image" role="img" aria-label={label} />;
}

export function CapsuleViewsPanel({ setup, trained }: { setup: CapsuleSetup; trained: boolean }) {
  const [answer, setAnswer] = useState<CapsuleViewAnswer | null>(null);
  const [example, setExample] = useState(0);
  const [dim, setDim] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const show = async (tweakExample: number) => {
    setBusy(true);
    try {
      setAnswer(await getClient().capsuleView({ ...setup, testCount: EXAMPLES, tweakExample, offsets: OFFSETS }));
      setExample(tweakExample);
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const size = answer ? answer.height * answer.width : 0;
  return (
    <Section title="Capsules" testId="capsule-views">
      <p className="pb-muted pb-small-text">
        Each held-out digit beside what the decoder draws from its longest digit capsule alone. Pick a digit, then move one of its capsule’s pose dimensions to
        see what that dimension encodes.
      </p>
      {!trained && (
        <p className="pb-muted pb-small-text" data-testid="capsule-views-disabled">
          Train the program first: the views use the networks of the last run.
        </p>
      )}
      <div className="pb-row">
        <button type="button" className="pb-primary" disabled={!trained || busy} onClick={() => void show(example)} data-testid="capsule-views-show">
          {busy ? 'Decoding…' : answer ? 'Refresh' : 'Show reconstructions'}
        </button>
      </div>
      {error && (
        <p className="pb-blocked" role="alert" data-testid="capsule-views-error">
          {error}
        </p>
      )}
      {answer && (
        <>
          <div className="pb-caps-pairs" data-testid="capsule-reconstructions">
            {answer.labels.map((label, i) => (
              <button
                key={i}
                type="button"
                className={`pb-caps-pair${i === example ? ' pb-caps-selected' : ''}${answer.predictions[i] !== label ? ' pb-caps-wrong' : ''}`}
                onClick={() => void show(i)}
                disabled={busy}
                aria-pressed={i === example}
                title={`True class ${label}, longest capsule ${answer.predictions[i]}: click to tweak its pose`}
              >
                <Digit
                  values={answer.images}
                  offset={i * size}
                  height={answer.height}
                  width={answer.width}
                  label={`Held-out digit ${i + 1} (class ${label})`}
                />
                <Digit
                  values={answer.reconstructions}
                  offset={i * size}
                  height={answer.height}
                  width={answer.width}
                  label={`Reconstruction of digit ${i + 1} from capsule ${answer.predictions[i]}`}
                />
                <span className="pb-small-text pb-mono">
                  {label} → {answer.predictions[i]}
                </span>
              </button>
            ))}
          </div>
          <div className="pb-row pb-small-text">
            <h4 className="pb-caps-title">Tweak a dimension</h4>
            <label className="pb-row">
              Pose dimension
              <select value={dim} onChange={(e) => setDim(Number(e.target.value))} data-testid="capsule-tweak-dim">
                {Array.from({ length: answer.dims }, (_, d) => (
                  <option key={d} value={d}>
                    {d + 1}
                  </option>
                ))}
              </select>
            </label>
            <span className="pb-muted">
              of capsule {answer.predictions[example]} for digit {example + 1}
            </span>
          </div>
          <div className="pb-caps-tweaks" data-testid="capsule-tweaks">
            {OFFSETS.map((offset, k) => (
              <figure key={k} className="pb-caps-tweak">
                <Digit
                  values={answer.tweaks}
                  offset={(dim * OFFSETS.length + k) * size}
                  height={answer.height}
                  width={answer.width}
                  label={`Dimension ${dim + 1} moved by ${offset}`}
                />
                <figcaption className="pb-small-text pb-mono">{offset > 0 ? `+${offset.toFixed(2)}` : offset.toFixed(2)}</figcaption>
              </figure>
            ))}
          </div>
        </>
      )}
    </Section>
  );
}
