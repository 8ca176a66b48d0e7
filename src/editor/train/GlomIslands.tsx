/**
 * GLOM's island maps (Hinton, 2021): for a few held-out digits, the digit, what the decoder draws
 * from the columns after the last iteration, and for each level a map of the 7×7 columns in which
 * neighbouring columns whose embeddings agree (cosine similarity at or above a threshold) share a
 * colour: an island. GLOM's claim is that the levels settle into such islands, larger ones higher
 * up. Lines between cells show the similarity itself: the darker, the less the two columns agree.
 * Everything runs in the worker on the last run's networks (runtime/program/glom-view.ts).
 */
import { useEffect, useRef, useState } from 'react';
import type { ProgramAnalysis } from '../../compiler/program';
import { NETWORK_NODE_TYPE } from '../../nodes/program/specs';
import { islandsOf, neighbourPairs, type GlomIslandsAnswer, type GlomIslandsRequest } from '../../runtime/program/glom-view';
import { getClient } from './controller';
import { Section } from './Section';

export type GlomSetup = Omit<GlomIslandsRequest, 'testCount'>;

const EXAMPLES = 6;
/** Trained columns agree closely (level 3 of the small preset is near 1.0 everywhere), so the useful thresholds sit high. */
const THRESHOLDS = [0.8, 0.9, 0.95, 0.99, 0.999];
const CELL = 12;
/** Island colours: distinct hues that stay readable on the dark map. */
const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990', '#dcbeff', '#9a6324'];

/**
 * The GLOM networks of a program: a network holding a GlomUpdate layer, applied by several Network
 * nodes in a chain (the evaluation's chain first); the network feeding the first of them its levels,
 * and the one the last feeds. Null for any other program.
 */
export function glomSetupOf(program: ProgramAnalysis): GlomSetup | null {
  const updates = program.networks.filter((n) => n.doc.nodes.some((x) => x.type === 'GlomUpdate'));
  if (!updates.length) return null;
  const procedures = [...program.procedures].sort((a, b) => Number(b.def.kind === 'evaluate') - Number(a.def.kind === 'evaluate'));
  for (const p of procedures) {
    const networkOf = (id: string) => String(p.params.get(id)?.network ?? '');
    for (const update of updates) {
      const levelsPort = update.inputs.find((i) => i.shape?.length === 4)?.port;
      const applies = p.def.nodes.filter((n) => n.type === NETWORK_NODE_TYPE && networkOf(n.id) === update.id);
      if (!levelsPort || !applies.length) continue;
      const ids = new Set(applies.map((n) => n.id));
      const sourceOf = (id: string) => p.wiring.incoming.get(id)?.get(levelsPort)?.[0]?.source ?? '';
      const first = applies.find((n) => !ids.has(sourceOf(n.id)));
      const last = applies.find((n) => !p.def.edges.some((e) => e.source === n.id && ids.has(e.target)));
      const columns = first && p.wiring.nodes.get(sourceOf(first.id));
      const decoder =
        last && p.def.nodes.find((n) => n.type === NETWORK_NODE_TYPE && !ids.has(n.id) && p.def.edges.some((e) => e.source === last.id && e.target === n.id));
      if (columns?.type !== NETWORK_NODE_TYPE || !decoder) continue;
      return { columnsNetwork: networkOf(columns.id), updateNetwork: update.id, decoderNetwork: networkOf(decoder.id), iterations: applies.length };
    }
  }
  return null;
}

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
  return <canvas ref={ref} width={width} height={height} className="pb-glom-digit" role="img" aria-label={label} />;
}

