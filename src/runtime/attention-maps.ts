import type * as tfType from '@tensorflow/tfjs';
import type { Dataset } from './data/dataset';

type Tf = typeof tfType;

/**
 * What the editor's attention view asks of a trained vision transformer: for a few held-out images
 * (and one the person drew), how much the class token attends to each patch, in every attention
 * layer and every head. Computed in the worker with the weights the model has now, through each
 * attention layer's `attentionWeights` (the same softmax its output is made of).
 */
export interface AttentionMapsRequest {
  /** A network of the last training program (CLIP's image tower); the worker's classifier when absent. */
  network?: string;
  /** How many held-out examples to look at (the first ones of the test split). */
  testCount: number;
  /** A drawn image, one example's values in the model's input shape, or none. */
  drawn?: Float32Array;
}

/** One attention layer's class-token rows. */
export interface AttentionLayerMaps {
  /** The layer's name in the model (encoder_0_attention…). */
  name: string;
  heads: number;
  /** The class token's weight on each patch: [image][head][patch], row-major over the patch grid. */
  patches: Float32Array;
  /** The class token's weight on itself: [image][head]. With `patches`, each image's and head's row sums to 1. */
  self: Float32Array;
}

export interface AttentionMapsAnswer {
  /** The images looked at, row-major one after another: the held-out ones, then the drawn one when sent. */
  images: Float32Array;
  inputShape: number[];
  /** True classes of the held-out images (the drawn one has none). */
  labels: number[];
  /** Whether the last image is the drawn one. */
  drawn: boolean;
  /** The model's class for each image, when the model is a classifier; else null. */
  predicted: number[] | null;
  /** The patch grid the tokens after the class token come from: rows × columns. */
  grid: [number, number];
  layers: AttentionLayerMaps[];
}

/** What an attention layer offers the view (src/runtime/layers/multi-head-self-attention.ts). */
interface AttentionLayer extends tfType.layers.Layer {
  numHeads: number;
  attentionWeights(input: tfType.Tensor): tfType.Tensor4D;
}

const isAttention = (layer: tfType.layers.Layer): layer is AttentionLayer =>
  layer.getClassName() === 'PatchbayMultiHeadSelfAttention' && typeof (layer as Partial<AttentionLayer>).attentionWeights === 'function';

/**
 * The patch grid of a ViT: the last feature map before the class token whose positions are the
 * patches (the patch embedding's [rows, columns, width] before it is flattened to tokens). Without
 * one, a square grid when the count is a square, else one row.
 */
function patchGrid(layers: tfType.layers.Layer[], classTokenIndex: number, patches: number): [number, number] {
  for (let i = classTokenIndex - 1; i >= 0; i--) {
    const shape = layers[i]!.outputShape;
    if (!Array.isArray(shape) || Array.isArray(shape[0])) continue;
    const s = shape as (number | null)[];
    if (s.length === 4 && s[1] != null && s[2] != null && s[1] * s[2] === patches) return [s[1], s[2]];
  }
  const side = Math.round(Math.sqrt(patches));
  return side * side === patches ? [side, side] : [1, patches];
}

/** Probe models (the inputs of every attention layer) by model: built once, they share the model's layers and weights. */
const probes = new WeakMap<tfType.LayersModel, tfType.LayersModel>();

/**
 * Where the view's maps come from, checked: the model's attention layers (in order), its class
 * token, and the patch grid. Throws a sentence for a person when the model has no class token to
 * read attention from.
 */
export function attentionSetup(model: tfType.LayersModel): { layers: AttentionLayer[]; grid: [number, number]; tokens: number } {
  const layers = model.layers.filter(isAttention);
  if (layers.length === 0) throw new Error(`The network "${model.name}" has no multi-head self-attention layer to show.`);
  const classTokenIndex = model.layers.findIndex((l) => l.getClassName() === 'PatchbayClassToken');
  if (classTokenIndex < 0)
    throw new Error(
      `The network "${model.name}" has no class token: the attention view shows what the class token attends to. Add a Class token after the patch embedding.`,
    );
  const shape = model.layers[classTokenIndex]!.outputShape as (number | null)[];
  const tokens = shape[1];
  if (tokens == null || tokens < 2) throw new Error(`The class token's sequence has no patches to attend to (shape [${shape.join(', ')}]).`);
  for (const layer of layers) {
    const inShape = (layer.input as tfType.SymbolicTensor).shape;
    if (inShape[1] !== tokens)
      throw new Error(
        `The attention layer "${layer.name}" sees ${inShape[1]} tokens, not the ${tokens} of the class token and the patches: the view cannot tell which token is which.`,
      );
  }
  return { layers, grid: patchGrid(model.layers, classTokenIndex, tokens - 1), tokens };
}

