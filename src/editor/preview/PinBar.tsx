/**
 * The bar over the canvas that says which example is pinned for the previews and changes it: step
 * through held-out examples, draw one (image inputs), pick the timestep a denoiser's previews use
 * or the repeat of an opened block they show, or turn previews off. Shown over every network's graph and inside an opened block.
 */
import { useEffect, useRef, useState } from 'react';
import { useStoreApi } from '@xyflow/react';
import { canvasToImage, toChannels } from '../digit';
import { useEditor } from '../store';
import { previewLargeModelOnce, setPin, setPreviewsEnabled, setRepeat, setTimestep, startPreviews, usePreviews, usePreviewsOnShow } from './previews';
import { heldOutIndexOf, timestepOf } from './keys';
import { coverGrew } from '../huge-graphs';
import './previews.css';

const DRAW_SIDE = 140;

function DrawPad({ onDone }: { onDone: () => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);
  const [inked, setInked] = useState(false);
  const point = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * e.currentTarget.width, y: ((e.clientY - r.top) / r.height) * e.currentTarget.height };
  };
  const line = (a: { x: number; y: number }, b: { x: number; y: number }) => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = DRAW_SIDE / 12;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  };
  const clear = () => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, DRAW_SIDE, DRAW_SIDE);
    setInked(false);
  };
  const pin = () => {
    const shape = usePreviews.getState().sampleShape;
    if (!canvas.current || !shape || shape.length !== 3) return;
    const [h, w, c] = shape as [number, number, number];
    const grey = canvasToImage(canvas.current, h, w);
    if (!grey) return;
    setPin({ kind: 'drawn', values: toChannels(grey, c), after: heldOutIndexOf(usePreviews.getState().pin) });
    onDone();
  };
  return (
    <div className="pb-pin-draw" role="dialog" aria-label="Draw an example to pin">
      <canvas
        ref={(el) => {
          canvas.current = el;
          if (el && !el.dataset.cleared) {
            el.dataset.cleared = '1';
            const ctx = el.getContext('2d');
            if (ctx) {
              ctx.fillStyle = '#000';
              ctx.fillRect(0, 0, DRAW_SIDE, DRAW_SIDE);
            }
          }
        }}
        width={DRAW_SIDE}
        height={DRAW_SIDE}
        className="pb-pin-draw-canvas"
        data-testid="pin-draw-canvas"
        aria-label="Drawing area"
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          last.current = point(e);
          line(last.current, last.current);
          setInked(true);
        }}
        onPointerMove={(e) => {
          if (!last.current) return;
          const p = point(e);
          line(last.current, p);
          last.current = p;
        }}
        onPointerUp={() => (last.current = null)}
        onPointerCancel={() => (last.current = null)}
      />
      <div className="pb-pin-draw-actions">
        <button type="button" onClick={clear}>
          Clear
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="button" className="pb-primary" onClick={pin} disabled={!inked} data-testid="pin-drawing">
          Pin
        </button>
      </div>
    </div>
  );
}

/** The pinned timestep: typed freely, applied when it is a whole number in range (Enter or leaving the field). */
function TimestepField({ value, max }: { value: number; max: number }) {
  const [text, setText] = useState<string | null>(null);
  const apply = () => {
    if (text === null) return;
    const n = Number(text);
    setText(null);
    if (text.trim() !== '' && Number.isFinite(n)) setTimestep(Math.min(Math.max(0, Math.round(n)), max));
  };
  return (
    <input
      type="number"
      min={0}
      max={max}
      step={1}
      value={text ?? String(value)}
      onChange={(e) => setText(e.target.value)}
      onBlur={apply}
      onKeyDown={(e) => {
        if (e.key === 'Enter') apply();
        if (e.key === 'Escape') setText(null);
      }}
      aria-label="Pinned timestep"
      data-testid="pin-timestep"
    />
  );
}