function IslandMap({ answer, example, level, threshold }: { answer: GlomIslandsAnswer; example: number; level: number; threshold: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { grid } = answer;
  const offset = (example * answer.levels + level) * neighbourPairs(grid);
  const islands = islandsOf(answer.similarities, offset, grid, threshold);
  const sizes = new Map<number, number>();
  for (const id of islands) sizes.set(id, (sizes.get(id) ?? 0) + 1);
  const big = [...sizes].filter(([, n]) => n > 1).sort((a, b) => b[1] - a[1]);
  const colourOf = new Map(big.map(([id], k) => [id, PALETTE[k % PALETTE.length]!]));
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    ctx.fillStyle = '#1b1b1f';
    ctx.fillRect(0, 0, grid * CELL, grid * CELL);
    islands.forEach((id, i) => {
      ctx.fillStyle = colourOf.get(id) ?? '#55555c';
      ctx.fillRect((i % grid) * CELL + 1, Math.floor(i / grid) * CELL + 1, CELL - 2, CELL - 2);
    });
    // Borders: a dark line between neighbours, as opaque as they disagree.
    const line = (x0: number, y0: number, x1: number, y1: number, s: number) => {
      ctx.strokeStyle = `rgba(0, 0, 0, ${Math.max(0, Math.min(1, 1 - s)).toFixed(3)})`;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.stroke();
    };
    const across = grid * (grid - 1);
    for (let r = 0; r < grid; r++)
      for (let c = 0; c < grid - 1; c++) line((c + 1) * CELL, r * CELL, (c + 1) * CELL, (r + 1) * CELL, answer.similarities[offset + r * (grid - 1) + c]!);
    for (let r = 0; r < grid - 1; r++)
      for (let c = 0; c < grid; c++) line(c * CELL, (r + 1) * CELL, (c + 1) * CELL, (r + 1) * CELL, answer.similarities[offset + across + r * grid + c]!);
  });
  const inIslands = big.reduce((s, [, n]) => s + n, 0);
  const label = `Level ${level + 1}: ${big.length} island${big.length === 1 ? '' : 's'} covering ${inIslands} of ${grid * grid} columns`;
  return (
    <figure className="pb-glom-level">
      <canvas ref={ref} width={grid * CELL} height={grid * CELL} className="pb-glom-map" role="img" aria-label={label} title={label} />
      <figcaption className="pb-small-text pb-mono">
        L{level + 1} · {big.length}
      </figcaption>
    </figure>
  );
}

export function GlomIslandsPanel({ setup, trained }: { setup: GlomSetup; trained: boolean }) {
  const [answer, setAnswer] = useState<GlomIslandsAnswer | null>(null);
  const [threshold, setThreshold] = useState(0.95);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const show = async () => {
    setBusy(true);
    try {
      setAnswer(await getClient().glomIslands({ ...setup, testCount: EXAMPLES }));
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const size = answer ? answer.height * answer.width : 0;
  return (
    <Section title="Islands" testId="glom-islands">
      <p className="pb-muted pb-small-text">
        Held-out digits, what the decoder draws from the columns after {setup.iterations} iterations, and for each level the{' '}
        {answer ? `${answer.grid}×${answer.grid}` : ''} columns: neighbours whose embeddings agree share a colour (an island); grey columns agree with no
        neighbour, and dark lines mark where neighbours disagree.
      </p>
      {!trained && (
        <p className="pb-muted pb-small-text" data-testid="glom-islands-disabled">
          Train the program first: the maps use the networks of the last run.
        </p>
      )}
      <div className="pb-row">
        <button type="button" className="pb-primary" disabled={!trained || busy} onClick={() => void show()} data-testid="glom-islands-show">
          {busy ? 'Running the columns…' : answer ? 'Refresh' : 'Show islands'}
        </button>
        <label className="pb-row pb-small-text">
          Same island from cosine similarity
          <select value={threshold} onChange={(e) => setThreshold(Number(e.target.value))} data-testid="glom-islands-threshold">
            {THRESHOLDS.map((t) => (
              <option key={t} value={t}>
                ≥ {t}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && (
        <p className="pb-blocked" role="alert" data-testid="glom-islands-error">
          {error}
        </p>
      )}
      {answer && (
        <div className="pb-glom-rows" data-testid="glom-island-maps">
          {answer.labels.map((label, i) => (
            <div key={i} className="pb-glom-row">
              <Digit values={answer.images} offset={i * size} height={answer.height} width={answer.width} label={`Held-out digit ${i + 1} (class ${label})`} />
              <Digit values={answer.reconstructions} offset={i * size} height={answer.height} width={answer.width} label={`Reconstruction of digit ${i + 1}`} />
              {Array.from({ length: answer.levels }, (_, level) => (
                <IslandMap key={level} answer={answer} example={i} level={level} threshold={threshold} />
              ))}
            </div>
          ))}
        </div>
      )}
    </Section>
  );
}
