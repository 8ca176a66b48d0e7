/**
 * The attention view of a vision transformer: a person picks a held-out image (or draws one), and
 * sees, for every attention layer (rows) and every head plus their average (columns), how much the
 * class token attends to each patch, as a heat map laid over the image; one map is shown large with
 * its percentages. The weights come from the worker, computed with the trained model's current
 * weights by each attention layer's own `attentionWeights` (src/runtime/attention-maps.ts).
 * Everything is drawn on canvases; nothing from the document becomes HTML.
 */
import { useEffect, useRef, useState } from 'react';
import type { Plan } from '../../compiler/plan';
import type { AttentionMapsAnswer } from '../../runtime/attention-maps';
import type { TrainData } from '../../runtime/worker/protocol';
import { canvasToImage, toChannels } from '../digit';
import { drawHeat, headAverage, heatColour, type HeatPicture } from './attention-heat';
import { getClient } from './controller';
import { Section } from './Section';
import './attention-maps.css';

/**
 * The image input of a plan whose model has a class token and multi-head self-attention (a ViT, or
 * CLIP's image tower): [height, width, channels]; null for any other model, which has no such view.
 */
export function classTokenAttentionInput(plan: Plan): number[] | null {
  const steps = [plan.main, ...plan.blocks.map((b) => b.body)].flatMap((body) => body.steps);
  const has = (factory: string) => steps.some((st) => st.kind === 'layer' && st.custom && st.factory === factory);
  const inputs = plan.main.steps.filter((st) => st.kind === 'input');
  const input = inputs.length === 1 && inputs[0]!.kind === 'input' ? inputs[0]!.shape : null;
  const image = input && input.length === 3 && (input[2] === 1 || input[2] === 3);
  return image && has('PatchbayMultiHeadSelfAttention') && has('PatchbayClassToken') ? input : null;
}

/** How many held-out images to offer. */
const HELD_OUT = 8;

export interface AttentionMapsProps {
  /** A network of the last program run (CLIP's image tower), or none for the classifier the worker holds. */
  network?: string;
  /** The model's input [height, width, channels]. */
  inputShape: number[];
  /** Whether trained weights are in the worker; when not, `waiting` says what to do. */
  ready: boolean;
  waiting: string;
  /** Data the worker can load itself, for held-out images of a model loaded from a past run. */
  data?: Exclude<TrainData, { kind: 'inline' }>;
  /** Class names, for the true and predicted class under each image. */
  classNames: readonly string[];
}

/** One canvas drawing one heat picture, sized in CSS pixels and sharp on any screen. */
function HeatCanvas({
  picture,
  size,
  label,
  testId,
  data,
}: {
  picture: HeatPicture;
  size: number;
  label: string;
  testId?: string;
  data?: Record<string, string>;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawHeat(ref.current, picture);
  }, [picture]);
  const pixels = Math.round(size * Math.min(3, Math.max(1, globalThis.devicePixelRatio || 1)));
  return <canvas ref={ref} width={pixels} height={pixels} style={{ width: size, height: size }} aria-label={label} data-testid={testId} {...data} />;
}

/** A small greyscale canvas of one image (the picker's thumbnails). */
function Thumbnail({ image, shape }: { image: Float32Array; shape: number[] }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [h, w, c] = shape as [number, number, number];
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const data = ctx.createImageData(w, h);
    for (let i = 0; i < h * w; i++) {
      let v = 0;
      for (let k = 0; k < c; k++) v += image[i * c + k]! / c;
      const g = Math.round(Math.max(0, Math.min(1, v)) * 255);
      data.data.set([g, g, g, 255], i * 4);
    }
    ctx.putImageData(data, 0, 0);
  }, [image, h, w, c]);
  return <canvas ref={ref} width={w} height={h} className="pb-attn-thumb" aria-hidden="true" />;
}

/** The colour bar under the grid: what no attention and the scale's top look like. */
function Legend({ top }: { top: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const { width, height } = ctx.canvas;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = heatColour(x / (width - 1));
      ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
      ctx.fillRect(x, 0, 1, height);
    }
  }, []);
  return (
    <div className="pb-attn-legend pb-small-text pb-muted">
      <span>0</span>
      <canvas ref={ref} width={160} height={8} aria-hidden="true" />
      <span>{top}</span>
    </div>
  );
}

