/**
 * What the previews are of, for the graph on show: the network's plan (the main network's or a
 * program's other network's), the block instance opened in it, the shape the pinned example takes,
 * and what each of the network's Inputs gets:
 * - one Input: the pinned example, as ever;
 * - a program's network with several Inputs, or a program's other network: what the first procedure
 *   that applies it gives it on the pinned example (runtime/preview-feed.ts): a denoiser the pinned
 *   digit noised to the pinned timestep (the middle one unless changed) and the timestep itself;
 *   a projector the encoder's output on the digit;
 * - several Inputs and no procedure: the pinned example for the Inputs it fits, a made-up value of
 *   the right shape for the others.
 * A procedure tab has no previews; a network without an Input says so.
 */
import type { BlockStep, Plan } from '../../compiler/plan';
import type { PlanProgram } from '../../compiler/program';
import type { Analysis } from '../../compiler/infer';
import { MAIN_NETWORK, type GraphDocument } from '../../document/schema';
import { dataShapeOf, procedureFeedOf, type ProcedureFeed } from '../../runtime/preview-feed';
import { planOf, summaryOf } from '../analysis';
import { networkAnalysisOf, planProgramOf, programOf } from '../program-view';
import type { EditorState } from '../store';
import type { DataChoice } from '../training';
import { sampleSourceFor, type SampleSource } from './sample';
import { previewKey } from './keys';
export { previewKey, timestepOf } from './keys';
import type { Dataset } from '../../runtime/data/dataset';
import type { OpenedBlock } from '../../runtime/preview';

/**
 * Past these, a model's previews run only when asked (the pin bar's button): building and running
 * ViT-B/16 after every edit would keep the worker busy for seconds each time.
 */
export const LARGE_MACS = 2e9;
export const LARGE_PARAMS = 20e6;
/** Nodes in the main network past which previews also wait to be asked for (a tfjs model of 20,000 layers takes long to build). */
export const LARGE_NODES = 2000;

/** What an Input gets when no procedure feeds the network. */
export type InputFeed = { kind: 'example' } | { kind: 'made-up'; shape: number[]; dtype: 'float32' | 'int32' };

export type FeedPlan = { kind: 'procedure'; program: PlanProgram; feed: ProcedureFeed; procedureLabel: string } | { kind: 'inputs'; inputs: InputFeed[] };

export interface PreviewTarget {
  kind: 'ready';
  /** Which view the previews belong to: the network and the opened block instance. */
  key: string;
  network: string;
  plan: Plan;
  /** The opened block instance's node and the repeat shown, when the previews are of the nodes inside it. */
  inside: OpenedBlock | undefined;
  /** How many repeats the opened block instance has (1 when none is open). */
  repeats: number;
  /** The shape and type of the pinned example, and where examples of it come from. */
  sampleShape: number[];
  sampleDtype: 'float32' | 'int32';
  source: SampleSource;
  /** Undefined: the network's one Input takes the pinned example. */
  feed: FeedPlan | undefined;
  /** T of the pinned diffusion timestep (0 … T − 1), when the feed has one. */
  timesteps: number | null;
  /** What goes in besides the pinned example, and which block's tensors show, in words ('' when nothing to add). */
  note: string;
  large: boolean;
}

export type PreviewTargetResult = PreviewTarget | { kind: 'none' } | { kind: 'problem'; key: string; message: string };

interface DataContext {
  dataChoice: DataChoice;
  csv: Dataset | undefined;
  images: Dataset | undefined;
}

function largeOf(analysis: Analysis, plan: Plan): boolean {
  return analysis.count.trainable + analysis.count.nonTrainable > LARGE_PARAMS || summaryOf(analysis).macs > LARGE_MACS || plan.main.steps.length > LARGE_NODES;
}

