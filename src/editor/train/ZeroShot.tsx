/**
 * The zero-shot panel of a CLIP program: a person writes one prompt per class ("a picture of a
 * seven"), and the last run's text network embeds them; its image network embeds held-out digits
 * and a digit drawn here, and each image gets class probabilities softmax(scale · cosine). Everything
 * runs in the worker on the trained networks. Prompts are React text only; nothing from the document
 * becomes HTML.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ProgramAnalysis } from '../../compiler/program';
import { NETWORK_NODE_TYPE } from '../../nodes/program/specs';
import type { ZeroShotAnswer } from '../../runtime/program/zero-shot';
import { canvasToImage, toChannels } from '../digit';
import { getClient } from './controller';
import { Section } from './Section';

/** What the panel needs from the program: the zero-shot node's networks, tokenizer and class words. */
export interface ZeroShotSetup {
  imageNetwork: string;
  textNetwork: string;
  scale: number;
  classWords: string[];
  classDigits: string[];
  templates: string[];
  vocabulary: string[];
  contextLength: number;
  inputShape: number[];
}

/** Reads the setup from the first Zero-shot classifier whose image and prompt inputs come from networks, the prompts from a Prompts node. */
export function zeroShotSetupOf(program: ProgramAnalysis): ZeroShotSetup | null {
  for (const p of program.procedures) {
    for (const node of p.def.nodes) {
      if (node.type !== 'ZeroShotClassifier') continue;
      const source = (port: string) => p.wiring.incoming.get(node.id)?.get(port)?.[0]?.source;
      const imageNode = p.wiring.nodes.get(source('image') ?? '');
      const textNode = p.wiring.nodes.get(source('text') ?? '');
      if (imageNode?.type !== NETWORK_NODE_TYPE || textNode?.type !== NETWORK_NODE_TYPE) continue;
      const promptsId = [...(p.wiring.incoming.get(textNode.id)?.values() ?? [])].flat()[0]?.source;
      const prompts = p.params.get(promptsId ?? '');
      const zero = p.params.get(node.id);
      const data = [...p.wiring.nodes.values()].find((n) => n.type === 'Data');
      const dataParams = data && p.params.get(data.id);
      if (!prompts || !zero || !dataParams || p.wiring.nodes.get(promptsId!)?.type !== 'Prompts') continue;
      return {
        imageNetwork: String(p.params.get(imageNode.id)?.network),
        textNetwork: String(p.params.get(textNode.id)?.network),
        scale: zero.scale as number,
        classWords: prompts.classWords as string[],
        classDigits: prompts.classDigits as string[],
        templates: prompts.templates as string[],
        vocabulary: prompts.vocabulary as string[],
        contextLength: prompts.contextLength as number,
        inputShape: dataParams.shape as number[],
      };
    }
  }
  return null;
}

const fill = (template: string, word: string, digit: string) => template.split('{word}').join(word).split('{digit}').join(digit);