const percent = (v: number) => `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;

/** Layer i's name in the view: "Layer 1"…, with the model's layer name as its tooltip. */
const layerLabel = (i: number) => `Layer ${i + 1}`;

export function AttentionMapsPanel({ network, inputShape, ready, waiting, data, classNames }: AttentionMapsProps) {
  const [answer, setAnswer] = useState<AttentionMapsAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [picked, setPicked] = useState(0);
  /** The map shown large: a layer, and a head (the head count: the average). */
  const [focus, setFocus] = useState<{ layer: number; head: number } | null>(null);
  const [shared, setShared] = useState(false);
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef<{ x: number; y: number } | null>(null);
  const drawn = useRef(false);
  const [h, w, channels] = inputShape as [number, number, number];

  const clear = () => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.current!.width, canvas.current!.height);
    drawn.current = false;
  };
  useEffect(clear, []);

  /** Asks the worker for the maps; `showDrawn` picks the drawn image once they come. */
  const look = async (showDrawn: boolean) => {
    setBusy(true);
    try {
      const pixels = drawn.current && canvas.current ? canvasToImage(canvas.current, h, w) : null;
      const result = await getClient().attentionMaps({ network, testCount: HELD_OUT, ...(pixels ? { drawn: toChannels(pixels, channels) } : {}) }, data);
      setAnswer(result);
      setError(null);
      const count = result.labels.length + (result.drawn ? 1 : 0);
      setPicked((p) => (showDrawn && result.drawn ? count - 1 : Math.min(p, count - 1)));
      setFocus((f) => (f && f.layer < result.layers.length && f.head <= result.layers[f.layer]!.heads ? f : null));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
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
    drawn.current = true;
  };

  const per = h * w * channels;
  const count = answer ? answer.labels.length + (answer.drawn ? 1 : 0) : 0;
  const image = answer ? answer.images.subarray(picked * per, (picked + 1) * per) : null;
  const patches = answer ? answer.grid[0] * answer.grid[1] : 0;
  /** Each layer's maps for the picked image: one per head, then the average; and the weight the class token keeps on itself. */
  const rows = answer
    ? answer.layers.map((layer) => {
        const own = layer.patches.subarray(picked * layer.heads * patches, (picked + 1) * layer.heads * patches);
        const maps = Array.from({ length: layer.heads }, (_, head) => own.subarray(head * patches, (head + 1) * patches));
        const selfs = Array.from(layer.self.subarray(picked * layer.heads, (picked + 1) * layer.heads));
        return { name: layer.name, maps: [...maps, headAverage(own, layer.heads, patches)], selfs: [...selfs, selfs.reduce((a, b) => a + b, 0) / layer.heads] };
      })
    : [];
  const largest = Math.max(0, ...rows.flatMap((r) => r.maps.flatMap((m) => Array.from(m))));
  const heads = Math.max(0, ...rows.map((r) => r.maps.length - 1));
  const chosen = focus ?? (rows.length ? { layer: rows.length - 1, head: rows[rows.length - 1]!.maps.length - 1 } : null);
  const chosenRow = chosen ? rows[chosen.layer] : undefined;
  const chosenMap = chosen && chosenRow ? chosenRow.maps[chosen.head] : undefined;
  const headName = (row: { maps: unknown[] }, head: number) => (head === row.maps.length - 1 ? 'average of the heads' : `head ${head + 1}`);
  const picture = (weights: Float32Array, labels = false): HeatPicture => ({
    image: image!,
    shape: inputShape,
    weights,
    grid: answer!.grid,
    // A map is coloured up to its largest weight, but never above twice an even share: a map with no
    // preference (every token 1/(patches + 1)) shows as even mid-tones, not as bright everywhere.
    scale: Math.max(shared ? largest : Math.max(...weights), 2 / (patches + 1)),
    labels,
  });
  const nameOf = (c: number | undefined) => (c === undefined ? '?' : (classNames[c] ?? String(c)));

  return (
    <Section title="Attention maps" testId="attention-maps">
      <p className="pb-muted pb-small-text">
        Where the class token looks: for each attention layer and head, its attention over the patches of the image you pick, laid over the image. Brighter is
        more, up to each map's largest weight (or twice an even share, when that is more). Click a map to see it large with its percentages.
      </p>
      {!ready && (
        <p className="pb-muted pb-small-text" data-testid="attention-disabled">
          {waiting}
        </p>
      )}
      <div className="pb-row">
        <button type="button" className="pb-primary" disabled={!ready || busy} onClick={() => void look(false)} data-testid="attention-show">
          {busy ? 'Computing…' : answer ? 'Show again' : 'Show attention'}
        </button>
        {answer && (
          <label className="pb-row pb-small-text">
            <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} data-testid="attention-shared-scale" />
            One colour scale for all maps
          </label>
        )}
      </div>
      {error && (
        <p className="pb-run-message pb-run-message-bad" role="alert">
          {error}
        </p>
      )}
      <div className={`pb-attn-top${ready ? '' : ' pb-disabled'}`}>
        <div className="pb-attn-pick">
          {answer && count > 0 && (
            <div className="pb-attn-images" role="listbox" aria-label="Image to look at">
              {Array.from({ length: count }, (_, i) => {
                const isDrawn = answer.drawn && i === count - 1;
                const label = answer.labels[i];
                const predicted = answer.predicted?.[i];
                const wrong = !isDrawn && predicted !== undefined && predicted !== label;
                return (
                  <button
                    key={i}
                    type="button"
                    role="option"
                    aria-selected={i === picked}
                    className={`pb-attn-image${i === picked ? ' pb-attn-picked' : ''}`}
                    onClick={() => setPicked(i)}
                    data-testid="attention-image"
                    title={isDrawn ? 'Your drawing' : `Held-out image ${i + 1}: ${nameOf(label)}`}
                  >
                    <Thumbnail image={answer.images.subarray(i * per, (i + 1) * per)} shape={inputShape} />
                    <span className={`pb-small-text pb-mono${wrong ? ' pb-attn-wrong' : ''}`}>
                      {isDrawn ? 'drawn' : nameOf(label)}
                      {predicted !== undefined && (isDrawn || wrong) ? ` → ${nameOf(predicted)}` : ''}
                    </span>
                  </button>
                );
              })}
            </div>
          )}
          <div className="pb-attn-draw">
            <canvas
              ref={canvas}
              width={280}
              height={280}
              className="pb-draw pb-attn-canvas"
              data-testid="attention-draw"
              aria-label="Drawing area: draw a digit to see where the class token looks"
              onPointerDown={(e) => {
                if (!ready) return;
                e.currentTarget.setPointerCapture(e.pointerId);
                drawing.current = point(e);
                line(drawing.current, drawing.current);
              }}
              onPointerMove={(e) => {
                if (!drawing.current) return;
                const p = point(e);
                line(drawing.current, p);
                drawing.current = p;
              }}
              onPointerUp={() => {
                if (!drawing.current) return;
                drawing.current = null;
                void look(true);
              }}
              onPointerCancel={() => {
                drawing.current = null;
              }}
            />
            <div className="pb-row">
              <button type="button" onClick={clear} disabled={!ready}>
                Clear
              </button>
              <span className="pb-small-text pb-muted">or draw a digit</span>
            </div>
          </div>
        </div>
        {chosen && chosenRow && chosenMap && image && (
          <figure className="pb-attn-focus" data-testid="attention-focus">
            <HeatCanvas picture={picture(chosenMap, true)} size={196} label={`${layerLabel(chosen.layer)}, ${headName(chosenRow, chosen.head)}`} />
            <figcaption className="pb-small-text">
              <strong>
                {layerLabel(chosen.layer)}, {headName(chosenRow, chosen.head)}
              </strong>
              <span className="pb-muted">
                {' '}
                · {percent(chosenRow.selfs[chosen.head]!)} on the class token itself, {percent(1 - chosenRow.selfs[chosen.head]!)} on the {patches} patches
              </span>
            </figcaption>
          </figure>
        )}
      </div>
      {answer && image && (
        <>
          <div className="pb-attn-grid" style={{ gridTemplateColumns: `auto repeat(${heads + 1}, 1fr)` }} data-testid="attention-grid">
            <span />
            {Array.from({ length: heads + 1 }, (_, head) => (
              <span key={head} className="pb-attn-col pb-small-text pb-muted">
                {head === heads ? 'Average' : `Head ${head + 1}`}
              </span>
            ))}
            {rows.map((row, layer) => (
              <div key={row.name} className="pb-attn-row" style={{ display: 'contents' }}>
                <span className="pb-attn-rowhead pb-small-text pb-muted" title={row.name}>
                  {layerLabel(layer)}
                </span>
                {row.maps.map((map, head) => {
                  const isFocus = chosen?.layer === layer && chosen.head === head;
                  return (
                    <button
                      key={head}
                      type="button"
                      className={`pb-attn-cell${isFocus ? ' pb-attn-focused' : ''}${head === row.maps.length - 1 ? ' pb-attn-avg' : ''}`}
                      onClick={() => setFocus({ layer, head })}
                      title={`${layerLabel(layer)}, ${headName(row, head)}: largest patch ${percent(Math.max(...map))}, ${percent(row.selfs[head]!)} on the class token itself`}
                    >
                      <HeatCanvas
                        picture={picture(map)}
                        size={56}
                        label={`${layerLabel(layer)}, ${headName(row, head)}`}
                        testId="attention-cell"
                        data={{ 'data-layer': String(layer), 'data-head': head === row.maps.length - 1 ? 'average' : String(head) }}
                      />
                    </button>
                  );
                })}
              </div>
            ))}
          </div>
          <Legend top={shared ? `${percent(Math.max(largest, 2 / (patches + 1)))}, one scale for all maps` : "each map's largest"} />
        </>
      )}
    </Section>
  );
}