/** The previews' target for the graph on show; `repeat`: which repeat of an opened block instance (0-based). */
export function previewTargetOf(s: Pick<EditorState, 'doc' | 'tab' | 'blockView'>, data: DataContext, repeat = 0): PreviewTargetResult {
  const { doc, tab, blockView } = s;
  if (tab.kind !== 'network') return { kind: 'none' };
  const network = tab.id;
  const key = previewKey(network, blockView?.nodeId);
  const analysis = networkAnalysisOf(doc, network);
  const plan = analysis ? planOf(analysis).plan : null;
  if (!analysis || !plan) {
    const empty = (network === MAIN_NETWORK ? doc.nodes : (doc.networks.find((n) => n.id === network)?.nodes ?? [])).length === 0;
    return empty ? { kind: 'none' } : { kind: 'problem', key, message: 'Previews are out of date while the graph has errors.' };
  }
  const inputs = plan.main.steps.flatMap((st) => (st.kind === 'input' ? [st] : []));
  if (inputs.length === 0) return { kind: 'problem', key, message: 'No previews: this network has no Input node to feed an example to.' };
  const block = blockView ? plan.main.steps.find((st) => st.kind === 'block' && st.nodeId === blockView.nodeId) : undefined;
  if (blockView && (!block || block.kind !== 'block'))
    return { kind: 'problem', key, message: 'No previews inside this block: it is not part of the network as it stands.' };
  const repeats = block && block.kind === 'block' ? block.repeat : 1;
  const inside = blockView ? { node: blockView.nodeId, repeat: Math.min(Math.max(0, Math.floor(repeat)), repeats - 1) } : undefined;
  const blockNote = block && block.kind === 'block' && inside ? insideNote(doc, block, inside.repeat) : '';
  const common = { kind: 'ready' as const, key, network, plan, inside, repeats, large: largeOf(analysis, plan) };
  const join = (...parts: Array<string | null>) => parts.filter((p) => p).join(' · ');

  const procedure = inputs.length > 1 || network !== MAIN_NETWORK ? procedureFeedFor(doc, network) : null;
  if (procedure) {
    const shape = dataShapeOf(procedure.program, procedure.feed.procedure)!;
    const source = sampleSourceFor(shape.shape, data.dataChoice, { csv: data.csv, images: data.images });
    const note = `Inputs as "${procedure.procedureLabel}" feeds them${procedure.feed.timesteps !== null ? ', at the pinned timestep' : ''}`;
    return {
      ...common,
      sampleShape: shape.shape,
      sampleDtype: 'float32',
      source,
      feed: procedure,
      timesteps: procedure.feed.timesteps,
      note: join(note, blockNote),
    };
  }
  const sourceOf = (shape: number[]) => sampleSourceFor(shape, data.dataChoice, { csv: data.csv, images: data.images });
  if (inputs.length === 1) {
    const only = inputs[0]!;
    return {
      ...common,
      sampleShape: only.shape,
      sampleDtype: only.dtype,
      source: sourceOf(only.shape),
      feed: undefined,
      timesteps: null,
      note: join(blockNote),
    };
  }
  // Several Inputs and no procedure that feeds them: the example goes to the Inputs it fits.
  const pinned = inputs.find((i) => sourceOf(i.shape).kind !== 'made-up') ?? inputs[0]!;
  const fits = (i: (typeof inputs)[number]) => i.dtype === pinned.dtype && i.shape.join() === pinned.shape.join();
  const madeUp = inputs.filter((i) => !fits(i)).map((i) => i.nodeId);
  return {
    ...common,
    sampleShape: pinned.shape,
    sampleDtype: pinned.dtype,
    source: sourceOf(pinned.shape),
    feed: { kind: 'inputs', inputs: inputs.map((i) => (fits(i) ? { kind: 'example' } : { kind: 'made-up', shape: i.shape, dtype: i.dtype })) },
    timesteps: null,
    note: join(madeUp.length ? `Made-up values for ${madeUp.map((id) => `"${id}"`).join(', ')}` : null, blockNote),
  };
}

/** The procedure that feeds a network of the document's program, or null (no program, errors, or none applies it). */
function procedureFeedFor(doc: GraphDocument, network: string): Extract<FeedPlan, { kind: 'procedure' }> | null {
  const analysis = programOf(doc);
  const program = analysis ? planProgramOf(analysis).program : null;
  if (!program) return null;
  const feed = procedureFeedOf(program, network);
  if (!feed) return null;
  const label = program.procedures.find((p) => p.id === feed.procedure)?.label ?? feed.procedure;
  return { kind: 'procedure', program, feed, procedureLabel: label };
}

/** 'Inside "mixer" (ConvMixer block), repeat 1 of 4'. */
function insideNote(doc: GraphDocument, step: BlockStep, repeat: number): string {
  const label = doc.blocks.find((b) => b.id === step.block)?.label ?? step.block;
  return `Inside "${step.nodeId}" (${label})${step.repeat > 1 ? `, repeat ${repeat + 1} of ${step.repeat}` : ''}`;
}