/** One image's values as a small greyscale canvas (the first channel). */
function ImageView({ values, shape, label }: { values: Float32Array; shape: number[]; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [h, w, c] = shape as [number, number, number];
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(w, h);
    for (let i = 0; i < h * w; i++) {
      const v = Math.max(0, Math.min(1, values[i * c]!)) * 255;
      img.data.set([v, v, v, 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
  }, [values, h, w, c]);
  return <canvas ref={ref} width={w} height={h} className="pb-zs-image" aria-label={label} />;
}

function Bars({ probabilities, names, testId }: { probabilities: number[]; names: string[]; testId: string }) {
  const best = probabilities.indexOf(Math.max(...probabilities));
  return (
    <ol className="pb-probs" aria-label="Class probabilities" data-testid={testId}>
      {names.map((name, d) => (
        <li key={d} className={d === best ? 'pb-prob-best' : undefined} data-value={probabilities[d]}>
          <span className="pb-prob-label" title={name}>
            {name}
          </span>
          <span className="pb-prob-bar">
            <span style={{ width: `${(probabilities[d]! * 100).toFixed(1)}%` }} />
          </span>
          <span className="pb-prob-value pb-mono">{`${(probabilities[d]! * 100).toFixed(1)}%`}</span>
        </li>
      ))}
    </ol>
  );
}

export function ZeroShotPanel({ setup, trained }: { setup: ZeroShotSetup; trained: boolean }) {
  const initial = useMemo(
    () => setup.classWords.map((word, c) => fill(setup.templates[0] ?? '{word}', word, setup.classDigits[c] ?? String(c))),
    [setup.classWords, setup.classDigits, setup.templates],
  );
  const [prompts, setPrompts] = useState(initial);
  const [answer, setAnswer] = useState<ZeroShotAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef<{ x: number; y: number } | null>(null);
  const drawn = useRef(false);
  const [h, w, channels] = setup.inputShape as [number, number, number];

  const clear = () => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.current!.width, canvas.current!.height);
    drawn.current = false;
  };
  useEffect(clear, []);

  const classify = async () => {
    setBusy(true);
    try {
      const pixels = drawn.current && canvas.current ? canvasToImage(canvas.current, h, w) : null;
      const result = await getClient().zeroShot({
        prompts,
        vocabulary: setup.vocabulary,
        contextLength: setup.contextLength,
        imageNetwork: setup.imageNetwork,
        textNetwork: setup.textNetwork,
        scale: setup.scale,
        testCount: 12,
        ...(pixels ? { drawn: toChannels(pixels, channels) } : {}),
      });
      setAnswer(result);
      setError(null);
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
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
    drawn.current = true;
  };
  const per = h * w * channels;
  const correct = answer ? answer.labels.filter((y, i) => answer.probabilities[i]!.indexOf(Math.max(...answer.probabilities[i]!)) === y).length : 0;

  return (
    <Section title="Zero-shot" testId="zero-shot">
      <p className="pb-muted pb-small-text">
        Write one prompt per class; the text network embeds them and each image takes the class whose prompt it matches best. Training never saw these prompts
        unless you type its captions.
      </p>
      {!trained && (
        <p className="pb-muted pb-small-text" data-testid="zero-shot-disabled">
          Train the program first: the prompts are read by the networks of the last run.
        </p>
      )}
      <div className="pb-zs-prompts">
        {prompts.map((prompt, c) => (
          <label key={c} className="pb-row pb-small-text">
            <span className="pb-zs-class pb-mono">{setup.classDigits[c] ?? String(c)}</span>
            <input
              type="text"
              value={prompt}
              aria-label={`Prompt for class ${setup.classWords[c] ?? c}`}
              data-testid={`zero-shot-prompt-${c}`}
              onChange={(e) => setPrompts(prompts.map((p, i) => (i === c ? e.target.value : p)))}
            />
          </label>
        ))}
      </div>
      <div className="pb-row">
        <button type="button" className="pb-primary" disabled={!trained || busy} onClick={() => void classify()} data-testid="zero-shot-classify">
          {busy ? 'Classifying…' : 'Classify'}
        </button>
        <button type="button" onClick={() => setPrompts(initial)} disabled={busy}>
          Reset prompts
        </button>
      </div>
      {answer && answer.unknownWords.length > 0 && (
        <p className="pb-small-text pb-muted" data-testid="zero-shot-unknown">
          Words the tokenizer does not know (read as one unknown word): {answer.unknownWords.join(', ')}
        </p>
      )}
      {error && (
        <p className="pb-run-message pb-run-message-bad" role="alert">
          {error}
        </p>
      )}
      {answer && (
        <>
          <p className="pb-small-text" data-testid="zero-shot-score">
            {correct} of {answer.labels.length} held-out digits classified correctly with these prompts.
          </p>
          <div className="pb-zs-grid" data-testid="zero-shot-results">
            {answer.labels.map((y, i) => {
              const p = answer.probabilities[i]!;
              const best = p.indexOf(Math.max(...p));
              return (
                <figure key={i} className={`pb-zs-cell${best === y ? '' : ' pb-zs-wrong'}`} data-testid="zero-shot-cell">
                  <ImageView values={answer.images.subarray(i * per, (i + 1) * per)} shape={setup.inputShape} label={`Held-out digit ${i + 1}`} />
                  <figcaption className="pb-small-text pb-mono">
                    {setup.classDigits[best] ?? best} {(p[best]! * 100).toFixed(0)}%
                  </figcaption>
                </figure>
              );
            })}
          </div>
        </>
      )}
      <div className={`pb-playground${trained ? '' : ' pb-disabled'}`}>
        <div className="pb-draw-col">
          <canvas
            ref={canvas}
            width={280}
            height={280}
            className="pb-draw"
            data-testid="zero-shot-draw"
            aria-label="Drawing area: draw a digit, then press Classify"
            onPointerDown={(e) => {
              if (!trained) return;
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
              drawing.current = null;
              if (trained) void classify();
            }}
            onPointerCancel={() => {
              drawing.current = null;
            }}
          />
          <button type="button" onClick={clear} disabled={!trained}>
            Clear
          </button>
        </div>
        {answer?.drawn ? (
          <Bars probabilities={answer.drawn} names={setup.classWords.map((word, c) => setup.classDigits[c] ?? word)} testId="zero-shot-drawn" />
        ) : (
          <p className="pb-muted pb-small-text">Draw a digit to see its class probabilities for your prompts.</p>
        )}
      </div>
    </Section>
  );
}