/**
 * Runs the request on a trained model. `data` gives the held-out images (none: only the drawn one);
 * `classifies`: the model's output is one probability per class of `data` (a classifier, not CLIP's
 * image tower), so each image's predicted class comes with its maps. Reads back with `data()`
 * (webgpu has no synchronous read), so it answers a promise.
 */
export async function answerAttentionMaps(
  tf: Tf,
  model: tfType.LayersModel,
  data: Dataset | null,
  request: AttentionMapsRequest,
  classifies: boolean,
): Promise<AttentionMapsAnswer> {
  const { layers, grid, tokens } = attentionSetup(model);
  const inputShape = (model.inputs[0]!.shape.slice(1) as number[]).map((d) => d ?? 0);
  const per = inputShape.reduce((a, b) => a * b, 1);
  const fits = data && data.inputShape.length === inputShape.length && data.inputShape.every((d, i) => d === inputShape[i]);
  const count = fits ? Math.min(Math.max(0, Math.floor(request.testCount)), data.test.count) : 0;
  if (request.drawn && request.drawn.length < per)
    throw new Error(`The drawn image has ${request.drawn.length} values; the model takes ${inputShape.join('×')} = ${per}.`);
  const total = count + (request.drawn ? 1 : 0);
  if (total === 0)
    throw new Error(
      data && !fits
        ? `The held-out examples are ${data.inputShape.join('×')} but the model takes ${inputShape.join('×')}: draw an image instead.`
        : 'There is no image to look at: draw one.',
    );
  const images = new Float32Array(total * per);
  if (count) images.set(data!.test.x.subarray(0, count * per));
  if (request.drawn) images.set(request.drawn.subarray(0, per), count * per);
  const labels = count ? Array.from(data!.test.y.subarray(0, count)) : [];

  let probe = probes.get(model);
  if (!probe) {
    probe = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.input as tfType.SymbolicTensor) });
    probes.set(model, probe);
  }
  const patches = tokens - 1;
  // The class token's row over all tokens per layer ([images, heads, tokens]), and the model's output.
  const computed = tf.tidy(() => {
    const x = tf.tensor(images, [total, ...inputShape]);
    const layerInputs = probe.predict(x) as tfType.Tensor | tfType.Tensor[];
    const inputsList = Array.isArray(layerInputs) ? layerInputs : [layerInputs];
    const rows = layers.map((layer, i) => tf.squeeze(tf.slice(layer.attentionWeights(inputsList[i]!), [0, 0, 0, 0], [-1, -1, 1, -1]), [2]));
    const out = model.predict(x) as tfType.Tensor | tfType.Tensor[];
    const first = Array.isArray(out) ? out[0]! : out;
    return { rows, classes: classifies && first.rank === 2 ? [tf.argMax(first, 1)] : [] };
  });
  let maps: AttentionLayerMaps[];
  let predicted: number[] | null;
  try {
    maps = [];
    for (const [i, layer] of layers.entries()) {
      const values = (await computed.rows[i]!.data()) as Float32Array;
      const heads = layer.numHeads;
      const patchValues = new Float32Array(total * heads * patches);
      const self = new Float32Array(total * heads);
      for (let r = 0; r < total * heads; r++) {
        self[r] = values[r * tokens]!;
        patchValues.set(values.subarray(r * tokens + 1, (r + 1) * tokens), r * patches);
      }
      maps.push({ name: layer.name, heads, patches: patchValues, self });
    }
    predicted = computed.classes[0] ? Array.from(await computed.classes[0].data()) : null;
  } finally {
    tf.dispose([...computed.rows, ...computed.classes]);
  }
  return { images, inputShape, labels, drawn: !!request.drawn, predicted, grid, layers: maps };
}