export function PinBar() {
  const onShow = usePreviewsOnShow();
  const onNetwork = useEditor((s) => s.tab.kind === 'network');
  const inBlock = useEditor((s) => !!s.blockView);
  const enabled = usePreviews((s) => s.enabled);
  const pin = usePreviews((s) => s.pin);
  const label = usePreviews((s) => s.pinLabel);
  const status = usePreviews((s) => s.status);
  const message = usePreviews((s) => s.message);
  const count = usePreviews((s) => s.sourceCount);
  const drawable = usePreviews((s) => s.drawable);
  const large = usePreviews((s) => s.large);
  const note = usePreviews((s) => s.note);
  const timestep = usePreviews((s) => s.timestep);
  const timesteps = usePreviews((s) => s.timesteps);
  const repeat = usePreviews((s) => s.repeat);
  const repeats = usePreviews((s) => s.repeats);
  const unavailable = usePreviews((s) => s.unavailable);
  const [drawing, setDrawing] = useState(false);
  const bar = useRef<HTMLDivElement>(null);
  const flowStore = useStoreApi();
  // The note's row comes with the first previews, after the fit that opened the graph: that fit
  // kept the nodes clear of a one-row bar, and the second row covered the top ones (coverGrew).
  useEffect(() => {
    const el = bar.current;
    if (!el) return;
    let height = el.getBoundingClientRect().height;
    const observer = new ResizeObserver(() => {
      const now = el.getBoundingClientRect().height;
      if (now > height) coverGrew(flowStore);
      height = now;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [onNetwork, flowStore]);
  if (!onNetwork) return null;
  const index = heldOutIndexOf(pin);
  const step = (d: number) => setPin({ kind: 'held-out', index: (index + d + count) % count });
  return (
    <div className={`pb-pin-bar${inBlock ? ' pb-pin-bar-in-block' : ''}`} data-testid="pin-bar" data-covers-canvas-top ref={bar}>
      <label className="pb-pin-toggle" title="Show each node's output on a pinned example">
        <input type="checkbox" checked={enabled} onChange={(e) => setPreviewsEnabled(e.target.checked)} data-testid="previews-toggle" />
        Previews
      </label>
      {/* The refresh's code loads after the first paint (previews.ts); a failed download says so here. */}
      {unavailable !== null && (
        <span className="pb-pin-unavailable" role="alert">
          <span className="pb-pin-label" data-status="error" data-testid="previews-unavailable" title={unavailable}>
            The previews could not be loaded: check the connection.
          </span>
          <button type="button" onClick={startPreviews}>
            Try again
          </button>
        </span>
      )}
      {onShow && (
        <>
          <span className="pb-pin-label" data-testid="pin-label" data-status={status} title={message ?? label}>
            {status === 'error'
              ? message
              : large && status === 'idle'
                ? 'A large model: previews run when asked'
                : label || (status === 'idle' ? 'Nothing to preview yet' : 'Pinning an example…')}
          </span>
          {large && status === 'idle' && (
            <button type="button" onClick={previewLargeModelOnce} data-testid="preview-large-once">
              Preview now
            </button>
          )}
          {count > 0 && (
            <span className="pb-pin-steps">
              <button type="button" onClick={() => step(-1)} aria-label="Previous held-out example" title="Previous held-out example" data-testid="pin-prev">
                ‹
              </button>
              <button type="button" onClick={() => step(1)} aria-label="Next held-out example" title="Next held-out example" data-testid="pin-next">
                ›
              </button>
            </span>
          )}
          {drawable && (
            <button type="button" onClick={() => setDrawing((d) => !d)} aria-expanded={drawing} data-testid="pin-draw">
              Draw
            </button>
          )}
          {pin.kind === 'drawn' && (
            <button type="button" onClick={() => setPin({ kind: 'auto' })} title="Pin the first held-out example again">
              Reset
            </button>
          )}
          {timesteps !== null && (
            <label className="pb-pin-timestep" title={`The diffusion timestep the previews noise the example to and feed the network (0 to ${timesteps - 1})`}>
              Timestep
              <TimestepField value={timestepOf(timestep, timesteps)} max={timesteps - 1} />
            </label>
          )}
          {note && status !== 'error' && (
            <span className="pb-pin-note-row">
              <span className="pb-pin-note" data-testid="pin-note" title={note}>
                {note}
              </span>
              {repeats > 1 && (
                <span className="pb-pin-steps">
                  <button
                    type="button"
                    onClick={() => setRepeat((repeat + repeats - 1) % repeats)}
                    aria-label="Previous repeat of the block"
                    title="Previous repeat of the block"
                    data-testid="pin-repeat-prev"
                  >
                    ‹
                  </button>
                  <button
                    type="button"
                    onClick={() => setRepeat((repeat + 1) % repeats)}
                    aria-label="Next repeat of the block"
                    title="Next repeat of the block"
                    data-testid="pin-repeat-next"
                  >
                    ›
                  </button>
                </span>
              )}
            </span>
          )}
        </>
      )}
      {drawing && onShow && <DrawPad onDone={() => setDrawing(false)} />}
    </div>
  );
}
