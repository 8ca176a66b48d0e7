/** Draw an input and see the class probabilities of the worker's current model. */
import { useEffect, useRef, useState } from 'react';
import { canvasToImage, toChannels } from '../digit';
import { MNIST_INFO, useTraining } from '../training';
import { predict } from './controller';
import { short } from './format';
import { Section } from './Section';

/** Shown for image models only: `inputShape` is the model's [height, width, channels]. */
export function Playground({ inputShape }: { inputShape: number[] }) {
  const [height, width, channels] = inputShape as [number, number, number];
  const model = useTraining((s) => s.playground);
  const classNames = model?.classNames ?? MNIST_INFO.classNames;
  const canvas = useRef<HTMLCanvasElement>(null);
  const preview = useRef<HTMLCanvasElement>(null);
  const drawing = useRef<{ x: number; y: number } | null>(null);
  const busy = useRef(false);
  const again = useRef(false);
  const [probs, setProbs] = useState<number[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const clear = () => {
    const c = canvas.current;
    if (!c) return;
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, c.width, c.height);
    preview.current?.getContext('2d')?.clearRect(0, 0, width, height);
    setProbs(null);
    setError(null);
  };
  useEffect(clear, []);
  useEffect(() => {
    if (!model) setProbs(null);
  }, [model]);

  const run = async () => {
    if (busy.current) {
      again.current = true;
      return;
    }
    const c = canvas.current;
    if (!c || !useTraining.getState().playground) return;
    const pixels = canvasToImage(c, height, width);
    if (!pixels) return;
    const p = preview.current?.getContext('2d');
    if (p) {
      const img = p.createImageData(width, height);
      pixels.forEach((v, i) => {
        img.data.set([v * 255, v * 255, v * 255, 255], i * 4);
      });
      p.putImageData(img, 0, 0);
    }
    busy.current = true;
    try {
      setProbs(await predict(toChannels(pixels, channels)));
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      busy.current = false;
      if (again.current) {
        again.current = false;
        void run();
      }
    }
  };

  const point = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * e.currentTarget.width, y: ((e.clientY - r.top) / r.height) * e.currentTarget.height };
  };
  const line = (from: { x: number; y: number }, to: { x: number; y: number }) => {
    const ctx = canvas.current!.getContext('2d')!;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 22;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  };
  const best = probs ? probs.indexOf(Math.max(...probs)) : -1;
  return (
    <Section
      title={classNames === MNIST_INFO.classNames || classNames.join() === MNIST_INFO.classNames.join() ? 'Try it: draw a digit' : 'Try it: draw'}
      testId="playground"
    >
      {!model && (
        <p className="pb-muted pb-small-text" data-testid="playground-disabled">
          Finish a run (or pick one in Runs and press “Try”) to draw {classNames === MNIST_INFO.classNames ? 'digits' : 'shapes'} for the model here.
        </p>
      )}
      <div className={`pb-playground${model ? '' : ' pb-disabled'}`}>
        <div className="pb-draw-col">
          <canvas
            ref={canvas}
            width={280}
            height={280}
            className="pb-draw"
            data-testid="draw-canvas"
            aria-label="Drawing area: draw a digit with the mouse"
            onPointerDown={(e) => {
              if (!model) return;
              e.currentTarget.setPointerCapture(e.pointerId);
              const p = point(e);
              drawing.current = p;
              line(p, p);
            }}
            onPointerMove={(e) => {
              if (!drawing.current) return;
              const p = point(e);
              line(drawing.current, p);
              drawing.current = p;
              void run();
            }}
            onPointerUp={() => {
              drawing.current = null;
              void run();
            }}
            onPointerCancel={() => {
              drawing.current = null;
            }}
          />
          <div className="pb-row">
            <button type="button" onClick={clear} disabled={!model}>
              Clear
            </button>
            <span className="pb-spacer" />
            <span className="pb-small-text pb-muted">model sees</span>
            <canvas ref={preview} width={width} height={height} className="pb-preview" aria-label={`The ${height}×${width} input the model sees`} />
          </div>
        </div>
        <ol className="pb-probs" aria-label="Class probabilities" data-testid="probabilities">
          {classNames.map((name, d) => {
            const v = probs?.[d];
            return (
              <li key={d} className={d === best ? 'pb-prob-best' : undefined} data-testid={`prob-${d}`} data-value={v ?? ''}>
                <span className="pb-prob-label" title={name}>
                  {short(name, classNames.length)}
                </span>
                <span className="pb-prob-bar">
                  <span style={{ width: `${((v ?? 0) * 100).toFixed(1)}%` }} />
                </span>
                <span className="pb-prob-value pb-mono">{v === undefined ? '' : `${(v * 100).toFixed(1)}%`}</span>
              </li>
            );
          })}
        </ol>
      </div>
      {model && <p className="pb-small-text pb-muted">Using the weights of {model.label}.</p>}
      {error && (
        <p className="pb-run-message pb-run-message-bad" role="alert">
          {error}
        </p>
      )}
    </Section>
  );
}
